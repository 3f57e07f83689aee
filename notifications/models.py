from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


class Notification(models.Model):
    """A message to one user about one event, shown in the app and sent by SMS.

    The text is stored as an English msgid with its parameters and translated
    into the recipient's language only when it is shown or sent, so a user who
    switches language reads old notifications in the new one.
    """

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recipient"),
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    # Names the event, such as "matter:12:village"; unique per recipient so
    # that a repeated sweep or a retried task never notifies twice.
    event_key = models.CharField(_("event"), max_length=120)
    msgid = models.TextField(_("message id"))
    params = models.JSONField(_("message parameters"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"))
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    sms_sent_at = models.DateTimeField(_("SMS sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "event_key"], name="notification_once_per_event"
            ),
        ]
        indexes = [
            # The unread count in the navigation bar of every page.
            models.Index(
                fields=["recipient"],
                condition=Q(read_at__isnull=True),
                name="notification_unread_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.recipient} {self.event_key}"

    def render(self, language: str | None = None) -> str:
        """Return the text in ``language``, by default the recipient's own."""
        with translation.override(language or self.recipient.language):
            return gettext(self.msgid) % self.params
