"""Villager logins: passwords and one-time codes set by staff, each reset logged."""

import secrets
from datetime import timedelta

from axes.utils import reset as axes_reset
from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from villagers import roles
from villagers.access import can_act_in_village
from villagers.models import User, Villager

from .lockout import lockout_username_of
from .models import LoginCode, LoginReset

# A printed code works once, within this time of printing.
LOGIN_CODE_LIFETIME = timedelta(hours=24)
LOGIN_CODE_DIGITS = 8


@transaction.atomic
def villager_password_set(*, actor: User, villager: Villager, password: str) -> User:
    """Set the villager's password, creating their account if they have none.

    The new password changes the session auth hash, so the villager's open
    sessions end.
    """
    _check_may_reset(actor=actor, villager=villager)
    user = _account_of(villager)
    validate_password(password, user)
    user.set_password(password)
    user.save(update_fields=["password"])
    _log(user=user, actor=actor, kind=LoginReset.Kind.PASSWORD)
    return user


@transaction.atomic
def login_code_issue(*, actor: User, villager: Villager) -> str:
    """Return a new one-time login code for the villager; earlier unused codes stop working."""
    _check_may_reset(actor=actor, villager=villager)
    user = _account_of(villager)
    now = timezone.now()
    LoginCode.objects.filter(user=user, used_at__isnull=True).update(used_at=now)
    code = "".join(secrets.choice("0123456789") for _ in range(LOGIN_CODE_DIGITS))
    LoginCode.objects.create(
        user=user, code_hash=make_password(code), expires_at=now + LOGIN_CODE_LIFETIME
    )
    _log(user=user, actor=actor, kind=LoginReset.Kind.CODE)
    return code


@transaction.atomic
def login_code_redeem(*, user: User, code: str) -> bool:
    """Use up the user's live code if ``code`` matches it; return whether it did."""
    code = code.strip()
    if not code.isdigit() or len(code) != LOGIN_CODE_DIGITS:
        return False
    now = timezone.now()
    live = LoginCode.objects.select_for_update().filter(
        user=user, used_at__isnull=True, expires_at__gt=now
    )
    for login_code in live:
        if check_password(code, login_code.code_hash):
            login_code.used_at = now
            login_code.save(update_fields=["used_at"])
            return True
    return False


def _check_may_reset(*, actor: User, villager: Villager) -> None:
    if not actor.has_perm("accounts.reset_villager_login") or not can_act_in_village(
        actor, villager.household.village_id
    ):
        raise PermissionDenied(_("You may not reset logins of villagers of this village."))


def _account_of(villager: Villager) -> User:
    """Return the villager's user account, creating one in the villager role if missing."""
    if villager.user is not None:
        return villager.user
    user = User.objects.create_user(
        username=f"villager-{villager.pk}",
        first_name=villager.name,
        village_id=villager.household.village_id,
    )
    user.set_unusable_password()
    user.save(update_fields=["password"])
    user.groups.add(Group.objects.get(name=roles.VILLAGER))
    villager.user = user
    villager.save(update_fields=["user"])
    return user


def _log(*, user: User, actor: User, kind: str) -> None:
    """Record the reset and lift any login lockout of the account, so the new secret works at once."""
    LoginReset.objects.create(user=user, reset_by=actor, reset_at=timezone.now(), kind=kind)
    axes_reset(username=lockout_username_of(user))
