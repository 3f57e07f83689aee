"""One-time login codes for villagers and the log of staff resets."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class LoginCode(models.Model):
    """A code staff print for one villager; it works once, for a short time.

    Only a hash of the code is stored, made by Django's password hasher.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="login_codes",
        verbose_name=_("user"),
    )
    code_hash = models.CharField(_("code hash"), max_length=256, editable=False)
    expires_at = models.DateTimeField(_("expires at"))
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("login code")
        verbose_name_plural = _("login codes")
        indexes = [models.Index(fields=["user", "expires_at"], name="login_code_user_idx")]

    def __str__(self) -> str:
        return f"{self.user} until {self.expires_at:%Y-%m-%d %H:%M}"


class LoginReset(models.Model):
    """A record of a reset of a villager's login: who reset it and when, but never the password or code."""

    class Kind(models.TextChoices):
        PASSWORD = "password", _("password set")
        CODE = "code", _("login code printed")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="login_resets",
        verbose_name=_("villager's account"),
    )
    reset_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("reset by"),
    )
    reset_at = models.DateTimeField(_("reset at"))
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)

    class Meta:
        verbose_name = _("login reset")
        verbose_name_plural = _("login resets")
        ordering = ["-reset_at"]
        permissions = [
            ("reset_villager_login", _("Can set villagers' passwords and print login codes"))
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.kind} {self.reset_at:%Y-%m-%d %H:%M}"
