"""Login lockout through django-axes: one count per account, whichever name is typed.

Staff type their username and villagers their phone number into the same
field. Both name one account, so both count towards one lockout: a phone that
is locked cannot be tried through its account's username, and the other way
round. Names that match no account are counted under a digest of what was
typed, so a mistyped ID number never reaches the database or the logs.
"""

import hashlib
import hmac
import re
from datetime import datetime
from http import HTTPStatus

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_cool_off
from django.conf import settings
from django.db.models import Max, QuerySet, Sum
from django.shortcuts import render
from django.utils import timezone

from villagers.models import User, Villager
from villagers.roster.normalising import phone_of

MOBILE = re.compile(r"^1\d{10}$")


def lockout_username(request, credentials: dict | None) -> str:
    """Return the name under which axes counts the failures of this login."""
    typed = (credentials or {}).get("username")
    if typed is None and request is not None:
        typed = request.POST.get("username")
    typed = str(typed or "").strip()

    phone = phone_of(typed)
    if MOBILE.match(phone):
        return _digest("phone", phone)
    user = User.objects.filter(username=typed).only("pk").first()
    if user is None:
        return _digest("unknown", typed)
    account_phone = (
        Villager.objects.filter(user=user).exclude(phone="").values_list("phone", flat=True).first()
    )
    return _digest("phone", account_phone) if account_phone else user.username


def lockout_username_of(user: User) -> str:
    """Return the lockout name of an existing account, as a login with its username would."""
    return lockout_username(None, {"username": user.username})


def _digest(kind: str, value: str) -> str:
    key = settings.PERSONAL_DATA_KEY.encode()
    digest = hmac.new(key, value.encode(), hashlib.sha256).hexdigest()
    return f"{kind}-{digest[:32]}"


def client_ip(request) -> str | None:
    """Return the client's address, read from X-Forwarded-For only behind trusted proxies.

    Each trusted proxy appends the address it received the request from, so
    the client's address is the ``TRUSTED_PROXY_COUNT``-th entry from the right.
    """
    remote = request.META.get("REMOTE_ADDR")
    count = settings.TRUSTED_PROXY_COUNT
    if not count:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [part for part in forwarded if part]
    if len(forwarded) < count:
        return remote
    return forwarded[-count]


class AccountLockoutHandler(AxesDatabaseHandler):
    """Lock a name and address pair after ``AXES_FAILURE_LIMIT`` failures, and a name
    after ``LOGIN_ACCOUNT_FAILURE_LIMIT`` failures from all addresses together.

    Axes compares one failure count with one limit. This handler reports the
    pair's count, raised to the limit once the name's count over every address
    reaches its own, larger, limit. It relies on ``AXES_LOCKOUT_PARAMETERS``
    listing the pair first and the name second.
    """

    def get_failures(self, request, credentials: dict | None = None) -> int:
        pair_attempts, account_attempts = self.get_user_attempts(request, credentials)
        pair_failures = _failures(pair_attempts)
        if _failures(account_attempts) >= settings.LOGIN_ACCOUNT_FAILURE_LIMIT:
            return max(pair_failures, settings.AXES_FAILURE_LIMIT)
        return pair_failures

    def locked_until(self, request, credentials: dict | None) -> datetime:
        """Return when the lockout ends at the latest, if no login succeeds before."""
        latest = timezone.now()
        for attempts in self.get_user_attempts(request, credentials):
            last = attempts.aggregate(last=Max("attempt_time"))["last"]
            if last is not None:
                latest = max(latest, last + get_cool_off(request))
        return latest


def _failures(attempts: QuerySet) -> int:
    return attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0


def lockout_response(request, original_response, credentials: dict | None):
    """Render the lockout page, the same whether or not the name belongs to an account."""
    until = AccountLockoutHandler().locked_until(request, credentials)
    return render(
        request,
        "registration/locked_out.html",
        {"until": timezone.localtime(until)},
        status=HTTPStatus.TOO_MANY_REQUESTS,
    )
