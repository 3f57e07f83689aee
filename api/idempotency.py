"""Idempotency-Key handling for the write endpoints.

The first successful response to a key is stored with a digest of its
request. A retry with the same key and body gets that response back and
changes nothing; the same key with another body is rejected with 422. A
request that fails stores nothing, so the client may correct it and send it
again under the same key.

NOTE: a record is deleted only when its key is sent again after
API_IDEMPOTENCY_DAYS; keys never reused stay until a periodic cleanup exists.
"""

import hashlib
import json
import re
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response

from .exceptions import IdempotencyKeyReused
from .models import IDEMPOTENCY_KEY_MAX_LENGTH, IdempotencyRecord

HEADER = "Idempotency-Key"
# Visible ASCII characters only, so that a key reads the same in logs and in the admin.
_KEY_SHAPE = re.compile(r"^[\x21-\x7e]+$")

# A write's outcome: the HTTP status and the JSON body to send.
Outcome = tuple[int, dict]


def idempotent_response(request: Request, run: Callable[[], Outcome]) -> Response:
    """Run ``run`` once per Idempotency-Key of the user and return its response."""
    key = request.headers.get(HEADER)
    if key is None:
        status, body = run()
        return Response(body, status=status)
    _check_key(key)
    digest = _request_digest(request)

    stored = _stored_record(request, key)
    if stored is not None:
        return _replay(stored, digest)

    lost_race = False
    with transaction.atomic():
        status, body = run()
        try:
            with transaction.atomic():
                IdempotencyRecord.objects.create(
                    user=request.user,
                    key=key,
                    request_hash=digest,
                    status_code=status,
                    response_body=body,
                )
        except IntegrityError:
            # A concurrent request with this key stored its response first:
            # undo this request's writes and send that response instead.
            transaction.set_rollback(True)
            lost_race = True
    if lost_race:
        return _replay(IdempotencyRecord.objects.get(user=request.user, key=key), digest)
    return Response(body, status=status)


def _check_key(key: str) -> None:
    if not key or len(key) > IDEMPOTENCY_KEY_MAX_LENGTH or not _KEY_SHAPE.match(key):
        raise exceptions.ValidationError(
            {
                HEADER: [
                    _(
                        "The Idempotency-Key header must be 1 to %(limit)s visible ASCII "
                        "characters, such as a UUID."
                    )
                    % {"limit": IDEMPOTENCY_KEY_MAX_LENGTH}
                ]
            }
        )


def _request_digest(request: Request) -> str:
    body = json.dumps(request.data, sort_keys=True, separators=(",", ":"), default=str)
    text = f"{request.method} {request.path}\n{body}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _stored_record(request: Request, key: str) -> IdempotencyRecord | None:
    """Return the live record of this key, deleting one older than API_IDEMPOTENCY_DAYS."""
    record = IdempotencyRecord.objects.filter(user=request.user, key=key).first()
    if record is None:
        return None
    oldest = timezone.now() - timedelta(days=settings.API_IDEMPOTENCY_DAYS)
    if record.created_at < oldest:
        record.delete()
        return None
    return record


def _replay(record: IdempotencyRecord, digest: str) -> Response:
    if record.request_hash != digest:
        raise IdempotencyKeyReused()
    response = Response(record.response_body, status=record.status_code)
    response["Idempotent-Replayed"] = "true"
    return response
