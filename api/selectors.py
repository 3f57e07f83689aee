"""Read queries of the API: scoped querysets and the aggregated statistics."""

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

from patrols.models import DailyPatrolCheck, FollowUp, Matter, Meeting
from points.models import Balance, Claim, LedgerEntry, Objection, StarThreshold
from villagers.models import Village


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


def star_households(villages: QuerySet[Village], *, year: int) -> QuerySet[Balance]:
    """Honour balances in ``year`` of the households that reach a star level, with ``stars``.

    The level is the highest of the village's thresholds for ``year`` that the
    household's honour points reach, as ``points.selectors.star_level``
    computes it for one household; here it is a subquery so that a page of
    households costs one query.
    """
    level = (
        StarThreshold.objects.filter(
            village=OuterRef("village"), year=year, min_points__lte=OuterRef("points")
        )
        .order_by("-stars")
        .values("stars")[:1]
    )
    return (
        Balance.objects.filter(
            village__in=villages,
            household__isnull=False,
            account=Balance.Account.HONOUR,
            period=str(year),
        )
        .annotate(stars=Subquery(level))
        .filter(stars__isnull=False)
        .select_related("household", "village")
        .order_by("village_id", "-stars", "-points", "household__number")
    )


def claims(villages: QuerySet[Village]) -> QuerySet[Claim]:
    """Claims of these villages' villagers, the latest recorded first."""
    return (
        Claim.objects.filter(villager__household__village__in=villages)
        .select_related("villager__household", "rule__category")
        .order_by("-recorded_at", "-id")
    )


def objections(villages: QuerySet[Village]) -> QuerySet[Objection]:
    """Objections to claims of these villages, the soonest review deadline first."""
    return (
        Objection.objects.filter(claim__villager__household__village__in=villages)
        .select_related("claim__villager__household")
        .order_by("review_deadline", "id")
    )


def patrol_compliance(checks: QuerySet[DailyPatrolCheck]) -> QuerySet:
    """Count each district's checked and kept patrol days per month, in one query."""
    return (
        checks.order_by()
        .annotate(month_start=TruncMonth("day"))
        .values("district", "district__name", "district__village", "month_start")
        .annotate(
            days_checked=Count("id"),
            days_kept=Count("id", filter=Q(kept=True)),
        )
        .order_by("district__village", "district", "month_start")
    )


def meetings(villages: QuerySet[Village]) -> QuerySet[Meeting]:
    """Meetings of these villages, the latest first, with attendee and follow-up counts."""
    return (
        Meeting.objects.filter(village__in=villages)
        .select_related("village")
        .annotate(
            attendee_count=Count("attendees", distinct=True),
            follow_up_count=Count("follow_ups", distinct=True),
            open_follow_up_count=Count(
                "follow_ups",
                filter=Q(follow_ups__status=FollowUp.Status.OPEN),
                distinct=True,
            ),
        )
        .order_by("-date", "-id")
    )


def follow_ups(villages: QuerySet[Village]) -> QuerySet[FollowUp]:
    """Follow-ups of these villages' meetings, the soonest due first."""
    return (
        FollowUp.objects.filter(meeting__village__in=villages)
        .select_related("meeting", "owner", "matter")
        .order_by("due_date", "id")
    )
