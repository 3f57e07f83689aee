from django.core.management.base import BaseCommand

from villagers.services import roles_sync


class Command(BaseCommand):
    help = "Create the role groups and set their permissions."

    def handle(self, *args, **options):
        roles_sync()
        self.stdout.write("Roles synchronised.")
