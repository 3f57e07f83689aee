from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.translation import gettext as _

from villagers.history import set_history_user
from villagers.models import Township, User, Village
from villagers.roster import RosterFileError, RosterReport, roster_import


class Command(BaseCommand):
    help = (
        "Import a village roster (花名册) from an .xlsx file: create or update its districts, "
        "households and villagers, and list the rows that were rejected."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="The roster, an .xlsx workbook.")
        parser.add_argument("--village", required=True, help="Name of the village to import into.")
        parser.add_argument(
            "--township",
            help="Name of the village's township. The township and the village are created "
            "when they do not exist yet.",
        )
        parser.add_argument(
            "--user",
            help="Username recorded as the author of the changes in the history.",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Check the file and print what would change, without saving anything.",
        )

    def handle(self, *args, file: Path, village: str, township: str | None, **options):
        actor = self._actor(options["user"])
        dry_run = options["dry_run"]
        with transaction.atomic():
            village_row = self._village(village, township, actor, dry_run)
            try:
                report = roster_import(path=file, village=village_row, actor=actor, dry_run=dry_run)
            except RosterFileError as error:
                raise CommandError(
                    _("The roster %(file)s could not be imported. %(problem)s")
                    % {"file": file, "problem": error}
                ) from None
            if dry_run:
                # Also drops a township and village created above.
                transaction.set_rollback(True)
        self._print_report(report)

    def _actor(self, username: str | None) -> User | None:
        if username is None:
            return None
        try:
            return User.objects.get(username=username)
        except User.DoesNotExist:
            raise CommandError(
                _("No user is named %(username)s.") % {"username": username}
            ) from None

    def _village(
        self, name: str, township_name: str | None, actor: User | None, dry_run: bool
    ) -> Village:
        villages = Village.objects.filter(name=name)
        if township_name is not None:
            villages = villages.filter(township__name=township_name)
        found = list(villages[:2])
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise CommandError(
                _("More than one village is named %(village)s. Give its township with --township.")
                % {"village": name}
            )
        if township_name is None:
            raise CommandError(
                _(
                    "No village is named %(village)s. To create it, run the command again "
                    "with --township and the name of its township."
                )
                % {"village": name}
            )

        township = Township.objects.filter(name=township_name).first()
        if township is None:
            township = Township(name=township_name)
            set_history_user(township, actor)
            township.save()
        village = Village(township=township, name=name)
        set_history_user(village, actor)
        village.save()
        if dry_run:
            message = _("The village %(village)s in the township %(township)s would be created.")
        else:
            message = _("Created the village %(village)s in the township %(township)s.")
        self.stdout.write(message % {"village": name, "township": township_name})
        return village

    def _print_report(self, report: RosterReport) -> None:
        if report.dry_run:
            self.stdout.write(_("Dry run: nothing was saved."))
        self.stdout.write(
            _(
                "Villagers created: %(created)s, updated: %(updated)s, "
                "unchanged: %(unchanged)s. Rows rejected: %(rejected)s."
            )
            % {
                "created": report.created,
                "updated": report.updated,
                "unchanged": report.unchanged,
                "rejected": len(report.rejected),
            }
        )
        self.stdout.write(
            _(
                "Households created: %(created)s, updated: %(updated)s. "
                "Districts created: %(districts)s."
            )
            % {
                "created": report.households_created,
                "updated": report.households_updated,
                "districts": report.districts_created,
            }
        )
        for error in report.rejected:
            values = {"row": error.row_number, "name": error.name, "message": error.message}
            if error.name:
                # Translators: one rejected roster row, as 第 %(row)s 行（%(name)s）：%(message)s
                line = _("Row %(row)s (%(name)s): %(message)s") % values
            else:
                # Translators: a rejected roster row whose name cell is empty.
                line = _("Row %(row)s: %(message)s") % values
            self.stdout.write(line)
