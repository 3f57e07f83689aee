"""Read queries of the API: scoped querysets and the aggregated statistics."""

from datetime import datetime

from django.db.models import (
    Count,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.functions import Coalesce, TruncMonth

from patrols.models import Matter
from points.models import LedgerEntry
from villagers.models import Village

CLOSED_STATUSES = (Matter.Status.RESOLVED, Matter.Status.VERIFIED)


def ledger_entries(villages: QuerySet[Village]) -> QuerySet[LedgerEntry]:
    """Entries of these villages, newest posting first, with ``is_reversed`` set."""
    return (
        LedgerEntry.objects.filter(village__in=villages)
        .select_related("household")
        .annotate(is_reversed=Exists(LedgerEntry.objects.filter(reverses=OuterRef("pk"))))
        .order_by("-posted_at", "-id")
    )


def points_per_village_item_month(entries: QuerySet[LedgerEntry]) -> QuerySet:
    """Sum ``entries`` per village, governance item and month of the act, in one query."""
    return (
        entries.order_by()
        .annotate(month_start=TruncMonth("act_date"))
        .values("village", "village__name", "category", "category__name", "month_start")
        .annotate(points=Sum("points"), entry_count=Count("id"))
        .order_by("village", "category", "month_start")
    )


def matters(villages: QuerySet[Village]) -> QuerySet[Matter]:
    """Matters of these villages by deadline, with ``updated_datetime`` from their history."""
    last_change = (
        Matter.history.model.objects.filter(id=OuterRef("pk"))
        .order_by("-history_date")
        .values("history_date")[:1]
    )
    return (
        Matter.objects.filter(village__in=villages)
        .select_related("category", "district")
        .annotate(updated_datetime=Coalesce(Subquery(last_change), F("reported_at")))
        .order_by("deadline", "id")
    )


def matter_on_time_counts(matters: QuerySet[Matter], now: datetime) -> QuerySet:
    """Count each village's matters by whether they were or are settled in time.

    A matter closed on time was resolved by its deadline. An open matter
    counts against the rate only once its deadline has passed.
    """
    closed = Q(status__in=CLOSED_STATUSES)
    is_open = Q(status__in=Matter.OPEN_STATUSES)
    return (
        matters.order_by()
        .values("village", "village__name")
        .annotate(
            closed_on_time=Count("id", filter=closed & Q(resolved_at__lte=F("deadline"))),
            closed_late=Count("id", filter=closed & ~Q(resolved_at__lte=F("deadline"))),
            open_overdue=Count("id", filter=is_open & Q(deadline__lte=now)),
            open_in_time=Count("id", filter=is_open & Q(deadline__gt=now)),
        )
        .order_by("village")
    )


def on_time_rate(row: dict) -> float | None:
    """Return closed on time ÷ (closed + open overdue), or None when that is 0 ÷ 0."""
    counted = row["closed_on_time"] + row["closed_late"] + row["open_overdue"]
    if counted == 0:
        return None
    return row["closed_on_time"] / counted
