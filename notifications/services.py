"""Notifying users: one row per user and event, with an SMS sent after commit."""

import logging

from django.db import transaction
from django.utils import timezone

from villagers.models import User

from .models import Notification
from .sms import get_backend

logger = logging.getLogger(__name__)


def notification_send(
    *, recipient: User, event_key: str, msgid: str, params: dict | None = None
) -> Notification | None:
    """Notify ``recipient`` of an event, unless this event already notified them.

    Returns the new notification, or None when the event was notified before.
    The SMS is queued only once the caller's transaction commits.
    """
    notification, created = Notification.objects.get_or_create(
        recipient=recipient,
        event_key=event_key,
        defaults={"msgid": msgid, "params": params or {}, "created_at": timezone.now()},
    )
    if not created:
        return None
    logger.info("notification %s for user %s: %s", notification.pk, recipient.pk, event_key)
    if recipient_phone(recipient):
        from .tasks import send_notification_sms

        transaction.on_commit(lambda: send_notification_sms.delay(notification.pk))
    return notification


def recipient_phone(user: User) -> str:
    """Return the phone of the villager record linked to ``user``, or "" without one."""
    villager = getattr(user, "villager", None)
    return villager.phone if villager is not None else ""


@transaction.atomic
def notification_sms_send(*, notification_id: int) -> bool:
    """Send the notification's SMS once; return whether this call sent it.

    The row stays locked while the backend sends, so a duplicated task waits
    and then finds it sent.
    """
    notification = (
        Notification.objects.select_for_update()
        .select_related("recipient")
        .filter(pk=notification_id, sms_sent_at__isnull=True)
        .first()
    )
    if notification is None:
        return False
    phone = recipient_phone(notification.recipient)
    if not phone:
        return False
    get_backend().send(phone=phone, text=notification.render())
    # NOTE: a worker killed after the provider accepted the text but before this
    # commit sends it again on redelivery; providers offer no way to ask.
    notification.sms_sent_at = timezone.now()
    notification.save(update_fields=["sms_sent_at"])
    logger.info("notification %s sent by SMS", notification_id)
    return True


def notifications_mark_read(*, actor: User, notification_ids: list[int] | None = None) -> int:
    """Mark ``actor``'s notifications read: these ids, or all when none are given."""
    unread = Notification.objects.filter(recipient=actor, read_at__isnull=True)
    if notification_ids is not None:
        unread = unread.filter(pk__in=notification_ids)
    return unread.update(read_at=timezone.now())
