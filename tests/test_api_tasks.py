"""The nightly cleanup of Idempotency-Key records, run by a real Celery worker."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from api.models import IdempotencyRecord
from api.tasks import purge_idempotency_records

from . import test_celery_worker as celery_tests
from .test_celery_worker import get_result, start_worker

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

redis_db = celery_tests.redis_db
start_celery = celery_tests.start_celery


def record(user, key: str, age: timedelta) -> IdempotencyRecord:
    stored = IdempotencyRecord.objects.create(
        user=user, key=key, request_hash="0" * 64, status_code=201, response_body={}
    )
    # created_at is set on insert, so the age is written afterwards.
    IdempotencyRecord.objects.filter(pk=stored.pk).update(created_at=timezone.now() - age)
    return stored


def test_cleanup_scheduled_nightly():
    task = PeriodicTask.objects.get(task="api.tasks.purge_idempotency_records")
    assert task.enabled
    assert (task.crontab.hour, task.crontab.minute) == ("3", "15")


def test_worker_deletes_only_expired_records(world, settings, start_celery):
    # The worker reads the same environment, so it keeps records as long as this process.
    days = timedelta(days=settings.API_IDEMPOTENCY_DAYS)
    expired = record(world.recorder, "old", days + timedelta(minutes=1))
    fresh = record(world.recorder, "new", days - timedelta(hours=1))
    worker = start_worker(start_celery)

    assert get_result(purge_idempotency_records.delay(), timeout=60, processes=(worker,)) == 1
    assert get_result(purge_idempotency_records.delay(), timeout=60, processes=(worker,)) == 0

    remaining = set(IdempotencyRecord.objects.values_list("pk", flat=True))
    assert remaining == {fresh.pk}
    assert expired.pk not in remaining
