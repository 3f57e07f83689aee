"""Applying a checked roster to the database in one transaction.

The file is read twice, so memory stays nearly flat however long the roster is.
The first pass checks each row's own cells and keeps only what the checks
across rows need. That is the 32-byte digest of each ID number, to find a
repeated number and the villagers missing from the file. It is also the row
and 片区 of each household's head, and the ID numbers registered in another
village. The second pass checks every row again against that state and
writes the valid rows in batches. Row outcomes go to temporary files
(``spill.RowLog``), not to a list.
"""

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
from django.utils.translation import pgettext
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from ..identity import encrypt_id_number
from ..models import District, Household, User, Village, Villager, VillagerMove
from .checking import (
    HouseholdHeads,
    Person,
    RejectedRow,
    RepeatedIds,
    RowCounts,
    RowError,
    check_rows,
    digest_bytes,
)
from .reading import Column, open_roster
from .spill import PutOff, RowLog

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

    villager_id: int
    name: str
    household_number: str
    id_number_masked: str


# How many rows are listed for each district an import creates. The others are only counted.
NEW_DISTRICT_ROWS_LISTED = 20


@dataclass
class NewDistrict:
    """A 片区 the village did not have, which the import creates, and the rows that name it."""

    name: str
    # (row number, name) of the first NEW_DISTRICT_ROWS_LISTED rows saved into it.
    rows: list[tuple[int, str]] = field(default_factory=list)
    row_count: int = 0

    def note(self, person: Person) -> None:
        self.row_count += 1
        if len(self.rows) < NEW_DISTRICT_ROWS_LISTED:
            self.rows.append((person.row_number, person.name))


def rows_text(rows: Iterable[tuple[int, str]], row_count: int) -> str:
    """Return rows as 第 2 行（张一）、第 5 行（李二） and how many more there are."""
    listed = sorted(rows)
    # Translators: one roster row in a list, as 第 %(row)s 行（%(name)s）
    text = pgettext("list separator", ", ").join(
        _("row %(row)s (%(name)s)") % {"row": row, "name": name} for row, name in listed
    )
    if row_count > len(listed):
        text += _(" and %(count)s more rows") % {"count": row_count - len(listed)}
    return text


@dataclass
class RosterReport:
    """The outcome of one import. ``created``, ``updated`` and ``unchanged`` count villagers.

    ``rows`` is read back from temporary files in row order. ``rejected`` and
    ``moved_out`` are lists, so they take memory for each rejected row and
    each villager moved out.
    """

    created: int = 0
    updated: int = 0
    moved: int = 0
    unchanged: int = 0
    rejected: list[RowError] = field(default_factory=list)
    moved_out: list[MovedOut] = field(default_factory=list)
    rows: RowLog = field(default_factory=lambda: RowLog(RowOutcome))
    households_created: int = 0
    households_updated: int = 0
    districts_created: int = 0
    # The districts created, by name. A new name is often a typo in 片区, so
    # the preview lists them with their rows before the user confirms.
    new_districts: dict[str, NewDistrict] = field(default_factory=dict)
    skipped_rows: int = 0
    dry_run: bool = False


# Called with the number of rows read so far.
Progress = Callable[[int], None]
# Called with the report inside the import's transaction, after the writes.
BeforeCommit = Callable[["RosterReport"], None]


@dataclass
class _FileIndex:
    """The state the first pass keeps of the whole file, for the checks that span rows."""

    repeats: RepeatedIds = field(default_factory=RepeatedIds)
    heads: HouseholdHeads = field(default_factory=HouseholdHeads)
    # Digests of ID numbers registered in another village (rows to reject).
    elsewhere: set[bytes] = field(default_factory=set)
    # (household number, name) of each row rejected for its own cells. Villagers
    # matching one, or any digest in ``repeats.seen``, stay active, because they
    # are in the file even if their row cannot be imported.
    names_of_rejected: set[tuple[str, str]] = field(default_factory=set)


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
        index = _index_file(path, village)
        _apply_file(path, index, writer, progress)
        writer.mark_moved_out(index)
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


def _index_file(path: Path, village: Village) -> _FileIndex:
    """Run the first pass: check each row's own cells and keep the state of the cross-row checks."""
    index = _FileIndex()
    waiting: list[Person] = []  # valid rows whose ID number is not yet looked up
    with open_roster(path) as roster:
        for result in check_rows(roster.rows, roster.columns, index.repeats, RowCounts()):
            if isinstance(result, RejectedRow):
                index.names_of_rejected.add((result.household_number, result.name))
                continue
            waiting.append(result)
            if len(waiting) >= LOOKUP_CHUNK:
                _note_heads(waiting, village, index)
                waiting = []
    _note_heads(waiting, village, index)
    index.repeats.second_pass = True
    return index


def _note_heads(people: list[Person], village: Village, index: _FileIndex) -> None:
    """Note which people are registered elsewhere, then the heads among the others."""
    digests = [person.id_number.digest for person in people]
    elsewhere = (
        Villager.objects.filter(id_number_digest__in=digests)
        .exclude(household__village_id=village.pk)
        .values_list("id_number_digest", flat=True)
    )
    index.elsewhere.update(bytes.fromhex(digest) for digest in elsewhere)
    for person in people:
        if digest_bytes(person.id_number) not in index.elsewhere:
            index.heads.note(person)


def _apply_file(
    path: Path, index: _FileIndex, writer: "_Writer", progress: Progress | None
) -> None:
    """Run the second pass: check every row against the first pass's state and save the valid ones.

    A member whose head is further down the file is put off, in a temporary
    file, until the head's household is saved.
    """
    counts = RowCounts()
    put_off: PutOff[Person] = PutOff()
    batch: list[Person] = []
    with open_roster(path) as roster:
        rows = check_rows(roster.rows, roster.columns, index.repeats, counts, progress)
        for result in rows:
            person = _accepted(result, roster.columns, index, writer)
            if person is None:
                continue
            if (
                not person.is_head
                and index.heads.head_row(person.household_number) > person.row_number
            ):
                put_off.add(person)
                continue
            batch.append(person)
            if len(batch) >= FLUSH_ROWS:
                writer.save_batch(batch)
                batch = []
    writer.save_batch(batch)
    writer.report.skipped_rows = counts.skipped

    batch = []
    for person in put_off.read_all():
        batch.append(person)
        if len(batch) >= FLUSH_ROWS:
            writer.save_batch(batch, later=True)
            batch = []
    writer.save_batch(batch, later=True)


def _accepted(
    result: Person | RejectedRow, columns: dict[str, Column], index: _FileIndex, writer: "_Writer"
) -> Person | None:
    """Return the person of a row that passes every check, or reject the row and return None."""
    if isinstance(result, RejectedRow):
        writer.reject(result.as_error())
        return None
    person = result
    message: str | None
    if digest_bytes(person.id_number) in index.elsewhere:
        message = _(
            "A villager with this ID number is registered in another village, "
            "so this row was not imported."
        )
    else:
        message = index.heads.problem(person, columns["relation"].heading)
    if message is not None:
        writer.reject(RowError(person.row_number, person.name, message))
        return None
    return person


@dataclass
class _VillagerBatch:
    new: list[Villager] = field(default_factory=list)
    changed: list[Villager] = field(default_factory=list)
    changed_fields: set[str] = field(default_factory=set)
    moves: list[VillagerMove] = field(default_factory=list)


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
    # The village's districts by name, loaded when the first batch is saved.
    districts: dict[str, District] = field(default_factory=dict)
    # A household's 片区 before this import changed it, by household pk: its
    # members in later batches are moved from there. Only changed households.
    old_districts: dict[int, District] = field(default_factory=dict)

    @property
    def history(self) -> dict[str, Any]:
        return {
            "default_user": self.actor,
            "default_date": self.now,
            "default_change_reason": self.change_reason,
        }

    def reject(self, error: RowError) -> None:
        self.report.rejected.append(error)
        self.report.rows.write(
            RowOutcome(error.row_number, error.name, RowStatus.REJECTED, error.message),
            run=RowLog.REJECTED,
        )

    def save_batch(self, people: list[Person], *, later: bool = False) -> None:
        """Save the districts, households and villagers of ``people``, who passed every check."""
        if not people:
            return
        self._save_districts(people)
        households = self._save_households(people)
        existing = _existing_villagers(person.id_number.digest for person in people)
        batch = _VillagerBatch()
        for person in people:
            self._save_villager(person, households[person.household_number], existing, batch, later)
        self._flush(batch)

    def _save_districts(self, people: list[Person]) -> None:
        if not self.districts:
            self.districts = {district.name: district for district in self.village.districts.all()}
        new = [
            District(village=self.village, name=name)
            for name in dict.fromkeys(person.district for person in people)
            if name not in self.districts
        ]
        if new:
            created = bulk_create_with_history(new, District, batch_size=BATCH_SIZE, **self.history)
            for district in created:
                self.districts[district.name] = district
                self.report.new_districts[district.name] = NewDistrict(district.name)
        self.report.districts_created += len(new)
        for person in people:
            new_district = self.report.new_districts.get(person.district)
            if new_district is not None:
                new_district.note(person)

    def _save_households(self, people: list[Person]) -> dict[str, Household]:
        """Create or update the households headed in ``people``; return all of theirs by number."""
        numbers = {person.household_number for person in people}
        households = {
            household.number: household
            for chunk in _chunks(sorted(numbers), LOOKUP_CHUNK)
            for household in self.village.households.filter(number__in=chunk)
        }
        new, changed, changed_fields = [], [], set()
        for head in (person for person in people if person.is_head):
            new_values: dict[str, Any] = {"district_id": self.districts[head.district].pk}
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
            old_district_id = household.district_id
            fields = _assign_changes(household, new_values)
            if fields:
                changed.append(household)
                changed_fields.update(fields)
            if "district_id" in fields:
                self.old_districts[household.pk] = self._district_by_pk(old_district_id)

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
        for household in households.values():
            household.district = self._district_by_pk(household.district_id)
        self.report.households_created += len(new)
        self.report.households_updated += len(changed)
        return households

    def _district_by_pk(self, pk: int) -> District:
        for district in self.districts.values():
            if district.pk == pk:
                return district
        district = District.objects.get(pk=pk)
        self.districts[district.name] = district
        return district

    def _save_villager(
        self,
        person: Person,
        household: Household,
        existing: dict[str, Villager],
        batch: _VillagerBatch,
        later: bool,
    ) -> None:
        new_values = _villager_values(person, household)
        villager = existing.pop(person.id_number.digest, None)
        if villager is None:
            digest = person.id_number.digest
            encrypted = encrypt_id_number(person.id_number.value, digest=digest)
            batch.new.append(
                Villager(id_number_digest=digest, id_number_encrypted=encrypted, **new_values)
            )
            self.report.created += 1
            self._outcome(person, RowStatus.NEW, "", later)
            return
        status, detail = self._update_villager(person, villager, household, new_values, batch)
        self._outcome(person, status, detail, later)

    def _update_villager(
        self,
        person: Person,
        villager: Villager,
        household: Household,
        new_values: dict[str, Any],
        batch: _VillagerBatch,
    ) -> tuple[str, str]:
        """Update an existing villager and return the row's status and detail."""
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
            return RowStatus.MOVED, _move_detail(move)
        if fields:
            self.report.updated += 1
            return RowStatus.UPDATED, _changed_detail(fields)
        self.report.unchanged += 1
        return RowStatus.UNCHANGED, ""

    def _flush(self, batch: _VillagerBatch) -> None:
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

    def _outcome(self, person: Person, status: str, detail: str, later: bool) -> None:
        outcome = RowOutcome(person.row_number, person.name, status, detail)
        self.report.rows.write(outcome, run=RowLog.PUT_OFF if later else RowLog.SAVED)

    def _move_of(self, villager: Villager, household: Household) -> VillagerMove | None:
        """Return the move of a villager into ``household``, or None when nothing moved.

        Reads the villager's current household, so call it before changing it.
        The 片区 it had before this import counts, even if an earlier batch changed it.
        """
        old = villager.household
        old_district = self.old_districts.get(old.pk) or old.district
        if villager.status == Villager.Status.MOVED_OUT:
            kind = VillagerMove.Kind.RETURNED
        elif old.number != household.number:
            kind = VillagerMove.Kind.HOUSEHOLD
        elif old_district.pk != household.district_id:
            kind = VillagerMove.Kind.DISTRICT
        else:
            return None
        return VillagerMove(
            villager=villager,
            kind=kind,
            moved_on=self.moved_on,
            from_household=old.number,
            to_household=household.number,
            from_district=old_district.name,
            to_district=household.district.name,
            recorded_by=self.actor,
            recorded_at=self.now,
            source=self.source,
        )

    def mark_moved_out(self, index: _FileIndex) -> None:
        """Mark active villagers of the village who are not in the file as moved out."""
        # Only the keys of every active villager are read; whole rows only for the missing.
        active = Villager.objects.filter(
            household__village=self.village, status=Villager.Status.ACTIVE
        ).values_list("pk", "id_number_digest", "household__number", "name")
        missing_pks = [
            pk
            for pk, digest, household_number, name in active.iterator(chunk_size=LOOKUP_CHUNK)
            if bytes.fromhex(digest) not in index.repeats.seen
            and (household_number, name) not in index.names_of_rejected
        ]
        for chunk in _chunks(missing_pks, LOOKUP_CHUNK):
            self._move_out(
                list(Villager.objects.filter(pk__in=chunk).select_related("household__district"))
            )

    def _move_out(self, missing: list[Villager]) -> None:
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
                MovedOut(
                    villager.pk, villager.name, villager.household.number, villager.id_number_masked
                )
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


def _existing_villagers(digests: Iterable[str]) -> dict[str, Villager]:
    existing: dict[str, Villager] = {}
    for chunk in _chunks(list(digests), LOOKUP_CHUNK):
        queryset = Villager.objects.filter(id_number_digest__in=chunk).select_related(
            "household__district"
        )
        existing.update((villager.id_number_digest, villager) for villager in queryset)
    return existing


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
