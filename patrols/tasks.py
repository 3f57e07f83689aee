import logging

from celery import shared_task
from django.utils import timezone

from .services import matters_sweep_overdue

logger = logging.getLogger(__name__)


@shared_task(name="patrols.tasks.sweep_matter_deadlines")
def sweep_matter_deadlines() -> list[int]:
    """Escalate every open matter past its 三不出 deadline; beat runs this every minute."""
    escalated = matters_sweep_overdue(now=timezone.now())
    logger.info("deadline sweep done, %s matters escalated", len(escalated))
    return escalated
