"""Applying a checked roster to the database in one transaction."""

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from ..identity import encrypt_id_number
from ..models import District, Household, User, Village, Villager, VillagerMove
from .checking import Person, RowError, check_households, check_rows
from .reading import open_roster

logger = logging.getLogger(__name__)

# The 政治面貌 value that sets ``Villager.is_party_member``.
PARTY_MEMBER = "中共党员"

# Rows per INSERT or UPDATE statement, and values per IN (...) lookup. Both stay
# far below SQLite's default limit of 32,766 variables per statement (since 3.32).
BATCH_SIZE = 500
LOOKUP_CHUNK = 2000
# Villagers written per flush: bounds how many model instances are in memory at once.
FLUSH_ROWS = 2000

# The max_length of django-simple-history's history_change_reason field (3.13).
CHANGE_REASON_MAX_LENGTH = 100


class RowStatus:
    NEW = "new"
    UPDATED = "updated"
    MOVED = "moved"
    UNCHANGED = "unchanged"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class RowOutcome:
    """The outcome of one row of the file, as imported or as a dry run would import it."""

    row_number: int
    name: str
    status: str  # a RowStatus value
    detail: str = ""  # the reason of a rejected row, or where a moved person went


@dataclass(frozen=True)
class MovedOut:
    """A villager who is not in the file any more and is marked moved out."""

    name: str
    household_number: str
    id_number_masked: str


@dataclass
class RosterReport:
    """The outcome of one import. ``created``, ``updated`` and ``unchanged`` count villagers."""

    created: int = 0
    updated: int = 0
    moved: int = 0
    unchanged: int = 0
    rejected: list[RowError] = field(default_factory=list)
    moved_out: list[MovedOut] = field(default_factory=list)
    rows: list[RowOutcome] = field(default_factory=list)
    households_created: int = 0
    households_updated: int = 0
    districts_created: int = 0
    skipped_rows: int = 0
    dry_run: bool = False


# Called with the number of rows read so far.
Progress = Callable[[int], None]
# Called with the report inside the import's transaction, after the writes.
BeforeCommit = Callable[["RosterReport"], None]


def roster_import(
    *,
    path: Path,
    village: Village,
    actor: User | None,
    dry_run: bool = False,
    effective_date: date | None = None,
    progress: Progress | None = None,
    before_commit: BeforeCommit | None = None,
) -> RosterReport:
    """Import the roster at ``path`` into ``village`` and return what changed, row by row.

    Districts, households and villagers are matched by 片区 name, 户号 and ID
    number, created when missing and updated when a value differs. A villager
    whose household or district changed is moved. An active villager of the
    village who is not in the file is marked moved out, not deleted. Both
    changes get a ``VillagerMove`` dated ``effective_date`` (default today).
    The history records name ``actor``. With ``dry_run`` every check
    runs and the report is returned, but the transaction is rolled back.
    Otherwise ``before_commit`` runs last in the transaction, so what it writes
    commits together with the import, or neither does.

    Raises RosterFileError when the file cannot be read or lacks a required column.
    """
    started = time.monotonic()
    path = Path(path)
    report = RosterReport(dry_run=dry_run)
    with open_roster(path) as roster:
        checked = check_rows(roster.rows, roster.columns, progress)
    columns = roster.columns
    report.rejected = checked.rejected
    report.skipped_rows = checked.skipped

    with transaction.atomic():
        # Imports into one village run one at a time, so two of them cannot
        # both create the same household or villager.
        Village.objects.select_for_update().get(pk=village.pk)
        now = timezone.now()
        change_reason = _("Roster import from %(file_name)s") % {"file_name": path.name}
        writer = _Writer(
            village=village,
            report=report,
            actor=actor,
            now=now,
            moved_on=effective_date or timezone.localdate(now),
            change_reason=change_reason[:CHANGE_REASON_MAX_LENGTH],
            source=path.name[: VillagerMove._meta.get_field("source").max_length or 0],
        )
        existing = _existing_villagers(person.id_number.digest for person in checked.people)
        people = _reject_other_villages(checked.people, existing, village, report.rejected)
        people = check_households(people, columns, report.rejected)

        districts = writer.save_districts(people)
        households = writer.save_households(people, districts)
        writer.save_villagers(people, households, existing)
        writer.mark_moved_out(checked.digests_in_file, checked.names_in_file)

        report.rejected.sort(key=lambda error: error.row_number)
        report.rows.extend(
            RowOutcome(error.row_number, error.name, RowStatus.REJECTED, error.message)
            for error in report.rejected
        )
        report.rows.sort(key=lambda outcome: outcome.row_number)
        if dry_run:
            transaction.set_rollback(True)
        elif before_commit is not None:
            before_commit(report)

    logger.info(
        "roster import into village %s: %s created, %s updated, %s moved, %s unchanged, "
        "%s rejected, %s moved out, dry run %s, %.1f s",
        village.pk,
        report.created,
        report.updated,
        report.moved,
        report.unchanged,
        len(report.rejected),
        len(report.moved_out),
        dry_run,
        time.monotonic() - started,
    )
    return report


def _existing_villagers(digests: Iterable[str]) -> dict[str, Villager]:
    existing: dict[str, Villager] = {}
    for chunk in _chunks(list(digests), LOOKUP_CHUNK):
        queryset = Villager.objects.filter(id_number_digest__in=chunk).select_related(
            "household__district"
        )
        existing.update((villager.id_number_digest, villager) for villager in queryset)
    return existing


def _reject_other_villages(
    people: list[Person],
    existing: dict[str, Villager],
    village: Village,
    rejected: list[RowError],
) -> list[Person]:
    """Reject people whose ID number is registered in another village."""
    accepted = []
    for person in people:
        villager = existing.get(person.id_number.digest)
        if villager is not None and villager.household.village_id != village.pk:
            rejected.append(
                RowError(
                    person.row_number,
                    person.name,
                    _(
                        "A villager with this ID number is registered in another village, "
                        "so this row was not imported."
                    ),
                )
            )
        else:
            accepted.append(person)
    return accepted


@dataclass
class _VillagerBatch:
    new: list[Villager] = field(default_factory=list)
    changed: list[Villager] = field(default_factory=list)
    changed_fields: set[str] = field(default_factory=set)
    moves: list[VillagerMove] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.new) + len(self.changed)


@dataclass
class _Writer:
    """The writing steps of one import, sharing its clock, actor and report."""

    village: Village
    report: RosterReport
    actor: User | None
    now: Any
    moved_on: date
    change_reason: str
    source: str

    @property
    def history(self) -> dict[str, Any]:
        return {
            "default_user": self.actor,
            "default_date": self.now,
            "default_change_reason": self.change_reason,
        }

    def save_districts(self, people: list[Person]) -> dict[str, District]:
        districts = {district.name: district for district in self.village.districts.all()}
        new = [
            District(village=self.village, name=name)
            for name in dict.fromkeys(person.district for person in people)
            if name not in districts
        ]
        if new:
            created = bulk_create_with_history(new, District, batch_size=BATCH_SIZE, **self.history)
            for district in created:
                districts[district.name] = district
        self.report.districts_created = len(new)
        return districts

    def save_households(
        self, people: list[Person], districts: dict[str, District]
    ) -> dict[str, Household]:
        households = {
            household.number: household
            for household in self.village.households.select_related("district")
        }
        new, changed, changed_fields = [], [], set()
        for head in (person for person in people if person.is_head):
            new_values: dict[str, Any] = {"district_id": districts[head.district].pk}
            if head.village_group is not None:
                new_values["village_group"] = head.village_group
            if head.address is not None:
                new_values["address"] = head.address

            household = households.get(head.household_number)
            if household is None:
                new.append(
                    Household(village=self.village, number=head.household_number, **new_values)
                )
                continue
            fields = _assign_changes(household, new_values)
            if fields:
                changed.append(household)
                changed_fields.update(fields)

        if new:
            created = bulk_create_with_history(
                new, Household, batch_size=BATCH_SIZE, **self.history
            )
            for household in created:
                households[household.number] = household
        if changed:
            bulk_update_with_history(
                changed, Household, sorted(changed_fields), batch_size=BATCH_SIZE, **self.history
            )
        by_pk = {district.pk: district for district in districts.values()}
        for household in households.values():
            household.district = by_pk[household.district_id]
        self.report.households_created = len(new)
        self.report.households_updated = len(changed)
        return households

    def save_villagers(
        self,
        people: list[Person],
        households: dict[str, Household],
        existing: dict[str, Villager],
    ) -> None:
        batch = _VillagerBatch()
        for person in people:
            household = households[person.household_number]
            new_values = _villager_values(person, household)
            villager = existing.pop(person.id_number.digest, None)
            if villager is None:
                digest = person.id_number.digest
                encrypted = encrypt_id_number(person.id_number.value, digest=digest)
                batch.new.append(
                    Villager(id_number_digest=digest, id_number_encrypted=encrypted, **new_values)
                )
                self.report.created += 1
                self._outcome(person, RowStatus.NEW)
            else:
                self._update_villager(person, villager, household, new_values, batch)
            if batch.size >= FLUSH_ROWS:
                self._flush(batch)
                batch = _VillagerBatch()
        self._flush(batch)

    def _update_villager(
        self,
        person: Person,
        villager: Villager,
        household: Household,
        new_values: dict[str, Any],
        batch: "_VillagerBatch",
    ) -> None:
        move = self._move_of(villager, household)
        if not villager.id_number_encrypted:
            # Villagers imported before the number was kept encrypted.
            new_values["id_number_encrypted"] = encrypt_id_number(
                person.id_number.value, digest=villager.id_number_digest
            )
        if villager.status == Villager.Status.MOVED_OUT:
            new_values["status"] = Villager.Status.ACTIVE
            new_values["moved_out_on"] = None
        fields = _assign_changes(villager, new_values)
        if fields:
            batch.changed.append(villager)
            batch.changed_fields.update(fields)
        if move is not None:
            batch.moves.append(move)
            self.report.moved += 1
            self._outcome(person, RowStatus.MOVED, _move_detail(move))
        elif fields:
            self.report.updated += 1
            self._outcome(person, RowStatus.UPDATED, _changed_detail(fields))
        else:
            self.report.unchanged += 1
            self._outcome(person, RowStatus.UNCHANGED)

    def _flush(self, batch: "_VillagerBatch") -> None:
        """Write a batch of villagers, so model instances for the whole file never pile up."""
        if batch.new:
            bulk_create_with_history(batch.new, Villager, batch_size=BATCH_SIZE, **self.history)
        if batch.changed:
            bulk_update_with_history(
                batch.changed,
                Villager,
                sorted(batch.changed_fields),
                batch_size=BATCH_SIZE,
                **self.history,
            )
        VillagerMove.objects.bulk_create(batch.moves, batch_size=BATCH_SIZE)

    def _outcome(self, person: Person, status: str, detail: str = "") -> None:
        self.report.rows.append(RowOutcome(person.row_number, person.name, status, detail))

    def _move_of(self, villager: Villager, household: Household) -> VillagerMove | None:
        """Return the move of a villager into ``household``, or None when nothing moved.

        Reads the villager's current household, so call it before changing it.
        """
        old = villager.household
        if villager.status == Villager.Status.MOVED_OUT:
            kind = VillagerMove.Kind.RETURNED
        elif old.number != household.number:
            kind = VillagerMove.Kind.HOUSEHOLD
        elif old.district_id != household.district_id:
            kind = VillagerMove.Kind.DISTRICT
        else:
            return None
        return VillagerMove(
            villager=villager,
            kind=kind,
            moved_on=self.moved_on,
            from_household=old.number,
            to_household=household.number,
            from_district=old.district.name,
            to_district=household.district.name,
            recorded_by=self.actor,
            recorded_at=self.now,
            source=self.source,
        )

    def mark_moved_out(
        self, digests_in_file: set[str], names_in_file: set[tuple[str, str]]
    ) -> None:
        """Mark active villagers of the village who are not in the file as moved out."""
        # Only the keys of every active villager are read; whole rows only for the missing.
        active = Villager.objects.filter(
            household__village=self.village, status=Villager.Status.ACTIVE
        ).values_list("pk", "id_number_digest", "household__number", "name")
        missing_pks = [
            pk
            for pk, digest, household_number, name in active.iterator(chunk_size=LOOKUP_CHUNK)
            if digest not in digests_in_file and (household_number, name) not in names_in_file
        ]
        missing = [
            villager
            for chunk in _chunks(missing_pks, LOOKUP_CHUNK)
            for villager in Villager.objects.filter(pk__in=chunk).select_related(
                "household__district"
            )
        ]
        moves = []
        for villager in missing:
            villager.status = Villager.Status.MOVED_OUT
            villager.moved_out_on = self.moved_on
            moves.append(
                VillagerMove(
                    villager=villager,
                    kind=VillagerMove.Kind.MOVED_OUT,
                    moved_on=self.moved_on,
                    from_household=villager.household.number,
                    from_district=villager.household.district.name,
                    recorded_by=self.actor,
                    recorded_at=self.now,
                    source=self.source,
                )
            )
            self.report.moved_out.append(
                MovedOut(villager.name, villager.household.number, villager.id_number_masked)
            )
        if missing:
            bulk_update_with_history(
                missing,
                Villager,
                ["status", "moved_out_on"],
                batch_size=BATCH_SIZE,
                **self.history,
            )
            VillagerMove.objects.bulk_create(moves, batch_size=BATCH_SIZE)


def _move_detail(move: VillagerMove) -> str:
    if move.kind == VillagerMove.Kind.RETURNED:
        return _("Back on the roster, in household %(household)s.") % {
            "household": move.to_household
        }
    return _(
        "From household %(from_household)s in %(from_district)s "
        "to household %(to_household)s in %(to_district)s."
    ) % {
        "from_household": move.from_household,
        "from_district": move.from_district,
        "to_household": move.to_household,
        "to_district": move.to_district,
    }


def _changed_detail(fields: list[str]) -> str:
    names = [
        str(Villager._meta.get_field(name.removesuffix("_id")).verbose_name)  # type: ignore[union-attr]
        for name in fields
        if name != "id_number_encrypted"
    ]
    return "、".join(names)


def _villager_values(person: Person, household: Household) -> dict[str, Any]:
    """Return the villager's field values by attribute name, leaving out absent columns."""
    values: dict[str, Any] = {
        "household_id": household.pk,
        "name": person.name,
        "relation_to_head": person.relation,
        "sex": person.sex,
        "birth_date": person.id_number.birth_date,
        "id_number_masked": person.id_number.masked,
    }
    optional = {
        "phone": person.phone,
        "ethnicity": person.ethnicity,
        "education": person.education,
        "political_status": person.political_status,
        "population_type": person.population_type,
    }
    values.update((name, value) for name, value in optional.items() if value is not None)
    if person.political_status is not None:
        values["is_party_member"] = person.political_status == PARTY_MEMBER
    return values


def _assign_changes(instance: Any, new_values: dict[str, Any]) -> list[str]:
    """Set the attributes whose value differs and return their names."""
    changed = []
    for attname, value in new_values.items():
        if getattr(instance, attname) != value:
            setattr(instance, attname, value)
            changed.append(attname)
    return changed


def _chunks(items: list, size: int) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
