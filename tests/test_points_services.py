"""Claims, approvals, reversals and balances through points.services."""

import uuid
from datetime import date

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import translation

from points.models import Balance, Claim, LedgerEntry
from points.periods import period_bounds
from points.services import claim_approve, claim_reject, claim_submit, entry_reverse
from villagers.models import Villager

from .factories import VillagerFactory, approve_and_post, rule

pytestmark = pytest.mark.django_db

ACT_DATE = date(2026, 11, 20)


def post(world, villager=None, scored_rule=None, act_date=ACT_DATE):
    claim = claim_submit(
        actor=world.recorder,
        villager=villager or world.villager,
        rule=scored_rule or rule("volunteer"),
        act_date=act_date,
    )
    return approve_and_post(actor=world.approver, claim_id=claim.pk)


def assert_balances_match_ledger():
    """Every stored balance equals the sum of the entries it covers."""
    for balance in Balance.objects.all():
        entries = LedgerEntry.objects.all()
        if balance.villager_id:
            entries = entries.filter(villager_id=balance.villager_id)
        else:
            entries = entries.filter(household_id=balance.household_id)
        if balance.period_kind != Balance.PeriodKind.ALL:
            start, end = period_bounds(balance.period_kind, _period_day(balance.period))
            entries = entries.filter(act_date__gte=start, act_date__lte=end)
        total = entries.aggregate(total=Sum("points"))["total"] or 0
        assert balance.points == total, balance
        assert balance.entry_count == entries.count(), balance


def _period_day(period: str) -> date:
    if "-Q" in period:
        year, quarter = period.split("-Q")
        return date(int(year), (int(quarter) - 1) * 3 + 1, 1)
    if "-" in period:
        year, month = period.split("-")
        return date(int(year), int(month), 1)
    return date(int(period), 1, 1)


def test_approval_posts_entry_and_balances(world):
    scored_rule = rule("volunteer")
    entry = post(world, scored_rule=scored_rule)

    assert entry.points == scored_rule.points
    assert entry.villager_name == world.villager.name
    assert entry.category_name == scored_rule.category.name
    assert entry.idempotency_key == f"claim:{entry.claim_id}"
    periods = set(Balance.objects.filter(villager=world.villager).values_list("period", flat=True))
    assert periods == {"2026-11", "2026-Q4", "2026", "all"}
    assert (
        Balance.objects.get(household=world.household_a1, period="all", account="honour").points
        == scored_rule.points
    )
    assert_balances_match_ledger()


def test_household_sums_its_members(world):
    post(world, villager=world.villager)
    post(world, villager=world.spouse)
    post(world, villager=world.neighbour)

    household_total = Balance.objects.get(household=world.household_a1, period="2026").points
    assert household_total == 2 * rule("volunteer").points
    assert_balances_match_ledger()


def test_same_submission_key_records_once(world):
    key = uuid.uuid4()
    first = claim_submit(
        actor=world.recorder,
        villager=world.villager,
        rule=rule("volunteer"),
        act_date=ACT_DATE,
        submission_key=key,
    )
    second = claim_submit(
        actor=world.recorder,
        villager=world.villager,
        rule=rule("volunteer"),
        act_date=ACT_DATE,
        submission_key=key,
    )
    assert first.pk == second.pk
    assert Claim.objects.count() == 1


def test_claim_approved_once(world):
    entry = post(world)
    with translation.override("en"), pytest.raises(ValidationError) as error:
        claim_approve(actor=world.second_approver, claim_id=entry.claim_id)
    assert error.value.messages == ["This claim has already been decided (Posted)."]
    assert LedgerEntry.objects.count() == 1


def test_recorder_cannot_approve_own_claim(world):
    claim = claim_submit(
        actor=world.village_admin,
        villager=world.villager,
        rule=rule("volunteer"),
        act_date=ACT_DATE,
    )
    with translation.override("en"), pytest.raises(PermissionDenied) as error:
        claim_approve(actor=world.village_admin, claim_id=claim.pk)
    assert str(error.value) == "Claims you recorded yourself must be approved by someone else."


@pytest.mark.parametrize("persona", ["secretary_a1", "recorder", "villager_user", "outsider"])
def test_roles_that_cannot_approve(world, persona):
    claim = claim_submit(
        actor=world.village_admin,
        villager=world.villager,
        rule=rule("volunteer"),
        act_date=ACT_DATE,
    )
    with pytest.raises(PermissionDenied):
        claim_approve(actor=getattr(world, persona), claim_id=claim.pk)
    assert not LedgerEntry.objects.exists()


@pytest.mark.parametrize("persona", ["villager_user", "outsider", "township_viewer"])
def test_roles_that_cannot_record(world, persona):
    with pytest.raises(PermissionDenied):
        claim_submit(
            actor=getattr(world, persona),
            villager=world.villager,
            rule=rule("volunteer"),
            act_date=ACT_DATE,
        )


def test_moved_out_villager_gets_no_claim(world):
    moved = VillagerFactory(household=world.household_a1, status=Villager.Status.MOVED_OUT)
    with translation.override("en"), pytest.raises(ValidationError) as error:
        claim_submit(
            actor=world.recorder, villager=moved, rule=rule("volunteer"), act_date=ACT_DATE
        )
    assert error.value.messages == [
        f"{moved.name} is not an active villager; points can be recorded only for active villagers."
    ]


def test_cap_refuses_points_over_limit(world):
    capped = rule("courtyard").__class__.objects.get(
        title="门前三包落实到位"
    )  # 2 points, cap 2/month
    post(world, scored_rule=capped, act_date=date(2026, 11, 3))
    claim = claim_submit(
        actor=world.recorder, villager=world.villager, rule=capped, act_date=date(2026, 11, 25)
    )
    with translation.override("en"), pytest.raises(ValidationError) as error:
        claim_approve(actor=world.approver, claim_id=claim.pk)
    assert error.value.messages == [
        f"{world.villager.name} already has 2 of the 2 points this rule allows per month; "
        "this claim would go over the cap."
    ]
    post(world, scored_rule=capped, act_date=date(2026, 12, 1))
    assert LedgerEntry.objects.filter(rule=capped).count() == 2


def test_reject_needs_reason(world):
    claim = claim_submit(
        actor=world.recorder, villager=world.villager, rule=rule("volunteer"), act_date=ACT_DATE
    )
    with translation.override("en"), pytest.raises(ValidationError) as error:
        claim_reject(actor=world.approver, claim_id=claim.pk, reason="  ")
    assert error.value.messages == ["Give a reason for rejecting the claim."]
    claim_reject(actor=world.approver, claim_id=claim.pk, reason="照片不清楚")
    claim.refresh_from_db()
    assert claim.status == Claim.Status.REJECTED
    assert not LedgerEntry.objects.exists()


def test_reversal_cancels_original_once(world):
    deduction = rule("waste", points=-2)
    entry = post(world, scored_rule=deduction)

    reversal = entry_reverse(actor=world.approver, entry_id=entry.pk, reason="误扣")

    assert reversal.points == 2
    assert reversal.reverses == entry
    assert reversal.act_date == entry.act_date
    assert Balance.objects.get(villager=world.villager, period="2026-11").points == 0
    with translation.override("en"), pytest.raises(ValidationError) as error:
        entry_reverse(actor=world.approver, entry_id=entry.pk, reason="again")
    assert error.value.messages == ["This entry has already been reversed."]
    with translation.override("en"), pytest.raises(ValidationError) as error:
        entry_reverse(actor=world.approver, entry_id=reversal.pk, reason="again")
    assert error.value.messages == ["A reversing entry cannot itself be reversed."]
    assert_balances_match_ledger()


def test_recorder_cannot_reverse(world):
    entry = post(world)
    with pytest.raises(PermissionDenied):
        entry_reverse(actor=world.recorder, entry_id=entry.pk, reason="x")


def test_entry_cannot_be_edited_or_deleted(world):
    entry = post(world)
    entry.points = 100
    with pytest.raises(ValidationError):
        entry.save()
    with pytest.raises(ValidationError):
        entry.delete()
    with pytest.raises(ValidationError):
        LedgerEntry.objects.filter(pk=entry.pk).update(points=100)
    with pytest.raises(ValidationError):
        LedgerEntry.objects.filter(pk=entry.pk).delete()
    assert LedgerEntry.objects.get(pk=entry.pk).points == rule("volunteer").points


def test_database_refuses_second_reversal(world):
    entry = post(world)
    entry_reverse(actor=world.approver, entry_id=entry.pk, reason="误录")
    duplicate = LedgerEntry(
        kind=LedgerEntry.Kind.REVERSAL,
        villager=entry.villager,
        household=entry.household,
        village=entry.village,
        category=entry.category,
        rule=entry.rule,
        points=-entry.points,
        act_date=entry.act_date,
        villager_name=entry.villager_name,
        category_name=entry.category_name,
        rule_title=entry.rule_title,
        reverses=entry,
        idempotency_key="bypass",
        recorded_by=world.approver,
        approved_by=world.approver,
        posted_at=entry.posted_at,
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        duplicate.save()


def test_database_refuses_duplicate_id_number(world):
    with pytest.raises(IntegrityError), transaction.atomic():
        VillagerFactory(
            household=world.household_a2, id_number_digest=world.villager.id_number_digest
        )
