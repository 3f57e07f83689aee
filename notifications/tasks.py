import logging

from celery import shared_task

from .services import notification_sms_send
from .sms import SmsError

logger = logging.getLogger(__name__)


# A provider that rejects a text is tried again after 1, 2, 4, 8 and 16 minutes,
# then the notification stays in-app only. These countdowns stay far below the
# broker's visibility timeout, so Redis does not deliver a retry twice.
@shared_task(
    name="notifications.tasks.send_notification_sms",
    autoretry_for=(SmsError,),
    retry_backoff=60,
    retry_backoff_max=960,
    retry_jitter=False,
    max_retries=5,
)
def send_notification_sms(notification_id: int) -> bool:
    """Send one notification's SMS; a repeated delivery sends nothing more."""
    sent = notification_sms_send(notification_id=notification_id)
    logger.info("sms task for notification %s done, sent=%s", notification_id, sent)
    return sent
