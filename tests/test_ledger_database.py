"""The ledger under the database: triggers, races between real connections, reconciliation."""

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Sum

from points.models import Balance, Claim, LedgerEntry, PointsPolicy, ReconciliationRun
from points.services import (
    balances_reconcile,
    claim_approve,
    claim_post,
    claim_submit,
    entry_reverse,
    redeemable_reset,
)
from points.tasks import reconcile_balances
from villagers.models import Villager

from .factories import VillagerFactory, approve_and_post, rule

ACT_DATE = date(2026, 11, 20)
# Approvals run by this many threads at once, each with its own database
# connection, which keeps parallel test workers under PostgreSQL's default
# max_connections of 100.
THREADS = 20

transactional = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def in_thread(call):
    """Run ``call`` in a thread's own database connection, closed afterwards."""

    def run(*args):
        try:
            return call(*args)
        finally:
            connection.close()

    return run


def outcome(call):
    """Return what ``call`` returned, or the refusal it raised."""
    try:
        return call()
    except (PermissionDenied, ValidationError, IntegrityError) as error:
        return error


# --- triggers --------------------------------------------------------------------------


@pytest.fixture
def posted_entry(world):
    claim = claim_submit(
        actor=world.recorder, villager=world.villager, rule=rule("volunteer"), act_date=ACT_DATE
    )
    return approve_and_post(actor=world.approver, claim_id=claim.pk)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE points_ledgerentry SET points = points + 100",
        "UPDATE points_ledgerentry SET villager_name = 'x' WHERE id = %(id)s",
        "DELETE FROM points_ledgerentry WHERE id = %(id)s",
        "DELETE FROM points_ledgerentry",
        "TRUNCATE points_ledgerentry CASCADE",
    ],
)
def test_database_refuses_raw_change(posted_entry, statement):
    with pytest.raises(IntegrityError) as error, transaction.atomic():
        with connection.cursor() as cursor:
            # The deferred foreign-key checks of the rows this test inserted
            # would block TRUNCATE on their own; run them now.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(statement, {"id": posted_entry.pk})
    assert "points_ledgerentry is append-only" in str(error.value)
    assert LedgerEntry.objects.get(pk=posted_entry.pk).points == posted_entry.points


@pytest.mark.django_db
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE points_historicalledgerentry SET points = points + 100",
        "DELETE FROM points_historicalledgerentry",
        "TRUNCATE points_historicalledgerentry",
    ],
)
def test_database_refuses_history_change(posted_entry, statement):
    with pytest.raises(IntegrityError) as error, transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(statement)
    assert "points_historicalledgerentry is append-only" in str(error.value)
    assert posted_entry.history.get().points == posted_entry.points


@pytest.mark.django_db
def test_truncate_refused_with_flush_setting_off(posted_entry):
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('nengliangbang.test_flush', 'off', false)")
    with pytest.raises(IntegrityError), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("TRUNCATE points_ledgerentry CASCADE")
    assert LedgerEntry.objects.filter(pk=posted_entry.pk).exists()


@pytest.mark.django_db
def test_reversal_posts_instead_of_update(world, posted_entry):
    reversal = entry_reverse(actor=world.approver, entry_id=posted_entry.pk, reason="录错")
    assert reversal.kind == LedgerEntry.Kind.REVERSAL
    assert LedgerEntry.objects.aggregate(total=Sum("points"))["total"] == 0


# --- races between real connections ------------------------------------------------------


@transactional
def test_fifty_approvals_one_household_exact(world):
    PointsPolicy.objects.create(village=world.village_a, notice_days=0)
    scored = rule("volunteer", 3)
    members = [world.villager, world.spouse]
    claims = [
        claim_submit(
            actor=world.recorder,
            villager=members[number % 2],
            rule=scored,
            act_date=ACT_DATE,
        ).pk
        for number in range(50)
    ]
    approvers = [world.approver, world.second_approver]

    def approve(index):
        return claim_approve(actor=approvers[index % 2], claim_id=claims[index]).status

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        statuses = list(pool.map(in_thread(approve), range(50)))

    assert statuses == [Claim.Status.POSTED] * 50
    household = Balance.objects.get(household=world.household_a1, account="honour", period="all")
    assert household.points == 150
    assert household.entry_count == 50
    for period in ("2026-11", "2026-Q4", "2026"):
        balance = Balance.objects.get(household=world.household_a1, account="honour", period=period)
        assert balance.points == 150
    assert Balance.objects.get(villager=world.villager, account="honour", period="all").points == 75
    assert balances_reconcile(now=world_now()).mismatch_count == 0


@transactional
def test_racing_approvers_post_once(world):
    PointsPolicy.objects.create(village=world.village_a, notice_days=0)
    claim = claim_submit(
        actor=world.recorder, villager=world.villager, rule=rule("volunteer"), act_date=ACT_DATE
    )
    barrier = threading.Barrier(2)

    def approve(approver):
        barrier.wait()
        return outcome(lambda: claim_approve(actor=approver, claim_id=claim.pk))

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(in_thread(approve), [world.approver, world.second_approver]))

    posted = [result for result in results if isinstance(result, Claim)]
    refused = [result for result in results if isinstance(result, ValidationError)]
    assert len(posted) == 1
    assert len(refused) == 1
    assert LedgerEntry.objects.filter(claim=claim).count() == 1
    assert Balance.objects.get(villager=world.villager, account="honour", period="all").points == (
        rule("volunteer").points
    )


@transactional
def test_racing_posting_tasks_post_once(world):
    claim = claim_submit(
        actor=world.recorder, villager=world.villager, rule=rule("volunteer"), act_date=ACT_DATE
    )
    claim = claim_approve(actor=world.approver, claim_id=claim.pk)
    barrier = threading.Barrier(4)

    def post(_):
        barrier.wait()
        return claim_post(claim_id=claim.pk, now=claim.notice_ends_at)

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(in_thread(post), range(4)))

    assert sum(result is not None for result in results) == 1
    assert LedgerEntry.objects.filter(claim=claim).count() == 1
    assert balances_reconcile(now=world_now()).mismatch_count == 0


@transactional
def test_replayed_key_records_once(world):
    key = uuid.uuid4()
    barrier = threading.Barrier(4)

    def submit(_):
        barrier.wait()
        return claim_submit(
            actor=world.recorder,
            villager=world.villager,
            rule=rule("volunteer"),
            act_date=ACT_DATE,
            note="清理河道",
            submission_key=key,
        ).pk

    with ThreadPoolExecutor(max_workers=4) as pool:
        ids = list(pool.map(in_thread(submit), range(4)))

    assert len(set(ids)) == 1
    assert Claim.objects.count() == 1
    entry = approve_and_post(actor=world.approver, claim_id=ids[0])
    replay = claim_submit(
        actor=world.recorder,
        villager=world.villager,
        rule=rule("volunteer"),
        act_date=ACT_DATE,
        note="清理河道",
        submission_key=key,
    )
    assert replay.pk == ids[0]
    assert claim_post(claim_id=replay.pk, now=world_now()) is None
    assert LedgerEntry.objects.filter(idempotency_key=entry.idempotency_key).count() == 1
    assert LedgerEntry.objects.count() == 1


# --- reconciliation --------------------------------------------------------------------------


def post_some(world):
    for villager, points in [(world.villager, 5), (world.spouse, 3), (world.neighbour, -2)]:
        claim = claim_submit(
            actor=world.recorder,
            villager=villager,
            rule=rule("volunteer", points),
            act_date=ACT_DATE,
        )
        approve_and_post(actor=world.approver, claim_id=claim.pk)


@pytest.mark.django_db
def test_reconciliation_clean_ledger(world):
    post_some(world)
    run = balances_reconcile(now=world_now())
    assert run.mismatch_count == 0
    assert run.balances_checked == Balance.objects.count()


@pytest.mark.django_db
def test_reconciliation_finds_corrupted_balance(world, caplog):
    post_some(world)
    corrupted = Balance.objects.get(
        household=world.household_a1, account="honour", period="2026-11"
    )
    Balance.objects.filter(pk=corrupted.pk).update(points=F("points") + 1)

    run = balances_reconcile(now=world_now())

    assert run.mismatch_count == 1
    assert run.mismatches == [
        {
            "balance": corrupted.pk,
            "villager": None,
            "household": world.household_a1.pk,
            "account": "honour",
            "period": "2026-11",
            "stored_points": 9,
            "stored_entries": 2,
            "expected_points": 8,
            "expected_entries": 2,
        }
    ]
    assert (
        f"balance {corrupted.pk} (villager None, household {world.household_a1.pk}" in caplog.text
    )


@pytest.mark.django_db
def test_reconciliation_finds_missing_balance(world):
    post_some(world)
    missing = Balance.objects.get(villager=world.neighbour, account="honour", period="2026")
    Balance.objects.filter(pk=missing.pk).delete()

    run = ReconciliationRun.objects.get(pk=balances_reconcile(now=world_now()).pk)

    assert run.mismatch_count == 1
    assert run.mismatches[0]["balance"] is None
    assert run.mismatches[0]["villager"] == world.neighbour.pk
    assert run.mismatches[0]["expected_points"] == -2


@pytest.mark.django_db
def test_reconcile_task_returns_differences(world):
    post_some(world)
    Balance.objects.filter(villager=world.villager, account="redeemable").update(points=0)
    assert reconcile_balances() == 1


# --- yearly reset of redeemable points -----------------------------------------------------------


@pytest.mark.django_db
def test_redeemable_reset_once_per_year(world):
    post_some(world)
    extra = VillagerFactory(household=world.household_a2, status=Villager.Status.ACTIVE)
    new_year = world_now().replace(year=2027, month=1, day=1, hour=1)

    assert redeemable_reset(year=2027, now=new_year) == 3
    assert redeemable_reset(year=2027, now=new_year) == 0

    for villager in (world.villager, world.spouse, world.neighbour, extra):
        redeemable = Balance.objects.filter(
            villager=villager, account="redeemable", period="all"
        ).values_list("points", flat=True)
        assert list(redeemable) in ([0], [])
    honour = Balance.objects.get(villager=world.villager, account="honour", period="all")
    assert honour.points == 5
    resets = LedgerEntry.objects.filter(kind=LedgerEntry.Kind.YEAR_RESET)
    assert sorted(resets.values_list("points", flat=True)) == [-5, -3, 2]
    assert set(resets.values_list("recorded_by", flat=True)) == {None}
    assert balances_reconcile(now=new_year).mismatch_count == 0


def world_now():
    from django.utils import timezone

    return timezone.now()
