import logging

from celery import shared_task
from django.utils import timezone

from .daily import patrols_check_recent_days
from .meetings import meetings_check_last_tuesday
from .services import matters_sweep_overdue, matters_sweep_reminders, matters_sweep_township

logger = logging.getLogger(__name__)


@shared_task(name="patrols.tasks.sweep_matter_deadlines")
def sweep_matter_deadlines() -> list[int]:
    """Remind and escalate open matters by their 三不出 deadlines; beat runs this every minute.

    Returns the ids of the matters escalated to the village secretary.
    """
    now = timezone.now()
    reminded = matters_sweep_reminders(now=now)
    escalated = matters_sweep_overdue(now=now)
    township = matters_sweep_township(now=now)
    logger.info(
        "deadline sweep done: %s reminded, %s escalated, %s sent to the township",
        len(reminded),
        len(escalated),
        len(township),
    )
    return escalated


@shared_task(name="patrols.tasks.check_daily_patrols")
def check_daily_patrols() -> int:
    """Check yesterday's patrols of every district (and the day before, if a run was missed)."""
    missed = patrols_check_recent_days(today=timezone.localdate())
    logger.info("daily patrol check done, %s districts short", len(missed))
    return len(missed)


@shared_task(name="patrols.tasks.check_tuesday_meetings")
def check_tuesday_meetings() -> int:
    """Flag each village that logged no meeting on the last Tuesday."""
    flagged = meetings_check_last_tuesday(today=timezone.localdate())
    logger.info("tuesday meeting check done, %s villages flagged", len(flagged))
    return len(flagged)
