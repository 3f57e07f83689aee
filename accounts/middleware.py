"""Session lifetimes that depend on who is signed in."""

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.utils import timezone

# Seconds between two moves of a staff session's expiry. Moving it saves the
# session, so doing it on every request would cost a write per page.
REFRESH_INTERVAL_SECONDS = 60
_REFRESHED_AT = "idle_refreshed_at"


class SessionIdleMiddleware:
    """End a staff session after ``STAFF_SESSION_IDLE_MINUTES`` without a request.

    A staff request moves the session's expiry forward when the last move is
    more than ``REFRESH_INTERVAL_SECONDS`` old, so a session ends between
    ``STAFF_SESSION_IDLE_MINUTES`` minus that interval and
    ``STAFF_SESSION_IDLE_MINUTES`` after the last request. Villagers keep the
    default lifetime, ``SESSION_COOKIE_AGE`` from the login.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        # Read after the view, so that the login request itself starts the clock.
        session = getattr(request, "session", None)
        if session is None or SESSION_KEY not in session:
            return response  # no session login, such as an API call with a token
        if request.user.is_staff and _refresh_due(session):
            _refresh(session)
        return response


@receiver(user_logged_in, dispatch_uid="accounts.staff_idle_clock")
def start_idle_clock(sender, request, user, **kwargs):
    """Give a staff login the idle expiry at once, whichever view or test logged it in."""
    if user.is_staff and request is not None and hasattr(request, "session"):
        _refresh(request.session)


def _refresh_due(session) -> bool:
    refreshed_at = session.get(_REFRESHED_AT)
    if refreshed_at is None:
        return True
    return timezone.now().timestamp() - refreshed_at >= REFRESH_INTERVAL_SECONDS


def _refresh(session) -> None:
    session.set_expiry(settings.STAFF_SESSION_IDLE_MINUTES * 60)
    session[_REFRESHED_AT] = timezone.now().timestamp()
