"""Sign villagers in by their phone number with a password or a one-time code.

Repeated failures are limited by django-axes (see accounts.lockout), which
counts a phone number and its account's username as one account.
"""

from django.contrib.auth.backends import ModelBackend

from villagers.models import User, Villager
from villagers.roster.normalising import phone_of

from .lockout import MOBILE
from .services import login_code_redeem


class PhoneBackend(ModelBackend):
    """Find the user through the villager's phone, then check a password or a login code.

    Family members may share a phone; each of their accounts is tried.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        phone = phone_of(username or "")
        if not MOBILE.match(phone) or not password:
            return None
        for user in _accounts_for_phone(phone):
            if not self.user_can_authenticate(user):
                continue
            if user.check_password(password) or login_code_redeem(user=user, code=password):
                return user
        return None


def _accounts_for_phone(phone: str) -> list[User]:
    return list(
        User.objects.filter(
            villager__phone=phone, villager__status=Villager.Status.ACTIVE
        ).order_by("pk")
    )
