from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from knox.models import AuthToken

# Longest Idempotency-Key header accepted; clients usually send a UUID (36 characters).
IDEMPOTENCY_KEY_MAX_LENGTH = 100


class TokenGrant(models.Model):
    """Write permission of one API token, beyond reading its user's villages.

    A knox token without a grant row may only read. Deleting the token (its
    revocation) deletes the grant with it.
    """

    token = models.OneToOneField(
        "knox.AuthToken",
        verbose_name=_("token"),
        on_delete=models.CASCADE,
        related_name="api_grant",
    )
    can_write = models.BooleanField(
        _("may submit claims and report matters"),
        default=False,
        help_text=_("Without this the token can only read."),
    )
    note = models.CharField(
        _("note"),
        max_length=200,
        blank=True,
        help_text=_("Who holds the token and what client uses it."),
    )
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("issued by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("API token grant")
        verbose_name_plural = _("API token grants")
        permissions = [
            ("use_api", _("Can use the REST API")),
            ("view_roster", _("Can read households and villagers with masked personal data")),
        ]

    def __str__(self) -> str:
        return self.token.token_key


class IdempotencyRecord(models.Model):
    """The first response to a write request sent with an Idempotency-Key header.

    A retry with the same key and the same body gets this response back. The
    unique constraint lets only one of two racing requests store its result.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    key = models.CharField(_("idempotency key"), max_length=IDEMPOTENCY_KEY_MAX_LENGTH)
    request_hash = models.CharField(_("request digest"), max_length=64)
    status_code = models.PositiveSmallIntegerField(_("response status"))
    response_body = models.JSONField(_("response body"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("idempotency record")
        verbose_name_plural = _("idempotency records")
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_unique_per_user"),
        ]

    def __str__(self) -> str:
        return self.key


class ApiToken(AuthToken):
    """Knox's token under this project's name and translated labels, for the admin."""

    class Meta:
        proxy = True
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
