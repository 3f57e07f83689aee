"""Request rate limits per API client."""

from rest_framework.throttling import SimpleRateThrottle


class TokenRateThrottle(SimpleRateThrottle):
    """Limit each token, or each signed-in session user, to the ``api_client`` rate.

    Counters live in the default cache (Redis when REDIS_URL is set), so every
    web process shares them. A token is identified by its key prefix, which is
    unique per token, and never by the secret itself.
    """

    scope = "api_client"

    def get_cache_key(self, request, view) -> str | None:
        token_key = getattr(request.auth, "token_key", None)
        if token_key:
            ident = f"token:{token_key}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"anonymous:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
