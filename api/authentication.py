"""Token authentication for township clients and staff apps."""

import binascii
from hmac import compare_digest

from django.contrib.auth.models import Permission
from django.contrib.postgres.expressions import ArraySubquery
from django.db import connection
from django.db.models import OuterRef, Q, QuerySet, Value
from django.db.models.functions import Concat
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from knox.auth import TokenAuthentication
from knox.crypto import hash_token
from knox.models import AuthToken
from knox.settings import CONSTANTS
from rest_framework import exceptions


class ApiTokenAuthentication(TokenAuthentication):
    """Knox tokens, checked in one query that also loads the user and the grant.

    The same query loads the user's permissions and, for a write with an
    Idempotency-Key, the response stored under that key, so that no endpoint
    needs more than six queries in all. Knox's own check runs a second query
    per request to delete the user's other expired tokens. Here an expired
    token is only rejected, and it stays visible in the admin until someone
    revokes it.
    """

    def authenticate(self, request):
        self._request = request
        try:
            return super().authenticate(request)
        finally:
            del self._request

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
        candidates = with_permissions(candidates)
        # Imported here: the idempotency module imports DRF's views, which
        # load the authentication classes named in the settings, this one included.
        from .idempotency import with_idempotency_record

        candidates = with_idempotency_record(candidates, self._request)
        now = timezone.now()
        for auth_token in candidates:
            if not compare_digest(digest, auth_token.digest):
                continue
            if auth_token.expiry is not None and auth_token.expiry <= now:
                raise invalid
            return self.validate_user(auth_token)
        raise invalid

    def validate_user(self, auth_token: AuthToken):
        user = auth_token.user
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("The token's user is deactivated."))
        permissions = getattr(auth_token, "permission_names", None)
        if permissions is not None and not user.is_superuser:
            # ModelBackend.get_all_permissions reads this cache before querying.
            user._perm_cache = set(permissions)
        return (user, auth_token)


def with_permissions(tokens: QuerySet[AuthToken]) -> QuerySet[AuthToken]:
    """Annotate each token with ``permission_names``, its user's and groups' permissions.

    The names are "app_label.codename", as ``User.has_perm`` takes them. The
    annotation needs PostgreSQL arrays; elsewhere the permissions load as usual.
    """
    if connection.vendor != "postgresql":
        return tokens
    user = OuterRef("user_id")
    names = (
        Permission.objects.filter(Q(user=user) | Q(group__user=user))
        .annotate(full_name=Concat("content_type__app_label", Value("."), "codename"))
        .values("full_name")
    )
    return tokens.annotate(permission_names=ArraySubquery(names))


def token_can_write(auth) -> bool:
    """Return whether the request's credentials allow writes.

    Only a token with a grant whose ``can_write`` is set writes. A session
    (``auth`` is None) only reads: the project's pages write through their
    own forms, and a write over a session would cost more than the six
    queries of a token write, for the session row and the permissions.
    """
    grant = getattr(auth, "api_grant", None)
    return grant is not None and grant.can_write
