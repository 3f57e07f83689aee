"""Checking roster rows: each row's own cells, repeated ID numbers and households."""

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from ..identity import IdNumber, InvalidIdNumber, parse_id_number
from ..models import HEAD_RELATION, District, Household, Villager
from .columns import REQUIRED_COLUMNS
from .normalising import (
    POPULATION_TYPE_LABELS,
    POPULATION_TYPE_WORDS,
    SEX_WORDS,
    cell_text,
    date_of,
    id_number_text,
    is_valid_phone,
    name_of,
    phone_of,
)
from .reading import Column, map_header

# An ID number that Excel turned into a number and shows as text, like 3.30109E+17.
_SCIENTIFIC_NUMBER = re.compile(r"^\d+(\.\d+)?[eE]\+?\d+$")
# How often check_rows reports progress, in rows.
PROGRESS_EVERY = 1000
# Words that mark a totals row below or inside the table.
_TOTAL_WORDS = ("合计", "总计", "小计", "共计", "总数")
# The roster's words for each sex, used in messages.
_SEX_LABELS: dict[str, str] = {Villager.Sex.MALE: "男", Villager.Sex.FEMALE: "女"}

# Text columns and the model field whose max_length limits them.
_TEXT_LIMITS = {
    "district": District._meta.get_field("name"),
    "household_number": Household._meta.get_field("number"),
    "village_group": Household._meta.get_field("village_group"),
    "address": Household._meta.get_field("address"),
    "name": Villager._meta.get_field("name"),
    "relation": Villager._meta.get_field("relation_to_head"),
    "ethnicity": Villager._meta.get_field("ethnicity"),
    "political_status": Villager._meta.get_field("political_status"),
    "education": Villager._meta.get_field("education"),
}


@dataclass(frozen=True, slots=True)
class RowError:
    """A roster row that was not imported, with the reason for the user."""

    row_number: int  # as Excel numbers the row
    name: str  # the 姓名 cell, or "" when it is empty
    message: str


@dataclass(frozen=True, slots=True)
class RejectedRow(RowError):
    """A row that failed the checks of its own cells, with what keeps its villager active."""

    household_number: str = ""

    def as_error(self) -> RowError:
        return RowError(self.row_number, self.name, self.message)


@dataclass(slots=True)
class Person:
    """A roster row that passed the checks of its own cells."""

    row_number: int
    name: str
    district: str
    household_number: str
    relation: str
    sex: str
    id_number: IdNumber
    # None where the file has no such column, so the stored value is kept.
    village_group: str | None
    address: str | None
    phone: str | None
    ethnicity: str | None
    political_status: str | None
    education: str | None
    population_type: str | None

    @property
    def is_head(self) -> bool:
        return self.relation == HEAD_RELATION


class RepeatedIds:
    """A record of the ID numbers that appear twice in the file, used by both passes.

    The first pass keeps the digest of every readable ID number as 32 bytes.
    It cannot name the earlier row, but it can tell that a row is a repeat.
    The second pass keeps the first row of the repeated numbers only.
    """

    def __init__(self) -> None:
        self.seen: set[bytes] = set()
        self.repeated: set[bytes] = set()
        self._first_rows: dict[bytes, int] = {}
        self.second_pass = False

    def earlier_row(self, digest: bytes, row_number: int) -> int | None:
        """Return the row where this ID number first appeared, or None for its first row."""
        if self.second_pass:
            if digest not in self.repeated:
                return None
            first_row = self._first_rows.setdefault(digest, row_number)
            return None if first_row == row_number else first_row
        if digest in self.seen:
            self.repeated.add(digest)
            return 0  # a repeat; the second pass finds the row number
        self.seen.add(digest)
        return None


@dataclass
class RowCounts:
    skipped: int = 0  # blank, totals, repeated header and filler rows


def digest_bytes(id_number: IdNumber) -> bytes:
    return bytes.fromhex(id_number.digest)


def check_rows(
    rows: Iterable[tuple[int, Sequence[Any]]],
    columns: dict[str, Column],
    repeats: RepeatedIds,
    counts: RowCounts,
    progress: Callable[[int], None] | None = None,
) -> Iterator[Person | RejectedRow]:
    """Check each row's own cells and repeated ID numbers; yield a person or an error per row.

    Rows that are not people are counted in ``counts.skipped`` and not yielded.
    Calls ``progress`` with the number of rows read so far every PROGRESS_EVERY rows.
    """
    today = timezone.localdate()
    for count, (row_number, values) in enumerate(rows, 1):
        if progress and count % PROGRESS_EVERY == 0:
            progress(count)
        cells = RowCells(values, columns)
        if cells.is_not_a_person(values):
            counts.skipped += 1
            continue

        errors = _check_cells(cells)
        id_number = _read_id_number(cells, errors)
        if id_number is not None:
            first_row = repeats.earlier_row(digest_bytes(id_number), row_number)
            if first_row is not None:
                errors.append(
                    _("The same ID number is already in row %(row)s.") % {"row": first_row}
                )
            _check_birth_date(id_number, today, errors)
            _check_against_id_number(cells, id_number, errors)

        if errors or id_number is None:
            yield RejectedRow(
                row_number,
                cells.name(),
                " ".join(errors),
                household_number=cells.text("household_number"),
            )
        else:
            yield _person_of(row_number, cells, id_number)


class RowCells:
    """The cells of one data row, looked up by column key."""

    def __init__(self, values: Sequence[Any], columns: dict[str, Column]) -> None:
        self.values = values
        self.columns = columns

    def has(self, key: str) -> bool:
        return key in self.columns

    def heading(self, key: str) -> str:
        return self.columns[key].heading

    def raw(self, key: str) -> Any:
        column = self.columns.get(key)
        if column is None or column.index >= len(self.values):
            return None
        value = self.values[column.index]
        if isinstance(value, str) and not cell_text(value):
            return None
        return value

    def text(self, key: str) -> str:
        return cell_text(self.raw(key))

    def name(self) -> str:
        return name_of(self.raw("name"))

    def is_not_a_person(self, values: Sequence[Any]) -> bool:
        """Return whether the row is blank, a totals row, a repeated header or a note.

        A row with a name or an ID number is always a person, checked and
        imported or rejected, so no person is dropped here.
        """
        # Templates often number rows (序号) before anyone fills them in.
        if all(self.raw(key) is None for key in self.columns if key != "serial"):
            return True
        if self.raw("id_number") is not None:
            return False
        texts = [cell_text(value) for value in values if value is not None]
        if any(text.replace(" ", "").startswith(_TOTAL_WORDS) for text in texts):
            return True
        if len(map_header(values)) >= 3:
            return True
        return self.raw("name") is None


def _check_cells(cells: RowCells) -> list[str]:
    """Return the problems of the cells other than the ID number."""
    errors = []
    for key in REQUIRED_COLUMNS:
        if key != "id_number" and not cells.text(key):
            # Translators: %(column)s is a column heading of the roster, such as 姓名.
            errors.append(_("%(column)s is empty.") % {"column": cells.heading(key)})
    for key, model_field in _TEXT_LIMITS.items():
        if cells.has(key) and len(cells.text(key)) > (model_field.max_length or 0):
            errors.append(
                _("%(column)s is longer than %(max_length)s characters.")
                % {"column": cells.heading(key), "max_length": model_field.max_length}
            )

    sex = cells.text("sex")
    if sex and sex not in SEX_WORDS:
        errors.append(_("Sex must be 男 or 女, not “%(value)s”.") % {"value": sex})
    phone = phone_of(cells.raw("phone"))
    if phone and not is_valid_phone(phone):
        errors.append(
            _(
                "The phone number “%(value)s” is neither an 11-digit mobile number starting "
                "with 13 to 19 nor a landline number with its area code."
            )
            % {"value": cells.text("phone")}
        )
    population_type = cells.text("population_type")
    if population_type and population_type not in POPULATION_TYPE_WORDS:
        errors.append(
            _("%(column)s must be one of %(values)s, not “%(value)s”.")
            % {
                "column": cells.heading("population_type"),
                "values": "、".join(POPULATION_TYPE_LABELS.values()),
                "value": population_type,
            }
        )
    return errors


def _person_of(row_number: int, cells: RowCells, id_number: IdNumber) -> Person:
    """Build the person of a row that passed every check."""

    def optional_text(key: str) -> str | None:
        return cells.text(key) if cells.has(key) else None

    population_type = cells.text("population_type")
    return Person(
        row_number=row_number,
        name=cells.name(),
        district=cells.text("district"),
        household_number=cells.text("household_number"),
        relation=cells.text("relation"),
        sex=SEX_WORDS[cells.text("sex")],
        id_number=id_number,
        village_group=optional_text("village_group"),
        address=optional_text("address"),
        phone=phone_of(cells.raw("phone")) if cells.has("phone") else None,
        ethnicity=optional_text("ethnicity"),
        political_status=optional_text("political_status"),
        education=optional_text("education"),
        population_type=POPULATION_TYPE_WORDS[population_type] if population_type else None,
    )


def _read_id_number(cells: RowCells, errors: list[str]) -> IdNumber | None:
    raw = cells.raw("id_number")
    if raw is None:
        # Translators: %(column)s is a column heading of the roster, such as 身份证号码.
        errors.append(_("%(column)s is empty.") % {"column": cells.heading("id_number")})
        return None
    # Excel keeps 15 significant digits of a number, so an 18-digit ID number
    # typed into a number cell has already lost its last digits.
    if isinstance(raw, int | float) or _SCIENTIFIC_NUMBER.match(id_number_text(raw)):
        errors.append(
            _(
                "The ID number was stored as a number, which loses its last digits. "
                "Format the %(column)s column as text and enter the number again."
            )
            % {"column": cells.heading("id_number")}
        )
        return None
    if "*" in id_number_text(raw):
        errors.append(
            _(
                "The ID number is masked with *. Import a roster exported with full ID "
                "numbers, or type the full number."
            )
        )
        return None
    try:
        return parse_id_number(id_number_text(raw))
    except InvalidIdNumber as error:
        errors.append(str(error))
        return None


def _check_birth_date(id_number: IdNumber, today: date, errors: list[str]) -> None:
    """Add an error when the birth date in the ID number is later than today: the number is mistyped."""
    if id_number.birth_date > today:
        errors.append(
            _(
                "The birth date %(birth_date)s in the ID number is later than today. "
                "Check the ID number against the ID card."
            )
            % {"birth_date": id_number.birth_date.isoformat()}
        )


def _check_against_id_number(cells: RowCells, id_number: IdNumber, errors: list[str]) -> None:
    """Check that 出生日期 and 性别 agree with the birth date and sex in the ID number."""
    raw_birth_date = cells.raw("birth_date")
    if raw_birth_date is not None:
        birth_date = date_of(raw_birth_date)
        if birth_date is None:
            errors.append(
                _("The birth date “%(value)s” is not a date like 1989-06-06.")
                % {"value": cell_text(raw_birth_date)}
            )
        elif birth_date != id_number.birth_date:
            errors.append(
                _(
                    "The birth date %(birth_date)s does not match the birth date "
                    "%(id_birth_date)s in the ID number."
                )
                % {
                    "birth_date": birth_date.isoformat(),
                    "id_birth_date": id_number.birth_date.isoformat(),
                }
            )

    sex = SEX_WORDS.get(cells.text("sex"))
    id_sex = Villager.Sex.MALE if id_number.is_male else Villager.Sex.FEMALE
    if sex is not None and sex != id_sex:
        errors.append(
            _("Sex is %(sex)s, but the 17th digit of the ID number means %(id_sex)s.")
            % {"sex": _SEX_LABELS[sex], "id_sex": _SEX_LABELS[id_sex]}
        )


class HouseholdHeads:
    """The row and 片区 of the first valid head of each household in the file.

    The first pass fills it; the second checks every row against it, so a
    household's rows need not be kept together in memory. District names
    are shared, so each household costs one dict entry.
    """

    def __init__(self) -> None:
        self._heads: dict[str, tuple[int, str]] = {}
        self._districts: dict[str, str] = {}

    def note(self, person: Person) -> None:
        if person.is_head and person.household_number not in self._heads:
            district = self._districts.setdefault(person.district, person.district)
            self._heads[person.household_number] = (person.row_number, district)

    def head_row(self, household_number: str) -> int:
        return self._heads[household_number][0]

    def problem(self, person: Person, relation_heading: str) -> str | None:
        """Return why ``person`` cannot join their household, or None when they can.

        Each accepted household has exactly one head, and the head's row sets its 片区.
        """
        number = person.household_number
        head = self._heads.get(number)
        if head is None:
            return _(
                "Household %(household)s has no valid row whose %(column)s is %(head)s, "
                "so none of its rows were imported."
            ) % {"household": number, "column": relation_heading, "head": HEAD_RELATION}
        head_row, head_district = head
        if person.is_head and person.row_number != head_row:
            return _("Household %(household)s already has its head in row %(row)s.") % {
                "household": number,
                "row": head_row,
            }
        if person.district != head_district:
            return _(
                "This row puts household %(household)s in %(district)s, "
                "but the head's row %(row)s puts it in %(head_district)s."
            ) % {
                "household": number,
                "district": person.district,
                "row": head_row,
                "head_district": head_district,
            }
        return None
