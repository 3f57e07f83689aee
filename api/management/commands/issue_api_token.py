from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from api.services import token_issue
from villagers.models import User

# Maximum lifetime of a token, in days.
MAX_TOKEN_DAYS = 730


class Command(BaseCommand):
    help = (
        "Issue a REST API token for a user and print it once. The token reads the "
        "villages the user may see; --write lets it submit claims and report matters."
    )

    def add_arguments(self, parser):
        parser.add_argument("--user", required=True, help="Username of the token's user.")
        parser.add_argument(
            "--write",
            action="store_true",
            help="Let the token submit claims and report matters (read-only by default).",
        )
        parser.add_argument(
            "--days",
            type=int,
            default=settings.API_TOKEN_DAYS,
            help="Days until the token expires (default: API_TOKEN_DAYS, 90 unless set).",
        )
        parser.add_argument(
            "--note",
            default="",
            help="Free text shown in the admin: who holds the token and which client uses it.",
        )

    def handle(self, *args, **options):
        user = User.objects.filter(username=options["user"]).first()
        if user is None:
            raise CommandError(f"No user is named {options['user']!r}; check the username.")
        if not user.is_active or not user.is_staff:
            raise CommandError(
                f"User {user.username!r} is not an active staff user; the API accepts only those."
            )
        days = options["days"]
        if not 1 <= days <= MAX_TOKEN_DAYS:
            raise CommandError(f"--days must be between 1 and {MAX_TOKEN_DAYS}, not {days}.")
        auth_token, secret = token_issue(
            actor=None, user=user, days=days, can_write=options["write"], note=options["note"]
        )
        access = "read and write" if options["write"] else "read-only"
        self.stderr.write(
            f"Issued a {access} token for {user.username}, key {auth_token.token_key}, "
            f"expiring {auth_token.expiry:%Y-%m-%d %H:%M %Z}. It is shown only this once; "
            f"revoke it with: manage.py revoke_api_token {auth_token.token_key}"
        )
        self.stdout.write(secret)
