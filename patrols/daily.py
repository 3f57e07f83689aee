"""The morning check that every district had its daily patrols (片区书记123, rule 1)."""

import logging
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import DurationField, ExpressionWrapper, F
from django.utils import timezone

from notifications.services import notification_send
from villagers.models import District

from . import messages
from .models import DailyPatrolCheck, Patrol, PatrolPolicy

logger = logging.getLogger(__name__)

# How many past days each run checks. The run at dawn checks yesterday, and the
# day before as well, so one missed run is caught up by the next.
CHECK_DAYS_BACK = 2


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """Return the start of ``day`` and of the next day, in the project's time zone."""
    start = timezone.make_aware(datetime.combine(day, time.min))
    return start, timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))


def patrols_check_recent_days(*, today: date) -> list[int]:
    """Check the last ``CHECK_DAYS_BACK`` days; return the ids of the new missed-day checks."""
    missed: list[int] = []
    for days_back in range(CHECK_DAYS_BACK, 0, -1):
        missed += patrols_check_day(day=today - timedelta(days=days_back))
    return missed


def patrols_check_day(*, day: date, limit: int | None = None) -> list[int]:
    """Record the check of ``day`` for each district not yet checked; bounded by ``limit``.

    Returns the ids of the checks that found a shortfall and notified.
    """
    limit = limit or settings.MATTER_SWEEP_BATCH
    districts = (
        District.objects.exclude(patrol_checks__day=day)
        .select_related("village__secretary", "secretary")
        .order_by("pk")[:limit]
    )
    missed = []
    for district in districts:
        check = district_check_day(district=district, day=day)
        if check is not None and not check.kept:
            missed.append(check.pk)
    return missed


def qualifying_patrol_count(*, district: District, day: date, policy: PatrolPolicy) -> int:
    """Count the district's patrols started on ``day`` that lasted the policy's minimum."""
    start, end = day_bounds(day)
    length = ExpressionWrapper(F("ended_at") - F("started_at"), output_field=DurationField())
    return (
        Patrol.objects.filter(district=district, started_at__gte=start, started_at__lt=end)
        .exclude(ended_at__isnull=True)
        .annotate(length=length)
        .filter(length__gte=timedelta(minutes=policy.minimum_patrol_minutes))
        .count()
    )


def district_check_day(*, district: District, day: date) -> DailyPatrolCheck | None:
    """Check one district's day and tell the village secretary of a shortfall.

    Returns None when another run recorded this district and day first; the
    unique constraint on (district, day) decides which run that is.
    """
    policy = PatrolPolicy.for_village(district.village)
    count = qualifying_patrol_count(district=district, day=day, policy=policy)
    try:
        with transaction.atomic():
            check = DailyPatrolCheck.objects.create(
                district=district,
                day=day,
                secretary=district.secretary,
                qualifying_patrols=count,
                kept=count >= policy.patrols_per_day,
                checked_at=timezone.now(),
            )
            secretary = district.village.secretary
            if not check.kept and secretary is not None:
                notification_send(
                    recipient=secretary,
                    event_key=f"patrol-missed:{district.pk}:{day.isoformat()}",
                    msgid=messages.PATROL_MISSED,
                    params={
                        "day": day.isoformat(),
                        "district": district.name,
                        "count": count,
                        "needed": policy.patrols_per_day,
                        "minutes": policy.minimum_patrol_minutes,
                    },
                )
    except IntegrityError:
        logger.info("district %s day %s already checked", district.pk, day)
        return None
    logger.info(
        "district %s day %s checked: %s patrols, kept=%s", district.pk, day, count, check.kept
    )
    return check
