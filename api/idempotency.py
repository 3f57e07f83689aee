"""Idempotency-Key handling for the write endpoints.

The first successful response to a key is stored with a digest of its
request. A retry with the same key and body gets that response back and
changes nothing; the same key with another body is rejected with 422. A
request that fails stores nothing, so the client may correct it and send it
again under the same key.

A record older than API_IDEMPOTENCY_DAYS no longer counts: a retry after
that runs the request again. The nightly task ``purge_idempotency_records``
deletes such records, and a key sent again deletes its own at once.
"""

import hashlib
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, connection, transaction
from django.db.models import JSONField, OuterRef, QuerySet, Subquery
from django.db.models.functions import JSONObject
from django.http import HttpRequest
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.response import Response

from .exceptions import IdempotencyKeyReused
from .models import IDEMPOTENCY_KEY_MAX_LENGTH, IdempotencyRecord

HEADER = "Idempotency-Key"
# Visible ASCII characters only, so that a key reads the same in logs and in the admin.
_KEY_SHAPE = re.compile(r"^[\x21-\x7e]+$")

# Marks that authentication did not load the key's record, so it must be queried.
_NOT_LOADED = object()

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
        if not _record_store(request, key=key, digest=digest, status=status, body=body):
            # A concurrent request with this key stored its response first:
            # undo this request's writes and send that response instead.
            transaction.set_rollback(True)
            lost_race = True
    if lost_race:
        return _replay(IdempotencyRecord.objects.get(user=request.user, key=key), digest)
    return Response(body, status=status)


def _record_store(request: Request, *, key: str, digest: str, status: int, body: dict) -> bool:
    """Insert the record of this key unless one exists; return whether it was inserted.

    ON CONFLICT DO NOTHING lets the unique constraint decide a race without
    the savepoint that catching IntegrityError would need, which saves two
    statements on every write.
    """
    if connection.vendor != "postgresql":
        return _record_store_portable(request, key=key, digest=digest, status=status, body=body)
    # The table name comes from the model; every value is a parameter.
    table = connection.ops.quote_name(IdempotencyRecord._meta.db_table)
    insert = f"INSERT INTO {table} "
    with connection.cursor() as cursor:
        cursor.execute(
            insert + "(user_id, key, request_hash, status_code, response_body, created_at) "
            "VALUES (%s, %s, %s, %s, %s::jsonb, %s) "
            "ON CONFLICT (user_id, key) DO NOTHING RETURNING id",
            [
                request.user.pk,
                key,
                digest,
                status,
                json.dumps(body, cls=DjangoJSONEncoder),
                timezone.now(),
            ],
        )
        return cursor.fetchone() is not None


def _record_store_portable(
    request: Request, *, key: str, digest: str, status: int, body: dict
) -> bool:
    """Insert the record on databases without the PostgreSQL cast, such as the SQLite demo."""
    try:
        with transaction.atomic():
            IdempotencyRecord.objects.create(
                user=request.user,
                key=key,
                request_hash=digest,
                status_code=status,
                response_body=json.loads(json.dumps(body, cls=DjangoJSONEncoder)),
            )
    except IntegrityError:
        return False
    return True


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


def with_idempotency_record(queryset: QuerySet, request: HttpRequest) -> QuerySet:
    """Annotate rows that have a ``user_id`` with the record of the request's Idempotency-Key.

    Token authentication uses this to load the record in its own query. A
    request that reads, or that sends no valid key, is left as it is.
    """
    key = request.headers.get(HEADER)
    if request.method in SAFE_METHODS or not key or not _KEY_SHAPE.match(key):
        return queryset
    record = IdempotencyRecord.objects.filter(user_id=OuterRef("user_id"), key=key).values(
        data=JSONObject(
            id="id",
            request_hash="request_hash",
            status_code="status_code",
            response_body="response_body",
            created_at="created_at",
        )
    )[:1]
    return queryset.annotate(idempotency_record=Subquery(record, output_field=JSONField()))


def _stored_record(request: Request, key: str) -> IdempotencyRecord | None:
    """Return the live record of this key, deleting one older than API_IDEMPOTENCY_DAYS."""
    record = _preloaded_record(request)
    if record is _NOT_LOADED:
        record = IdempotencyRecord.objects.filter(user=request.user, key=key).first()
    if record is None:
        return None
    oldest = timezone.now() - timedelta(days=settings.API_IDEMPOTENCY_DAYS)
    if record.created_at < oldest:
        record.delete()
        return None
    return record


def _preloaded_record(request: Request):
    """Return the record that authentication loaded, None if it found none, else _NOT_LOADED."""
    if not hasattr(request.auth, "idempotency_record"):
        return _NOT_LOADED
    data = request.auth.idempotency_record
    if data is None:
        return None
    if isinstance(data, str):
        data = json.loads(data)
    return IdempotencyRecord(
        id=data["id"],
        user=request.user,
        key=request.headers[HEADER],
        request_hash=data["request_hash"],
        status_code=data["status_code"],
        response_body=_json_value(data["response_body"]),
        created_at=_aware_datetime(data["created_at"]),
    )


def _json_value(value):
    """Return the stored body as data: SQLite's JSONObject nests a JSON column as text."""
    return json.loads(value) if isinstance(value, str) else value


def _aware_datetime(value: str | datetime) -> datetime:
    """Return the stored time as an aware datetime, however the database wrote it in JSON.

    PostgreSQL writes an ISO time with its offset. SQLite keeps datetimes as
    naive UTC text, which JSONObject passes on as it is.
    """
    moment = parse_datetime(value) if isinstance(value, str) else value
    if moment is None:
        raise ValueError(f"Unreadable time in an idempotency record: {value!r}")
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, UTC)
    return moment


def idempotency_records_delete_expired(*, now: datetime) -> int:
    """Delete the records older than API_IDEMPOTENCY_DAYS and return how many there were."""
    oldest = now - timedelta(days=settings.API_IDEMPOTENCY_DAYS)
    deleted, _by_model = IdempotencyRecord.objects.filter(created_at__lt=oldest).delete()
    return deleted


def _replay(record: IdempotencyRecord, digest: str) -> Response:
    if record.request_hash != digest:
        raise IdempotencyKeyReused()
    response = Response(record.response_body, status=record.status_code)
    response["Idempotent-Replayed"] = "true"
    return response
