"""Token authentication for township clients and staff apps."""

import binascii
from hmac import compare_digest

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from knox.auth import TokenAuthentication
from knox.crypto import hash_token
from knox.models import AuthToken
from knox.settings import CONSTANTS
from rest_framework import exceptions


class ApiTokenAuthentication(TokenAuthentication):
    """Knox tokens, checked in one query that also loads the user and the grant.

    Knox's own check runs a second query per request to delete the user's
    other expired tokens. Here an expired token is only rejected, and it
    stays visible in the admin until someone revokes it.
    """

    def authenticate_credentials(self, token: bytes):
        invalid = exceptions.AuthenticationFailed(
            _("The token is invalid, expired or revoked; ask the village office for a new one.")
        )
        try:
            text = token.decode("utf-8")
            digest = hash_token(text)
        except (UnicodeDecodeError, TypeError, binascii.Error):
            raise invalid from None
        candidates = AuthToken.objects.filter(
            token_key=text[: CONSTANTS.TOKEN_KEY_LENGTH]
        ).select_related("user", "api_grant")
        now = timezone.now()
        for auth_token in candidates:
            if not compare_digest(digest, auth_token.digest):
                continue
            if auth_token.expiry is not None and auth_token.expiry <= now:
                raise invalid
            return self.validate_user(auth_token)
        raise invalid

    def validate_user(self, auth_token: AuthToken):
        if not auth_token.user.is_active:
            raise exceptions.AuthenticationFailed(_("The token's user is deactivated."))
        return (auth_token.user, auth_token)


def token_can_write(auth) -> bool:
    """Return whether the request's credentials allow writes.

    A session (``auth`` is None) writes with its user's permissions. A token
    writes only with a grant whose ``can_write`` is set.
    """
    if auth is None:
        return True
    grant = getattr(auth, "api_grant", None)
    return grant is not None and grant.can_write
