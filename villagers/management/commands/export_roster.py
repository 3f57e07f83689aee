from pathlib import Path

from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from villagers.models import User, Village
from villagers.roster.exporting import roster_export


class Command(BaseCommand):
    help = (
        "Export a village's active villagers to an .xlsx file in the layout that import_roster "
        "reads. ID numbers and phones are masked unless --unmasked is given."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="The .xlsx file to write.")
        parser.add_argument("--village", required=True, help="Name of the village to export.")
        parser.add_argument("--township", help="Name of the village's township.")
        parser.add_argument(
            "--user",
            help="Username of the person exporting, recorded in the export log. "
            "Required with --unmasked.",
        )
        parser.add_argument(
            "--unmasked",
            action="store_true",
            help="Write full ID numbers and phones. The user needs the permission "
            "to export full personal data.",
        )
        parser.add_argument("--reason", default="", help="Why full numbers are needed.")

    def handle(self, *args, file: Path, village: str, township: str | None, **options):
        actor = None
        if options["user"]:
            actor = User.objects.filter(username=options["user"]).first()
            if actor is None:
                raise CommandError(
                    _("No user is named %(username)s.") % {"username": options["user"]}
                )
        villages = Village.objects.filter(name=village)
        if township:
            villages = villages.filter(township__name=township)
        found = list(villages[:2])
        if len(found) != 1:
            raise CommandError(
                _("No single village is named %(village)s. Check the name, or give --township.")
                % {"village": village}
            )
        try:
            with file.open("wb") as output:
                count = roster_export(
                    village=found[0],
                    actor=actor,
                    output=output,
                    unmasked=options["unmasked"],
                    reason=options["reason"],
                )
        except PermissionDenied as error:
            file.unlink(missing_ok=True)
            raise CommandError(str(error)) from None
        self.stdout.write(
            _("Exported %(count)s villagers to %(file)s.") % {"count": count, "file": file}
        )
