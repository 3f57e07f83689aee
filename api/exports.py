"""Tables as CSV or XLSX files with headings in the request's language.

CSV is streamed row by row. XLSX is written by openpyxl in write-only mode,
which keeps one row in memory at a time, into a temporary file that the
response then streams.
"""

import csv
import io
import tempfile
from collections.abc import Iterable, Iterator

from django.http import FileResponse, StreamingHttpResponse
from django.utils.encoding import force_str
from django.utils.translation import gettext as _
from openpyxl import Workbook

# Excel reads a CSV file as UTF-8 only when it starts with a byte order mark.
UTF8_BOM = "\ufeff"

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# Columns as (field name, heading); the heading may be a lazy translation.
Columns = list[tuple[str, str]]


class _Echo:
    """A file-like object whose write returns the text, for csv.writer in a stream."""

    def write(self, value: str) -> str:
        return value


def _yes_no() -> tuple[str, str]:
    """Return the words for true and false in the active language (是/否 in Chinese)."""
    return _("Yes"), _("No")


def _cell(value, yes_no: tuple[str, str]):
    if value is None:
        return ""
    if isinstance(value, bool):
        return yes_no[0] if value else yes_no[1]
    if isinstance(value, int | float):
        return value
    return force_str(value)


def _csv_lines(columns: Columns, rows: Iterable[dict], yes_no: tuple[str, str]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield UTF8_BOM + writer.writerow([force_str(heading) for _field, heading in columns])
    for row in rows:
        yield writer.writerow([_cell(row.get(name), yes_no) for name, _heading in columns])


def rows_to_csv_bytes(columns: Columns, rows: Iterable[dict]) -> bytes:
    return "".join(_csv_lines(columns, rows, _yes_no())).encode("utf-8")


def _write_xlsx(target, columns: Columns, rows: Iterable[dict]) -> None:
    yes_no = _yes_no()
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append([force_str(heading) for _field, heading in columns])
    for row in rows:
        sheet.append([_cell(row.get(name), yes_no) for name, _heading in columns])
    workbook.save(target)


def rows_to_xlsx_bytes(columns: Columns, rows: Iterable[dict]) -> bytes:
    buffer = io.BytesIO()
    _write_xlsx(buffer, columns, rows)
    return buffer.getvalue()


def export_response(file_format: str, *, columns: Columns, rows: Iterable[dict], name: str):
    """Return a streaming CSV or XLSX download of ``rows`` named ``name``."""
    # Headings and the yes/no words are translated now, while the request's
    # language is active, because the CSV generator runs only as the response is sent.
    columns = [(field, force_str(heading)) for field, heading in columns]
    if file_format == "csv":
        lines = _csv_lines(columns, rows, _yes_no())
        response = StreamingHttpResponse(
            (line.encode("utf-8") for line in lines),
            content_type="text/csv; charset=utf-8",
        )
        response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
        return response
    spooled = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it
    _write_xlsx(spooled, columns, rows)
    spooled.seek(0)
    return FileResponse(
        spooled, as_attachment=True, filename=f"{name}.xlsx", content_type=XLSX_MEDIA_TYPE
    )
