from django.core.management.base import BaseCommand, CommandError

from api.services import token_revoke


class Command(BaseCommand):
    help = "Revoke a REST API token by its key (the first 15 characters of the token)."

    def add_arguments(self, parser):
        parser.add_argument(
            "token_key", help="Key printed when the token was issued, or its first 15 characters."
        )

    def handle(self, *args, **options):
        token_key = options["token_key"][:15]
        if not token_revoke(token_key=token_key):
            raise CommandError(f"No token has the key {token_key!r}; it may be revoked already.")
        self.stdout.write(f"Revoked token {token_key}.")
