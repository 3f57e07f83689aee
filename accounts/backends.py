"""Sign villagers in by their phone number with a password or a one-time code."""

import logging
import re

from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache

from villagers.models import User, Villager
from villagers.roster.normalising import phone_of

from .services import login_code_redeem

logger = logging.getLogger(__name__)

_MOBILE = re.compile(r"^1\d{10}$")

# Failed logins allowed per phone number within the window; further logins are rejected.
MAX_FAILURES = 5
FAILURE_WINDOW_SECONDS = 15 * 60


class PhoneBackend(ModelBackend):
    """Find the user through the villager's phone, then check a password or a login code.

    Family members may share a phone; each of their accounts is tried. After
    ``MAX_FAILURES`` failures in the window, every login with the number is
    rejected until the window ends, whatever is typed.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        phone = phone_of(username or "")
        if not _MOBILE.match(phone) or not password:
            return None
        if failures_of(phone) >= MAX_FAILURES:
            logger.warning("login rejected: too many failures for phone ending %s", phone[-4:])
            return None
        for user in _accounts_for_phone(phone):
            if not self.user_can_authenticate(user):
                continue
            if user.check_password(password) or login_code_redeem(user=user, code=password):
                cache.delete(_failure_key(phone))
                return user
        _count_failure(phone)
        return None


def failures_of(phone: str) -> int:
    return int(cache.get(_failure_key(phone), 0))


def _accounts_for_phone(phone: str) -> list[User]:
    return list(
        User.objects.filter(
            villager__phone=phone, villager__status=Villager.Status.ACTIVE
        ).order_by("pk")
    )


def _failure_key(phone: str) -> str:
    return f"login-failures:{phone}"


def _count_failure(phone: str) -> None:
    key = _failure_key(phone)
    cache.add(key, 0, FAILURE_WINDOW_SECONDS)
    cache.incr(key)
