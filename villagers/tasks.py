import logging

from celery import shared_task

from .roster.uploads import roster_upload_apply, roster_upload_check

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
