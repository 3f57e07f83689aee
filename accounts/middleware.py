"""Session lifetimes that depend on who is signed in."""

from django.conf import settings


class SessionIdleMiddleware:
    """End a staff session after ``STAFF_SESSION_IDLE_MINUTES`` without a request.

    Each staff request moves the session's expiry forward, so only idle time
    counts. Villagers keep the default lifetime, ``SESSION_COOKIE_AGE``.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        # Read after the view, so that the login request itself sets the expiry.
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.is_staff:
            request.session.set_expiry(settings.STAFF_SESSION_IDLE_MINUTES * 60)
        return response
