"""CSV and XLSX output for lists and statistics.

Views build these files through ``api.exports``. The renderer classes let
content negotiation accept ``?format=csv``, ``?format=xlsx`` and the ``.csv``
and ``.xlsx`` suffixes, and they make the schema list both media types.
"""

from rest_framework.renderers import BaseRenderer

from .exports import rows_to_csv_bytes, rows_to_xlsx_bytes


class CsvRenderer(BaseRenderer):
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        columns = _columns(renderer_context)
        return rows_to_csv_bytes(columns, _rows(data))


class XlsxRenderer(BaseRenderer):
    media_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    format = "xlsx"
    charset = None
    render_style = "binary"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        columns = _columns(renderer_context)
        return rows_to_xlsx_bytes(columns, _rows(data))


def _columns(renderer_context) -> list[tuple[str, str]]:
    view = (renderer_context or {}).get("view")
    return view.export_columns() if view is not None else []


def _rows(data) -> list[dict]:
    """Return the rows of a page, a plain list or a single object."""
    if isinstance(data, dict):
        return list(data["results"]) if "results" in data else [data]
    return list(data or [])
