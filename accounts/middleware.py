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
# Timestamp until which a running patrol keeps the session alive.
_PATROL_UNTIL = "patrol_session_until"


class SessionIdleMiddleware:
    """End a staff session after ``STAFF_SESSION_IDLE_MINUTES`` without a request.

    A staff request moves the session's expiry forward when the last move is
    more than ``REFRESH_INTERVAL_SECONDS`` old, so a session ends between
    ``STAFF_SESSION_IDLE_MINUTES`` minus that interval and
    ``STAFF_SESSION_IDLE_MINUTES`` after the last request, unless a running
    patrol extends it (``session_hold_for_patrol``). Villagers keep the default
    lifetime, ``SESSION_COOKIE_AGE`` from the login.
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
    now = timezone.now().timestamp()
    idle = settings.STAFF_SESSION_IDLE_MINUTES * 60
    patrol_left = session.get(_PATROL_UNTIL, 0) - now
    session.set_expiry(int(max(idle, patrol_left)))
    session[_REFRESHED_AT] = now


def session_hold_for_patrol(session) -> None:
    """Keep a staff session for up to STAFF_PATROL_SESSION_HOURS while its patrol runs.

    A district secretary walks the district for an hour or more without
    touching the phone, and must still be signed in to stop the patrol.
    """
    hold = settings.STAFF_PATROL_SESSION_HOURS * 3600
    session[_PATROL_UNTIL] = timezone.now().timestamp() + hold
    _refresh(session)


def session_release_patrol(session) -> None:
    """Return a session to the idle limit once its patrol has stopped."""
    session.pop(_PATROL_UNTIL, None)
    _refresh(session)
