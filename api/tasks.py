import logging

from celery import shared_task
from django.utils import timezone

from .idempotency import idempotency_records_delete_expired

logger = logging.getLogger(__name__)


@shared_task(name="api.tasks.purge_idempotency_records")
def purge_idempotency_records() -> int:
    """Delete Idempotency-Key records older than API_IDEMPOTENCY_DAYS; beat runs this daily.

    Returns how many records were deleted.
    """
    deleted = idempotency_records_delete_expired(now=timezone.now())
    logger.info("idempotency cleanup done, %s records deleted", deleted)
    return deleted
