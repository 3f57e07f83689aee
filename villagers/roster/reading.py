"""Reading a roster file: .xlsx or .csv, its header row and the rows below it.

Both formats are read as a stream, one row at a time, so a file's size does
not decide how much memory reading takes. ``read_roster`` yields each data row
with the row number the user sees in Excel or in a text editor.
"""

import codecs
import csv
import io
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from xml.etree.ElementTree import ParseError

import openpyxl
from django.utils.translation import gettext as _
from openpyxl.utils.cell import range_boundaries
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.xml.functions import iterparse

from .columns import REQUIRED_COLUMNS, heading_key, heading_list


class RosterFileError(Exception):
    """A roster file that cannot be imported at all. Its message is meant for the user."""


# How many rows from the top are searched for the header row.
HEADER_SEARCH_ROWS = 30
# A row with at least this many known headings is taken as the header row.
HEADER_MIN_HEADINGS = 3
# Bytes read at a time when checking whether a text file is UTF-8.
_DECODE_CHUNK = 1 << 16
_CSV_SUFFIXES = {".csv", ".txt"}
# Every .xlsx workbook is a ZIP archive, which starts with these bytes.
_ZIP_SIGNATURE = b"PK\x03\x04"
_MERGE_CELL_TAG = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}mergeCell"


@dataclass(frozen=True)
class Column:
    index: int
    heading: str  # as written in the file, without spaces or remarks


@dataclass
class Roster:
    """An open roster: its header row, its columns and an iterator over the data rows."""

    header_row: int
    columns: dict[str, Column]
    rows: Iterator[tuple[int, Sequence[Any]]]  # (row number, cell values) below the header


@contextmanager
def open_roster(path: Path) -> Iterator[Roster]:
    """Open the roster at ``path``, find its header and yield it with its rows.

    The content decides how the file is read, not its name: a ZIP archive is
    read as an .xlsx workbook whatever its suffix. Other .csv and .txt files
    are read as text in UTF-8 (with or without a BOM) or, when they are not
    valid UTF-8, GB18030, the superset of GBK that Excel on Chinese Windows
    writes; a .csv file with NUL bytes is binary and rejected. Files with other
    suffixes must be .xlsx workbooks.

    Raises RosterFileError when the file cannot be read or lacks a required column.
    """
    path = Path(path)
    try:
        with path.open("rb") as handle:
            start = handle.read(_DECODE_CHUNK)
            handle.seek(0)
            if path.suffix.lower() in _CSV_SUFFIXES and not start.startswith(_ZIP_SIGNATURE):
                _check_text(start)
                yield _find_header(_csv_rows(handle))
            else:
                _check_signature(start, path.suffix.lower())
                yield from _open_workbook(handle)
    except FileNotFoundError:
        raise RosterFileError(_("The file does not exist.")) from None
    except IsADirectoryError:
        raise RosterFileError(_("The path is a folder, not a file.")) from None
    except PermissionError:
        raise RosterFileError(_("The file cannot be opened because access is denied.")) from None
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ParseError, ValueError):
        raise RosterFileError(_not_xlsx_message()) from None


def _open_workbook(handle: IO[bytes]) -> Iterator[Roster]:
    try:
        workbook = openpyxl.load_workbook(handle, read_only=True, data_only=True)
    except ValueError:
        raise RosterFileError(_not_xlsx_message()) from None
    try:
        worksheet = workbook.active
        if worksheet is None:
            raise RosterFileError(_not_xlsx_message())
        # Some programs write a wrong sheet size into the file. Without the size,
        # openpyxl reads every row that is there.
        worksheet.reset_dimensions()  # type: ignore[union-attr]
        merges = _merged_ranges(worksheet)
        rows = worksheet.iter_rows(min_row=1, values_only=True)
        # openpyxl yields an empty row for each row missing from the file, so
        # counting from 1 gives the row numbers Excel shows.
        yield _find_header(_fill_merged(enumerate(rows, 1), merges))
    finally:
        workbook.close()


def _check_text(start: bytes) -> None:
    # Text in UTF-8 or GB18030 never contains a NUL byte; images, PDFs and
    # old .xls workbooks renamed to .csv do.
    if b"\x00" in start:
        raise RosterFileError(
            _(
                "The file is named .csv but is not a text file. Save the roster from "
                "Excel or WPS as .xlsx, or as CSV (comma separated)."
            )
        )


def _check_signature(start: bytes, suffix: str) -> None:
    # An .xlsx file is a ZIP archive. Old .xls workbooks and password-protected
    # .xlsx files are both OLE2 compound files.
    if start.startswith(b"\xd0\xcf\x11\xe0"):
        raise RosterFileError(
            _(
                "The file is an old .xls workbook or is protected by a password. "
                "Open it in Excel or WPS, remove any password and save it as .xlsx."
            )
        )
    if not start.startswith(_ZIP_SIGNATURE):
        if suffix != ".xlsx":
            raise RosterFileError(_wrong_format_message())
        raise RosterFileError(_not_xlsx_message())


def _not_xlsx_message() -> str:
    return _(
        "The file is not an .xlsx workbook, or it is damaged. Open it in Excel or WPS "
        "and save it as .xlsx, or as CSV (comma separated)."
    )


def _wrong_format_message() -> str:
    return _(
        "Only .xlsx workbooks and .csv files can be imported, and this file is neither. "
        "Open the roster in Excel or WPS, save it as .xlsx or as CSV (comma separated), "
        "and import that file."
    )


# Merged cells


def _merged_ranges(worksheet: Any) -> list[tuple[int, int, int]]:
    """Return (column index, first row, last row) of each merged range taller than one row.

    openpyxl's read-only sheets do not expose merged cells, so the sheet's XML is
    parsed a second time for its <mergeCell> elements, clearing each element as
    it goes so memory stays flat. ``_get_source`` is private to openpyxl 3.1.
    """
    ranges = []
    with worksheet._get_source() as source:
        for _event, element in iterparse(source):
            if element.tag == _MERGE_CELL_TAG:
                min_col, min_row, _max_col, max_row = range_boundaries(element.get("ref"))
                if max_row > min_row:
                    ranges.append((min_col - 1, min_row, max_row))
            element.clear()
    return ranges


def _fill_merged(
    rows: Iterable[tuple[int, Sequence[Any]]], merges: list[tuple[int, int, int]]
) -> Iterator[tuple[int, Sequence[Any]]]:
    """Copy the value of each vertically merged range into every row it spans.

    Offices merge the 片区, 户号 and address cells of a household's rows. Only
    the first column of a range is filled, so a title merged across the
    columns does not turn into one heading per column.
    """
    if not merges:
        yield from rows
        return
    starting: dict[int, list[tuple[int, int, int]]] = {}
    for merge in merges:
        starting.setdefault(merge[1], []).append(merge)
    active: list[tuple[int, int, Any]] = []  # (column, last row, value)
    for row_number, values in rows:
        active = [entry for entry in active if entry[1] >= row_number]
        if not active and row_number not in starting:
            yield row_number, values
            continue
        filled = list(values)
        for column, _last_row, value in active:
            while len(filled) <= column:
                filled.append(None)
            if filled[column] is None:
                filled[column] = value
        for column, _first_row, last_row in starting.get(row_number, []):
            value = filled[column] if column < len(filled) else None
            active.append((column, last_row, value))
        yield row_number, filled


# CSV


def _csv_rows(handle: IO[bytes]) -> Iterator[tuple[int, Sequence[Any]]]:
    encoding = _detect_encoding(handle)
    handle.seek(0)
    text = io.TextIOWrapper(handle, encoding=encoding, newline="")
    sample = text.read(_DECODE_CHUNK)
    text.seek(0)
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(text, dialect)
    # csv.reader counts physical lines, which is the row number a text
    # editor shows even when a quoted cell spans lines.
    for values in reader:
        yield reader.line_num, values


def _detect_encoding(handle: IO[bytes]) -> str:
    """Return "utf-8-sig" when the whole file decodes as UTF-8, else "gb18030".

    GBK text is almost never valid UTF-8, because GBK's two-byte characters
    rarely form UTF-8 sequences, while UTF-8 text always is. The file is read
    in chunks so its size does not matter. "utf-8-sig" also drops a BOM.
    """
    if handle.read(3) == codecs.BOM_UTF8:
        return "utf-8-sig"
    handle.seek(0)
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        while chunk := handle.read(_DECODE_CHUNK):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8-sig"


# The header row


def _find_header(rows: Iterator[tuple[int, Sequence[Any]]]) -> Roster:
    for row_number, values in rows:
        if row_number > HEADER_SEARCH_ROWS:
            break
        found = map_header(values)
        if len(found) >= HEADER_MIN_HEADINGS:
            return Roster(
                header_row=row_number,
                columns=_columns_of_header(row_number, found),
                rows=rows,
            )
    raise RosterFileError(
        _(
            "No header row was found in the first %(count)s rows. "
            "The header row must contain the headings %(headings)s."
        )
        % {"count": HEADER_SEARCH_ROWS, "headings": heading_list(REQUIRED_COLUMNS)}
    )


def map_header(values: Sequence[Any]) -> list[tuple[str, Column]]:
    """Return the known headings of a row as (column key, column) pairs."""
    found = []
    for index, value in enumerate(values):
        if value is None:
            continue
        heading = re.sub(r"\s+", "", str(value))
        key = heading_key(heading)
        if key is not None:
            found.append((key, Column(index=index, heading=heading)))
    return found


def _columns_of_header(row_number: int, found: list[tuple[str, Column]]) -> dict[str, Column]:
    columns: dict[str, Column] = {}
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
    if len(missing) == 1:
        raise RosterFileError(
            _("The header in row %(row)s has no %(heading)s column. Add it to the header row.")
            % {"row": row_number, "heading": heading_list(missing)}
        )
    if missing:
        raise RosterFileError(
            # Translators: %(headings)s lists Chinese headings separated by 、.
            _(
                "The header in row %(row)s lacks these columns: %(headings)s. Add them to the header row."
            )
            % {"row": row_number, "headings": heading_list(missing)}
        )
    return columns
