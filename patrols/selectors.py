"""Reads shared by the patrol pages: the matters board, on-time rates and the patrol calendar."""

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Count, F, Q, QuerySet
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from villagers.models import District, User, Village

from .daily import day_bounds
from .models import DailyPatrolCheck, Matter

# A running matter is "due soon" in the last quarter of its time limit.
DUE_SOON_FRACTION = 0.25

URGENCY_LABELS = {
    "overdue": _("Overdue"),
    "soon": _("Due soon"),
    "ok": _("On time"),
    "paused": _("Clock paused"),
}


@dataclass
class BoardRow:
    matter: Matter
    time_left: timedelta
    urgency: str

    @property
    def urgency_label(self) -> str:
        return str(URGENCY_LABELS[self.urgency])

    @property
    def time_left_text(self) -> str:
        """Return the time left, or the time late, in whole hours and minutes."""
        minutes = int(abs(self.time_left.total_seconds()) // 60)
        return gettext("%(hours)s h %(minutes)s min") % {
            "hours": minutes // 60,
            "minutes": minutes % 60,
        }


def board_matters(
    *,
    villages: QuerySet[Village],
    districts: QuerySet[District] | None = None,
    district_id=None,
    severity=None,
) -> QuerySet[Matter]:
    """Return the open matters of ``villages``, soonest deadline first, optionally filtered.

    ``districts``, when given, limits the matters to those districts.
    """
    matters = Matter.objects.filter(village__in=villages, status__in=Matter.OPEN_STATUSES)
    if districts is not None:
        matters = matters.filter(district__in=districts)
    if district_id:
        matters = matters.filter(district_id=district_id)
    if severity:
        matters = matters.filter(severity=severity)
    return (
        matters.select_related("district", "village", "assignee")
        .prefetch_related("photos")
        .order_by("deadline")
    )


def board_rows(matters, *, now: datetime) -> list[BoardRow]:
    """Pair each matter with its time left and urgency; a waiting matter's clock is stopped."""
    rows = []
    for matter in matters:
        clock = matter.paused_at if matter.status == Matter.Status.WAITING else now
        time_left = matter.deadline - clock
        if matter.status == Matter.Status.WAITING:
            urgency = "paused"
        elif time_left <= timedelta(0):
            urgency = "overdue"
        elif time_left <= matter.time_limit * DUE_SOON_FRACTION:
            urgency = "soon"
        else:
            urgency = "ok"
        rows.append(BoardRow(matter=matter, time_left=time_left, urgency=urgency))
    return rows


@dataclass
class OnTimeRate:
    name: str
    closed: int
    closed_on_time: int
    open_overdue: int
    village_id: int
    village_name: str
    # None in the rates by village.
    district_id: int | None = None

    @property
    def rate(self) -> float | None:
        """Return closed on time ÷ (closed + open overdue), or None with nothing to count."""
        counted = self.closed + self.open_overdue
        return self.closed_on_time / counted if counted else None


def month_bounds(month: date) -> tuple[datetime, datetime]:
    first = month.replace(day=1)
    next_first = (first + timedelta(days=32)).replace(day=1)
    return day_bounds(first)[0], day_bounds(next_first)[0]


def on_time_rates(
    *,
    villages: QuerySet[Village],
    month: date,
    now: datetime,
    by: str,
    districts: QuerySet[District] | None = None,
) -> list[OnTimeRate]:
    """Return the on-time rate of each village or district (``by``) for one month.

    ``districts``, when given, counts only the matters of those districts.

    A matter counts in the month its deadline falls in. Closed means resolved
    or verified; on time means resolved at or before the deadline. Open
    overdue means still open with the deadline passed. Matters still open
    before their deadline are not counted yet.
    """
    start, end = month_bounds(month)
    # Districts of different villages share names (every village has a
    # 第一片区), so each row carries its village, and districts keep roster order.
    group = {
        "village": ("village__name", "village_id"),
        "district": ("village__name", "village_id", "district_id", "district__name"),
    }[by]
    closed = Q(status__in=Matter.CLOSED_STATUSES)
    # A waiting matter's deadline moves when its clock restarts, so it is
    # overdue only if the sweep marked it before it began to wait.
    open_overdue = Q(status__in=Matter.OPEN_STATUSES) & (
        Q(overdue_at__isnull=False) | Q(status__in=Matter.RUNNING_STATUSES, deadline__lte=now)
    )
    matters = Matter.objects.filter(village__in=villages, deadline__gte=start, deadline__lt=end)
    if districts is not None:
        matters = matters.filter(district__in=districts)
    rows = (
        matters.values(*group)
        .annotate(
            closed=Count("pk", filter=closed),
            closed_on_time=Count("pk", filter=closed & Q(resolved_at__lte=F("deadline"))),
            open_overdue=Count("pk", filter=open_overdue),
        )
        .order_by(*group)
    )
    return [
        OnTimeRate(
            name=row["district__name"] if by == "district" else row["village__name"],
            closed=row["closed"],
            closed_on_time=row["closed_on_time"],
            open_overdue=row["open_overdue"],
            village_id=row["village_id"],
            village_name=row["village__name"],
            district_id=row.get("district_id"),
        )
        for row in rows
    ]


@dataclass
class CalendarDay:
    day: date
    check: DailyPatrolCheck | None

    @property
    def state(self) -> str:
        if self.check is None:
            return "unchecked"
        return "kept" if self.check.kept else "missed"


def patrol_calendar(*, secretary: User, month: date) -> list[list[CalendarDay | None]]:
    """Return the month as weeks from Monday; each day carries its check, if one ran."""
    checks = {
        check.day: check
        for check in DailyPatrolCheck.objects.filter(
            secretary=secretary, day__year=month.year, day__month=month.month
        )
    }
    weeks = calendar.Calendar(firstweekday=0).monthdatescalendar(month.year, month.month)
    return [
        [
            CalendarDay(day=day, check=checks.get(day)) if day.month == month.month else None
            for day in week
        ]
        for week in weeks
    ]
