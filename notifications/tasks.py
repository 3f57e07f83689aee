import logging

from celery import shared_task

from .services import notification_sms_send

logger = logging.getLogger(__name__)


@shared_task(name="notifications.tasks.send_notification_sms")
def send_notification_sms(notification_id: int) -> bool:
    """Send one notification's SMS; a repeated delivery sends nothing more."""
    sent = notification_sms_send(notification_id=notification_id)
    logger.info("sms task for notification %s done, sent=%s", notification_id, sent)
    return sent
