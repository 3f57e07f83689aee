"""Roster import (花名册导入): create and update a village's people from its .xlsx roster.

A village office keeps its roster as a spreadsheet: title rows, then a header
row, then one row per person. ``roster_import`` finds the header by its
headings, checks every row, and writes the valid rows in one transaction.
Rows that fail a check are returned in the report with a message for the user,
and the other rows are still imported. People who are in the database but not
in the file are left as they are.

A file that cannot be read at all (missing, not .xlsx, no header row, a required
column missing) raises ``RosterFileError`` and writes nothing.
"""

import logging
import re
import time
import zipfile
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import ParseError

import openpyxl
from django.db import transaction
from django.utils import timezone
from django.utils.text import get_text_list
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from openpyxl.utils.exceptions import InvalidFileException
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from .identity import IdNumber, InvalidIdNumber, parse_id_number
from .models import HEAD_RELATION, District, Household, User, Village, Villager

logger = logging.getLogger(__name__)

# The headings accepted for each column. The first heading is the one that
# messages use when the column is missing.
COLUMN_HEADINGS: dict[str, tuple[str, ...]] = {
    "district": ("片区", "网格"),
    "household_number": ("户号",),
    "name": ("姓名",),
    "sex": ("性别",),
    "relation": ("与户主关系", "关系"),
    "id_number": ("身份证号码", "身份证号", "公民身份号码"),
    "village_group": ("村民小组", "组别"),
    "birth_date": ("出生日期",),
    "ethnicity": ("民族",),
    "phone": ("联系电话", "手机号码", "手机号", "电话"),
    "political_status": ("政治面貌",),
    "education": ("文化程度",),
    "address": ("家庭住址",),
    "note": ("备注",),
    "serial": ("序号",),
}
REQUIRED_COLUMNS = ("district", "household_number", "name", "sex", "relation", "id_number")

# The 政治面貌 value that sets ``Villager.is_party_member``.
PARTY_MEMBER = "中共党员"

# How many rows from the top are searched for the header row.
HEADER_SEARCH_ROWS = 30
# A row with at least this many known headings is taken as the header row.
HEADER_MIN_HEADINGS = 3

# Rows per INSERT or UPDATE statement, and values per IN (...) lookup. Both stay
# far below SQLite's default limit of 32,766 variables per statement (since 3.32).
BATCH_SIZE = 500
LOOKUP_CHUNK = 2000

# The max_length of django-simple-history's history_change_reason field (3.13).
CHANGE_REASON_MAX_LENGTH = 100

_HEADING_REMARK = re.compile(r"[（(][^（()）]*[)）]$")
_HEADING_TO_KEY = {
    heading: key for key, headings in COLUMN_HEADINGS.items() for heading in headings
}
# An ID number that Excel turned into a number and shows as text, like 3.30109E+17.
_SCIENTIFIC_NUMBER = re.compile(r"^\d+(\.\d+)?[eE]\+?\d+$")
_TEXT_DATE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$")
_COMPACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_MOBILE_PHONE = re.compile(r"^1\d{10}$")
_PHONE_SEPARATORS = re.compile(r"[\s\-]")
_LATIN_LETTER = re.compile(r"[A-Za-z]")
_SEX_WORDS = {
    "男": Villager.Sex.MALE,
    "男性": Villager.Sex.MALE,
    "女": Villager.Sex.FEMALE,
    "女性": Villager.Sex.FEMALE,
}
# The roster's words for each sex, used in messages.
_SEX_LABELS = {Villager.Sex.MALE: "男", Villager.Sex.FEMALE: "女"}

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


@dataclass(frozen=True)
class RowError:
    """A roster row that was not imported, with the reason for the user."""

    row_number: int  # as Excel numbers the row
    name: str  # the 姓名 cell, or "" when it is empty
    message: str


@dataclass
class RosterReport:
    """The outcome of one import. ``created``, ``updated`` and ``unchanged`` count villagers."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[RowError] = field(default_factory=list)
    households_created: int = 0
    households_updated: int = 0
    districts_created: int = 0
    dry_run: bool = False


class RosterFileError(Exception):
    """A roster file that cannot be imported at all. Its message is meant for the user."""


@dataclass(frozen=True)
class _Column:
    index: int
    heading: str  # as written in the file, without spaces or remarks


@dataclass
class _Sheet:
    header_row: int
    columns: dict[str, _Column]
    rows: list[tuple[int, Sequence[Any]]]  # (row number, cell values) below the header


@dataclass
class _Person:
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

    @property
    def is_head(self) -> bool:
        return self.relation == HEAD_RELATION


def roster_import(
    *, path: Path, village: Village, actor: User | None, dry_run: bool = False
) -> RosterReport:
    """Import the roster at ``path`` into ``village`` and return what changed.

    Districts, households and villagers are matched by 片区 name, 户号 and ID
    number, created when missing and updated when a value differs. The history
    records name ``actor``. With ``dry_run`` every check runs and the counts are
    returned, but the transaction is rolled back.

    Raises RosterFileError when the file cannot be read or lacks a required column.
    """
    started = time.monotonic()
    path = Path(path)
    sheet = _read_sheet(path)
    report = RosterReport(dry_run=dry_run)
    people = _check_rows(sheet, report.rejected)

    with transaction.atomic():
        # Imports into one village run one at a time, so two of them cannot
        # both create the same household or villager.
        Village.objects.select_for_update().get(pk=village.pk)
        now = timezone.now()
        change_reason = _("Roster import from %(file_name)s") % {"file_name": path.name}
        change_reason = change_reason[:CHANGE_REASON_MAX_LENGTH]

        existing = _existing_villagers(person.id_number.digest for person in people)
        people = _reject_other_villages(people, existing, village, report.rejected)
        people = _check_households(people, sheet.columns, report.rejected)

        history = {
            "default_user": actor,
            "default_date": now,
            "default_change_reason": change_reason,
        }
        districts = _save_districts(village, people, report, history)
        households = _save_households(village, people, districts, report, history)
        _save_villagers(people, households, existing, report, history)

        if dry_run:
            transaction.set_rollback(True)

    report.rejected.sort(key=lambda error: error.row_number)
    logger.info(
        "roster import into village %s: %s created, %s updated, %s unchanged, %s rejected, "
        "dry run %s, %.1f s",
        village.pk,
        report.created,
        report.updated,
        report.unchanged,
        len(report.rejected),
        dry_run,
        time.monotonic() - started,
    )
    return report


# Reading the file


def _read_sheet(path: Path) -> _Sheet:
    """Read the active sheet: find the header row and collect the rows below it."""
    try:
        with path.open("rb") as handle:
            _check_signature(handle.read(8))
            handle.seek(0)
            workbook = openpyxl.load_workbook(handle, read_only=True, data_only=True)
            try:
                return _read_rows(workbook.active)
            finally:
                workbook.close()
    except FileNotFoundError:
        raise RosterFileError(_("The file does not exist.")) from None
    except IsADirectoryError:
        raise RosterFileError(_("The path is a folder, not a file.")) from None
    except PermissionError:
        raise RosterFileError(_("The file cannot be opened because access is denied.")) from None
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ParseError, ValueError):
        raise RosterFileError(_not_xlsx_message()) from None


def _check_signature(start: bytes) -> None:
    # An .xlsx file is a ZIP archive. Old .xls workbooks and password-protected
    # .xlsx files are both OLE2 compound files.
    if start.startswith(b"\xd0\xcf\x11\xe0"):
        raise RosterFileError(
            _(
                "The file is an old .xls workbook or is protected by a password. "
                "Open it in Excel or WPS, remove any password and save it as .xlsx."
            )
        )
    if not start.startswith(b"PK"):
        raise RosterFileError(_not_xlsx_message())


def _not_xlsx_message() -> str:
    return _(
        "The file is not an .xlsx workbook, or it is damaged. Open it in Excel or WPS and save it as .xlsx."
    )


def _read_rows(worksheet) -> _Sheet:
    if worksheet is None:
        raise RosterFileError(_not_xlsx_message())
    # Some programs write a wrong sheet size into the file. Without the size,
    # openpyxl reads every row that is there.
    worksheet.reset_dimensions()

    header_row = 0
    columns: dict[str, _Column] = {}
    rows: list[tuple[int, Sequence[Any]]] = []
    # openpyxl yields an empty row for each row missing from the file, so
    # counting from 1 gives the row numbers Excel shows.
    for row_number, values in enumerate(worksheet.iter_rows(min_row=1, values_only=True), 1):
        if header_row:
            rows.append((row_number, values))
            continue
        if row_number > HEADER_SEARCH_ROWS:
            break
        found = _map_header(values)
        if len(found) >= HEADER_MIN_HEADINGS:
            header_row, columns = row_number, _columns_of_header(row_number, found)

    if not header_row:
        raise RosterFileError(
            _(
                "No header row was found in the first %(count)s rows. "
                "The header row must contain the headings %(headings)s."
            )
            % {"count": HEADER_SEARCH_ROWS, "headings": _heading_list(REQUIRED_COLUMNS)}
        )
    return _Sheet(header_row=header_row, columns=columns, rows=rows)


def _map_header(values: Sequence[Any]) -> list[tuple[str, _Column]]:
    found = []
    for index, value in enumerate(values):
        if value is None:
            continue
        heading = _HEADING_REMARK.sub("", re.sub(r"\s+", "", str(value)).strip("*＊:："))
        key = _HEADING_TO_KEY.get(heading)
        if key is not None:
            found.append((key, _Column(index=index, heading=heading)))
    return found


def _columns_of_header(row_number: int, found: list[tuple[str, _Column]]) -> dict[str, _Column]:
    columns: dict[str, _Column] = {}
    for key, column in found:
        if key in columns:
            raise RosterFileError(
                _(
                    "The header in row %(row)s has both %(first)s and %(second)s, which are "
                    "the same column. Delete or rename one of them."
                )
                % {"row": row_number, "first": columns[key].heading, "second": column.heading}
            )
        columns[key] = column

    missing = [key for key in REQUIRED_COLUMNS if key not in columns]
    if missing:
        raise RosterFileError(
            ngettext(
                "The header in row %(row)s has no %(headings)s column.",
                "The header in row %(row)s has no %(headings)s columns.",
                len(missing),
            )
            % {"row": row_number, "headings": get_text_list(_heading_names(missing))}
        )
    return columns


def _heading_names(keys: Iterable[str]) -> list[str]:
    return [COLUMN_HEADINGS[key][0] for key in keys]


def _heading_list(keys: Iterable[str]) -> str:
    # The headings are Chinese in every language, so they take the Chinese list comma.
    return "、".join(_heading_names(keys))


# Checking the rows


def _check_rows(sheet: _Sheet, rejected: list[RowError]) -> list[_Person]:
    """Check each row's own cells and repeated ID numbers, and return the valid rows."""
    people = []
    first_row_of_id: dict[str, int] = {}
    for row_number, values in sheet.rows:
        cells = _RowCells(values, sheet.columns)
        if cells.is_blank():
            continue

        errors = _check_cells(cells)
        id_number = _read_id_number(cells, errors)
        if id_number is not None:
            first_row = first_row_of_id.setdefault(id_number.value, row_number)
            if first_row != row_number:
                errors.append(
                    _("The same ID number is already in row %(row)s.") % {"row": first_row}
                )
            _check_against_id_number(cells, id_number, errors)

        if errors or id_number is None:
            rejected.append(RowError(row_number, cells.name(), " ".join(errors)))
        else:
            people.append(_person_of(row_number, cells, id_number))
    return people


class _RowCells:
    """The cells of one data row, looked up by column key."""

    def __init__(self, values: Sequence[Any], columns: dict[str, _Column]) -> None:
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
        if isinstance(value, str) and not value.strip():
            return None
        return value

    def text(self, key: str) -> str:
        return _cell_text(self.raw(key))

    def name(self) -> str:
        name = self.text("name")
        # Offices pad two-character names with spaces (张  三) to line them up.
        if not _LATIN_LETTER.search(name):
            name = re.sub(r"\s+", "", name)
        return name

    def is_blank(self) -> bool:
        # Templates often number rows (序号) before anyone fills them in.
        return all(self.raw(key) is None for key in self.columns if key != "serial")


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else str(value)
    return str(value).strip()


def _check_cells(cells: _RowCells) -> list[str]:
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
    if sex and sex not in _SEX_WORDS:
        errors.append(_("Sex must be 男 or 女, not “%(value)s”.") % {"value": sex})
    phone = _phone(cells)
    if phone and not _MOBILE_PHONE.match(phone):
        errors.append(_("The phone number is not an 11-digit mobile number starting with 1."))
    return errors


def _phone(cells: _RowCells) -> str | None:
    if not cells.has("phone"):
        return None
    return _PHONE_SEPARATORS.sub("", cells.text("phone"))


def _person_of(row_number: int, cells: _RowCells, id_number: IdNumber) -> _Person:
    """Build the person of a row that passed every check."""

    def optional_text(key: str) -> str | None:
        return cells.text(key) if cells.has(key) else None

    return _Person(
        row_number=row_number,
        name=cells.name(),
        district=cells.text("district"),
        household_number=cells.text("household_number"),
        relation=cells.text("relation"),
        sex=_SEX_WORDS[cells.text("sex")],
        id_number=id_number,
        village_group=optional_text("village_group"),
        address=optional_text("address"),
        phone=_phone(cells),
        ethnicity=optional_text("ethnicity"),
        political_status=optional_text("political_status"),
        education=optional_text("education"),
    )


def _read_id_number(cells: _RowCells, errors: list[str]) -> IdNumber | None:
    raw = cells.raw("id_number")
    if raw is None:
        # Translators: %(column)s is a column heading of the roster, such as 身份证号码.
        errors.append(_("%(column)s is empty.") % {"column": cells.heading("id_number")})
        return None
    # Excel keeps 15 significant digits of a number, so an 18-digit ID number
    # typed into a number cell has already lost its last digits.
    if isinstance(raw, int | float) or _SCIENTIFIC_NUMBER.match(str(raw).strip()):
        errors.append(
            _(
                "The ID number was stored as a number, which loses its last digits. "
                "Format the %(column)s column as text and enter the number again."
            )
            % {"column": cells.heading("id_number")}
        )
        return None
    try:
        return parse_id_number(str(raw))
    except InvalidIdNumber as error:
        errors.append(str(error))
        return None


def _check_against_id_number(cells: _RowCells, id_number: IdNumber, errors: list[str]) -> None:
    """Check that 出生日期 and 性别 agree with the birth date and sex in the ID number."""
    raw_birth_date = cells.raw("birth_date")
    if raw_birth_date is not None:
        birth_date = _read_date(raw_birth_date)
        if birth_date is None:
            errors.append(
                _("The birth date “%(value)s” is not a date like 1989-06-06.")
                % {"value": _cell_text(raw_birth_date)}
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

    sex = _SEX_WORDS.get(cells.text("sex"))
    id_sex = Villager.Sex.MALE if id_number.is_male else Villager.Sex.FEMALE
    if sex is not None and sex != id_sex:
        errors.append(
            _("Sex is %(sex)s, but the 17th digit of the ID number means %(id_sex)s.")
            % {"sex": _SEX_LABELS[sex], "id_sex": _SEX_LABELS[id_sex]}
        )


def _read_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _cell_text(value)
    match = _TEXT_DATE.match(text) or _COMPACT_DATE.match(text)
    if match is None:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


def _existing_villagers(digests: Iterable[str]) -> dict[str, Villager]:
    existing: dict[str, Villager] = {}
    for chunk in _chunks(list(digests), LOOKUP_CHUNK):
        queryset = Villager.objects.filter(id_number_digest__in=chunk).select_related("household")
        existing.update((villager.id_number_digest, villager) for villager in queryset)
    return existing


def _reject_other_villages(
    people: list[_Person],
    existing: dict[str, Villager],
    village: Village,
    rejected: list[RowError],
) -> list[_Person]:
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


def _check_households(
    people: list[_Person], columns: dict[str, _Column], rejected: list[RowError]
) -> list[_Person]:
    """Reject households without a head, second heads, and rows placing a household elsewhere.

    Each accepted household has exactly one head, and the head's row sets its 片区.
    """
    by_household: dict[str, list[_Person]] = defaultdict(list)
    for person in people:
        by_household[person.household_number].append(person)

    accepted = []
    for number, members in by_household.items():
        heads = [person for person in members if person.is_head]
        if not heads:
            message = _(
                "Household %(household)s has no valid row whose %(column)s is %(head)s, "
                "so none of its rows were imported."
            ) % {
                "household": number,
                "column": columns["relation"].heading,
                "head": HEAD_RELATION,
            }
            rejected.extend(RowError(person.row_number, person.name, message) for person in members)
            continue

        head = heads[0]
        for person in members:
            if person.is_head and person is not head:
                message = _("Household %(household)s already has its head in row %(row)s.") % {
                    "household": number,
                    "row": head.row_number,
                }
            elif person.district != head.district:
                message = _(
                    "This row puts household %(household)s in %(district)s, "
                    "but the head's row %(row)s puts it in %(head_district)s."
                ) % {
                    "household": number,
                    "district": person.district,
                    "row": head.row_number,
                    "head_district": head.district,
                }
            else:
                accepted.append(person)
                continue
            rejected.append(RowError(person.row_number, person.name, message))
    return accepted


# Writing


def _save_districts(
    village: Village, people: list[_Person], report: RosterReport, history: dict
) -> dict[str, District]:
    districts = {district.name: district for district in village.districts.all()}
    new = [
        District(village=village, name=name)
        for name in dict.fromkeys(person.district for person in people)
        if name not in districts
    ]
    if new:
        for district in bulk_create_with_history(new, District, batch_size=BATCH_SIZE, **history):
            districts[district.name] = district
    report.districts_created = len(new)
    return districts


def _save_households(
    village: Village,
    people: list[_Person],
    districts: dict[str, District],
    report: RosterReport,
    history: dict,
) -> dict[str, Household]:
    households = {household.number: household for household in village.households.all()}
    new, changed, changed_fields = [], [], set()
    for head in (person for person in people if person.is_head):
        new_values: dict[str, Any] = {"district_id": districts[head.district].pk}
        if head.village_group is not None:
            new_values["village_group"] = head.village_group
        if head.address is not None:
            new_values["address"] = head.address

        household = households.get(head.household_number)
        if household is None:
            new.append(Household(village=village, number=head.household_number, **new_values))
            continue
        fields = _assign_changes(household, new_values)
        if fields:
            changed.append(household)
            changed_fields.update(fields)

    if new:
        for household in bulk_create_with_history(new, Household, batch_size=BATCH_SIZE, **history):
            households[household.number] = household
    if changed:
        bulk_update_with_history(
            changed, Household, sorted(changed_fields), batch_size=BATCH_SIZE, **history
        )
    report.households_created = len(new)
    report.households_updated = len(changed)
    return households


def _save_villagers(
    people: list[_Person],
    households: dict[str, Household],
    existing: dict[str, Villager],
    report: RosterReport,
    history: dict,
) -> None:
    new, changed, changed_fields = [], [], set()
    for person in people:
        new_values = _villager_values(person, households[person.household_number])
        villager = existing.get(person.id_number.digest)
        if villager is None:
            new.append(Villager(id_number_digest=person.id_number.digest, **new_values))
            continue
        fields = _assign_changes(villager, new_values)
        if fields:
            changed.append(villager)
            changed_fields.update(fields)

    if new:
        bulk_create_with_history(new, Villager, batch_size=BATCH_SIZE, **history)
    if changed:
        bulk_update_with_history(
            changed, Villager, sorted(changed_fields), batch_size=BATCH_SIZE, **history
        )
    report.created = len(new)
    report.updated = len(changed)
    report.unchanged = len(people) - len(new) - len(changed)


def _villager_values(person: _Person, household: Household) -> dict[str, Any]:
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
