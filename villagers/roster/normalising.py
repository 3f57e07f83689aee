"""Normalising roster cells before they are checked.

Village offices type with Chinese input methods, paste from WeChat and let
Excel reformat cells, so the same value arrives in many shapes. Each function
here folds those shapes into one and returns None when the value cannot be read.
"""

import re
import unicodedata
from datetime import date, datetime
from typing import Any

from openpyxl.utils.datetime import from_excel

from ..models import Villager

# Dates as offices write them: 1989-06-06, 1989/6/6, 1989.6.6, 1989年6月6日.
_TEXT_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_COMPACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
# Excel stores a date as days since 1899-12-30; 1 to 73,050 covers 1900 to 2099.
_EXCEL_SERIAL = re.compile(r"^\d{1,5}(\.0+)?$")
_EXCEL_SERIAL_MAX = 73050

# Mobile numbers: 11 digits starting with 13 to 19. Landlines: a trunk 0,
# an area code and the local number, 10 to 12 digits in all.
_MOBILE_PHONE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE_PHONE = re.compile(r"^0\d{9,11}$")
_PHONE_SEPARATORS = re.compile(r"[\s\-()]")
_PHONE_COUNTRY_CODE = re.compile(r"^(\+86|0086)")

# The separators of minority and foreign names (阿卜杜·热合曼), as different
# keyboards type them, after NFKC: the middle dot, bullet, katakana middle dot,
# full stop, hyphenation point and dot operators.
_NAME_DOTS = re.compile(r"\s*[·•・.‧∙⋅]\s*")
_NAME_DOT = "·"
_LATIN_LETTER = re.compile(r"[A-Za-z]")

SEX_WORDS: dict[str, str] = {
    "男": Villager.Sex.MALE,
    "男性": Villager.Sex.MALE,
    "女": Villager.Sex.FEMALE,
    "女性": Villager.Sex.FEMALE,
}

POPULATION_TYPE_WORDS: dict[str, str] = {
    "户籍": Villager.PopulationType.REGISTERED,
    "户籍人口": Villager.PopulationType.REGISTERED,
    "户籍人员": Villager.PopulationType.REGISTERED,
    "户籍居民": Villager.PopulationType.REGISTERED,
    "本村户籍": Villager.PopulationType.REGISTERED,
    "村民": Villager.PopulationType.REGISTERED,
    "新居民": Villager.PopulationType.NEW_RESIDENT,
    "新村民": Villager.PopulationType.NEW_RESIDENT,
    "外来人口": Villager.PopulationType.NEW_RESIDENT,
    "流动人口": Villager.PopulationType.NEW_RESIDENT,
    "暂住人口": Villager.PopulationType.NEW_RESIDENT,
    "企业员工": Villager.PopulationType.EMPLOYEE,
    "企业职工": Villager.PopulationType.EMPLOYEE,
    "企业人员": Villager.PopulationType.EMPLOYEE,
    "员工": Villager.PopulationType.EMPLOYEE,
    "职工": Villager.PopulationType.EMPLOYEE,
}
# The roster's word for each population type, used in exports and messages.
POPULATION_TYPE_LABELS: dict[str, str] = {
    Villager.PopulationType.REGISTERED: "户籍",
    Villager.PopulationType.NEW_RESIDENT: "新居民",
    Villager.PopulationType.EMPLOYEE: "企业员工",
}


def cell_text(value: Any) -> str:
    """Return a cell as text: NFKC-folded, so full-width digits and letters and
    non-breaking and ideographic spaces become ASCII, with surrounding spaces removed."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else str(value)
    if isinstance(value, date):
        return value.isoformat()
    return unicodedata.normalize("NFKC", str(value)).strip()


def name_of(value: Any) -> str:
    """Return a person's name with one kind of middle dot and no padding spaces."""
    name = cell_text(value)
    name = _NAME_DOTS.sub(_NAME_DOT, name).strip(_NAME_DOT)
    # Offices pad two-character names with spaces (张  三) to line them up.
    if not _LATIN_LETTER.search(name):
        name = re.sub(r"\s+", "", name)
    return name


def phone_of(value: Any) -> str:
    """Return the digits of a phone number without separators or +86, or "" when blank."""
    text = _PHONE_SEPARATORS.sub("", cell_text(value))
    text = _PHONE_COUNTRY_CODE.sub("", text)
    if len(text) == 13 and text.startswith("861"):
        text = text[2:]
    return text


def is_valid_phone(phone: str) -> bool:
    return bool(_MOBILE_PHONE.match(phone) or _LANDLINE_PHONE.match(phone))


def date_of(value: Any) -> date | None:
    """Read a date from a date cell, an Excel serial number or Chinese date text."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _excel_serial_date(float(value))
    text = cell_text(value)
    if _EXCEL_SERIAL.match(text) and len(text.split(".")[0]) <= 5:
        return _excel_serial_date(float(text))
    match = _TEXT_DATE.match(text) or _COMPACT_DATE.match(text)
    if match is None:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


def _excel_serial_date(serial: float) -> date | None:
    if not 1 <= serial <= _EXCEL_SERIAL_MAX:
        return None
    return from_excel(serial).date()


def id_number_text(value: Any) -> str:
    """Return an ID number cell without any spaces, for parse_id_number."""
    return re.sub(r"\s+", "", cell_text(value))
