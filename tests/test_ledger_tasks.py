"""The ledger's scheduled tasks, run by a real Celery worker on the test database."""

from datetime import timedelta

import pytest
from django.db.models import F
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from points.models import Balance, Claim, LedgerEntry, ReconciliationRun
from points.services import claim_approve, claim_submit
from points.tasks import flag_overdue_objections, post_due_claims, reconcile_balances

from . import test_celery_worker as celery_tests
from .factories import approve_and_post, rule
from .test_celery_worker import get_result, start_worker

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

# The worker fixtures of the Celery tests: a Redis database per xdist worker
# and real worker processes on the test database.
redis_db = celery_tests.redis_db
start_celery = celery_tests.start_celery


def test_schedules_seeded():
    tasks = set(PeriodicTask.objects.values_list("task", flat=True))
    assert {
        "points.tasks.post_due_claims",
        "points.tasks.flag_overdue_objections",
        "points.tasks.reconcile_balances",
        "points.tasks.reset_redeemable_points",
    } <= tasks


def test_worker_posts_ended_notice_once(world, start_celery):
    due = claim_submit(
        actor=world.recorder,
        villager=world.villager,
        rule=rule("volunteer"),
        act_date=timezone.localdate(),
    )
    claim_approve(actor=world.approver, claim_id=due.pk)
    Claim.objects.filter(pk=due.pk).update(notice_ends_at=timezone.now() - timedelta(minutes=1))
    waiting = claim_submit(
        actor=world.recorder,
        villager=world.spouse,
        rule=rule("volunteer"),
        act_date=timezone.localdate(),
    )
    claim_approve(actor=world.approver, claim_id=waiting.pk)
    worker = start_worker(start_celery)

    assert get_result(post_due_claims.delay(), timeout=60, processes=(worker,)) == 1
    assert get_result(post_due_claims.delay(), timeout=60, processes=(worker,)) == 0
    assert get_result(flag_overdue_objections.delay(), timeout=60, processes=(worker,)) == 0

    assert LedgerEntry.objects.filter(claim_id=due.pk).count() == 1
    assert Claim.objects.get(pk=waiting.pk).status == Claim.Status.IN_NOTICE


def test_worker_reconciliation_finds_corruption(world, start_celery):
    claim = claim_submit(
        actor=world.recorder,
        villager=world.villager,
        rule=rule("volunteer"),
        act_date=timezone.localdate(),
    )
    approve_and_post(actor=world.approver, claim_id=claim.pk)
    corrupted = Balance.objects.get(villager=world.villager, account="honour", period="all")
    Balance.objects.filter(pk=corrupted.pk).update(points=F("points") - 1)
    worker = start_worker(start_celery)

    assert get_result(reconcile_balances.delay(), timeout=60, processes=(worker,)) == 1

    run = ReconciliationRun.objects.get()
    assert run.mismatches[0]["balance"] == corrupted.pk
    assert run.mismatches[0]["stored_points"] == run.mismatches[0]["expected_points"] - 1
