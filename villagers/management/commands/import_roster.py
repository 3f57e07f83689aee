from datetime import date
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.translation import gettext as _

from villagers.history import set_history_user
from villagers.models import Township, User, Village
from villagers.roster import (
    RosterFileError,
    RosterReport,
    RowOutcome,
    RowStatus,
    roster_import,
    rows_text,
)


class Command(BaseCommand):
    help = (
        "Import a village roster (花名册) from an .xlsx or .csv file: create or update its "
        "districts, households and villagers, mark villagers missing from the file as moved "
        "out, and list what happened to each row."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "file",
            type=Path,
            help="The roster: an .xlsx workbook, or a .csv file in UTF-8 or GBK.",
        )
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
            help="Check the file and print what would happen to each row, without saving anything.",
        )
        parser.add_argument(
            "--date",
            type=date.fromisoformat,
            help="Date of the moves and move-outs the import records, as YYYY-MM-DD. "
            "Default: today.",
        )

    def handle(self, *args, file: Path, village: str, township: str | None, **options):
        actor = self._actor(options["user"])
        dry_run = options["dry_run"]
        with transaction.atomic():
            village_row = self._village(village, township, actor, dry_run)
            try:
                report = roster_import(
                    path=file,
                    village=village_row,
                    actor=actor,
                    dry_run=dry_run,
                    effective_date=options["date"],
                )
            except RosterFileError as error:
                raise CommandError(
                    _("The roster %(file)s could not be imported. %(problem)s")
                    % {"file": file, "problem": error}
                ) from None
            if dry_run:
                # Also drops a township and village created above.
                transaction.set_rollback(True)
        self._print_report(report, every_row=dry_run or options["verbosity"] > 1)

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

    def _print_report(self, report: RosterReport, *, every_row: bool) -> None:
        if report.dry_run:
            self.stdout.write(_("Dry run: nothing was saved."))
        self.stdout.write(
            _(
                "Villagers created: %(created)s, updated: %(updated)s, moved: %(moved)s, "
                "unchanged: %(unchanged)s, moved out: %(moved_out)s. Rows rejected: %(rejected)s."
            )
            % {
                "created": report.created,
                "updated": report.updated,
                "moved": report.moved,
                "unchanged": report.unchanged,
                "moved_out": len(report.moved_out),
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
        self._print_new_districts(report)
        for outcome in report.rows:
            if every_row or outcome.status in (RowStatus.REJECTED, RowStatus.MOVED):
                self.stdout.write(row_line(outcome))
        for person in report.moved_out:
            self.stdout.write(
                _(
                    "Moved out: %(name)s of household %(household)s (ID number %(id_number)s) "
                    "is not in the file."
                )
                % {
                    "name": person.name,
                    "household": person.household_number,
                    "id_number": person.id_number_masked,
                }
            )

    def _print_new_districts(self, report: RosterReport) -> None:
        if report.dry_run:
            message = _(
                "Warning: the district %(district)s does not exist and would be created, "
                "named in %(rows)s. If the name is a typo, correct it in the file."
            )
        else:
            message = _("Created the district %(district)s, named in %(rows)s.")
        for district in report.new_districts.values():
            values = {
                "district": district.name,
                "rows": rows_text(district.rows, district.row_count),
            }
            self.stdout.write(message % values)


def row_line(outcome: RowOutcome) -> str:
    """Return one row's outcome as 第 N 行（姓名）：what happened."""
    if outcome.status == RowStatus.NEW:
        message = _("New villager.")
    elif outcome.status == RowStatus.UPDATED:
        message = _("Updated: %(fields)s.") % {"fields": outcome.detail}
    elif outcome.status == RowStatus.MOVED:
        message = _("Moved. %(detail)s") % {"detail": outcome.detail}
    elif outcome.status == RowStatus.UNCHANGED:
        message = _("Unchanged.")
    else:
        message = outcome.detail
    values = {"row": outcome.row_number, "name": outcome.name, "message": message}
    if outcome.name:
        # Translators: one roster row, as 第 %(row)s 行（%(name)s）：%(message)s
        return _("Row %(row)s (%(name)s): %(message)s") % values
    # Translators: a roster row whose name cell is empty.
    return _("Row %(row)s: %(message)s") % values
