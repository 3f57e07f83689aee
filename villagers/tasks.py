import logging

from celery import shared_task
from django.utils import timezone

from .roster.uploads import roster_upload_apply, roster_upload_check, roster_uploads_purge

logger = logging.getLogger(__name__)


@shared_task(name="villagers.tasks.check_roster_upload")
def check_roster_upload(upload_id: int) -> None:
    """Run the preview (dry run) of an uploaded roster."""
    logger.info("checking roster upload %s", upload_id)
    roster_upload_check(upload_id=upload_id)


@shared_task(name="villagers.tasks.import_roster_upload")
def import_roster_upload(upload_id: int) -> None:
    """Import a confirmed roster upload."""
    logger.info("importing roster upload %s", upload_id)
    roster_upload_apply(upload_id=upload_id)


@shared_task(name="villagers.tasks.purge_roster_uploads")
def purge_roster_uploads() -> int:
    """Delete the files of roster uploads not confirmed within ROSTER_UPLOAD_KEEP_HOURS."""
    return roster_uploads_purge(now=timezone.now())
