"""Period keys for balances: "all", "2026", "2026-Q4" and "2026-12"."""

from datetime import date

ALL_TIME = "all"


def year_key(day: date) -> str:
    return f"{day.year}"


def quarter_key(day: date) -> str:
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def month_key(day: date) -> str:
    return f"{day.year}-{day.month:02d}"


def period_keys(day: date) -> dict[str, str]:
    """Return the key of every period an act on ``day`` counts in, by period kind."""
    return {
        "month": month_key(day),
        "quarter": quarter_key(day),
        "year": year_key(day),
        "all": ALL_TIME,
    }


def period_bounds(kind: str, day: date) -> tuple[date, date]:
    """Return the first and last day of the month, quarter or year containing ``day``."""
    if kind == "month":
        first_month, months = day.month, 1
    elif kind == "quarter":
        first_month, months = (day.month - 1) // 3 * 3 + 1, 3
    elif kind == "year":
        first_month, months = 1, 12
    else:
        raise ValueError(f"unknown period kind {kind!r}")
    start = date(day.year, first_month, 1)
    after = first_month + months
    end_exclusive = date(day.year + 1, 1, 1) if after > 12 else date(day.year, after, 1)
    return start, date.fromordinal(end_exclusive.toordinal() - 1)
