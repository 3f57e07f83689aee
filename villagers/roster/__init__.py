"""Roster import (花名册导入): create and update a village's people from its roster file.

A village office keeps its roster as a spreadsheet: title rows, then a header
row, then one row per person. ``roster_import`` reads an .xlsx or .csv file
(``reading``), folds each cell into one form (``normalising``), checks every
row (``checking``) and writes the valid rows in one transaction
(``applying``). Rows that fail a check are returned in the report with a
message for the user, and the other rows are still imported. ``exporting``
writes a village's roster back in the same layout.

A file that cannot be read at all (missing, neither .xlsx nor .csv, no header
row, a required column missing) raises ``RosterFileError`` and writes nothing.
"""

from .applying import (
    MovedOut,
    NewDistrict,
    RosterReport,
    RowOutcome,
    RowStatus,
    roster_import,
    rows_text,
)
from .checking import RowError
from .columns import COLUMN_HEADINGS, REQUIRED_COLUMNS
from .reading import HEADER_SEARCH_ROWS, RosterFileError

__all__ = [
    "COLUMN_HEADINGS",
    "HEADER_SEARCH_ROWS",
    "REQUIRED_COLUMNS",
    "MovedOut",
    "NewDistrict",
    "RosterFileError",
    "RosterReport",
    "RowError",
    "RowOutcome",
    "RowStatus",
    "roster_import",
    "rows_text",
]
