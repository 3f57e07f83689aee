"""Issuing and revoking API tokens."""

import logging
from datetime import timedelta

from django.db import transaction
from knox.models import AuthToken

from villagers.models import User

from .models import TokenGrant

logger = logging.getLogger(__name__)


@transaction.atomic
def token_issue(
    *, actor: User | None, user: User, days: int, can_write: bool, note: str = ""
) -> tuple[AuthToken, str]:
    """Create a token for ``user`` that expires after ``days`` and return it with its secret.

    Only the digest is stored, so the returned secret cannot be shown again.
    ``actor`` is None when the token is issued from the command line.
    """
    auth_token, secret = AuthToken.objects.create(user=user, expiry=timedelta(days=days))
    TokenGrant.objects.create(token=auth_token, can_write=can_write, note=note, issued_by=actor)
    logger.info(
        "API token %s issued for user %s, write=%s, expires %s",
        auth_token.token_key,
        user.pk,
        can_write,
        auth_token.expiry,
    )
    return auth_token, secret


@transaction.atomic
def token_revoke(*, token_key: str) -> int:
    """Delete the tokens whose key prefix is ``token_key`` and return how many there were."""
    deleted = 0
    for auth_token in AuthToken.objects.select_for_update().filter(token_key=token_key):
        user_id = auth_token.user_id
        auth_token.delete()
        deleted += 1
        logger.info("API token %s of user %s revoked", token_key, user_id)
    return deleted
