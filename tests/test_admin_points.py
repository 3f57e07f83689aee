"""Recording, approving and reversing points through the Chinese staff screens."""

import uuid
from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from points.models import Balance, Claim, LedgerEntry
from points.services import claim_post, claim_submit

from .factories import approve_and_post, rule

pytestmark = pytest.mark.django_db

ACT_DATE = date(2026, 11, 20)


def add_claim(client, villager, scored_rule, key=None):
    return client.post(
        reverse("admin:points_claim_add"),
        {
            "villager": villager.pk,
            "rule": scored_rule.pk,
            "act_date": ACT_DATE.isoformat(),
            "note": "",
            "form_key": str(key or uuid.uuid4()),
        },
    )


def run_action(client, model, action, ids, reason=""):
    return client.post(
        reverse(f"admin:points_{model}_changelist"),
        {"action": action, "_selected_action": ids, "reason": reason},
        follow=True,
    )


def test_recorder_adds_claim_once(client, world):
    client.force_login(world.recorder)
    key = uuid.uuid4()
    scored_rule = rule("volunteer")

    first = add_claim(client, world.villager, scored_rule, key)
    second = add_claim(client, world.villager, scored_rule, key)

    assert first.status_code == 302
    assert second.status_code == 302
    assert Claim.objects.filter(villager=world.villager).count() == 1
    claim = Claim.objects.get()
    assert claim.recorded_by == world.recorder
    assert claim.history.first().history_user == world.recorder


def test_claim_form_rejects_future_date(client, world):
    client.force_login(world.recorder)
    response = client.post(
        reverse("admin:points_claim_add"),
        {
            "villager": world.villager.pk,
            "rule": rule("volunteer").pk,
            "act_date": "2999-01-01",
            "form_key": str(uuid.uuid4()),
        },
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    assert "The date of the act is in the future; enter the day it happened." in response.text
    assert not Claim.objects.exists()


def test_approval_puts_claim_on_notice(client, world):
    scored_rule = rule("volunteer")
    claim = claim_submit(
        actor=world.recorder, villager=world.villager, rule=scored_rule, act_date=ACT_DATE
    )
    client.force_login(world.approver)

    response = run_action(client, "claim", "approve", [claim.pk])

    assert response.status_code == 200
    claim.refresh_from_db()
    assert claim.status == Claim.Status.IN_NOTICE
    assert claim.notice_ends_at - claim.notice_starts_at == timedelta(days=3)
    assert not LedgerEntry.objects.exists()

    claim_post(claim_id=claim.pk, now=claim.notice_ends_at)

    entry = LedgerEntry.objects.get()
    assert entry.claim == claim
    assert entry.points == scored_rule.points
    assert entry.recorded_by == world.recorder
    assert entry.approved_by == world.approver
    assert entry.household == world.villager.household
    balance = Balance.objects.get(villager=world.villager, period="2026-11")
    assert balance.points == scored_rule.points
    household_year = Balance.objects.get(household=world.villager.household, period="2026")
    assert household_year.points == scored_rule.points


@pytest.mark.parametrize("persona", ["secretary_a1", "recorder"])
def test_non_approvers_cannot_approve(client, world, persona):
    claim = claim_submit(
        actor=world.village_admin,
        villager=world.villager,
        rule=rule("volunteer"),
        act_date=ACT_DATE,
    )
    client.force_login(getattr(world, persona))

    run_action(client, "claim", "approve", [claim.pk])

    claim.refresh_from_db()
    assert claim.status == Claim.Status.SUBMITTED
    assert not LedgerEntry.objects.exists()


def test_recorder_cannot_approve_own_claim(client, world):
    claim = claim_submit(
        actor=world.village_admin,
        villager=world.villager,
        rule=rule("volunteer"),
        act_date=ACT_DATE,
    )
    client.force_login(world.village_admin)

    response = run_action(client, "claim", "approve", [claim.pk])

    assert not LedgerEntry.objects.exists()
    assert "必须由他人审核" in response.text or "must be approved by someone else" in response.text


def test_reverse_entry_adds_reversal(client, world):
    scored_rule = rule("volunteer")
    claim = claim_submit(
        actor=world.recorder, villager=world.villager, rule=scored_rule, act_date=ACT_DATE
    )
    entry = approve_and_post(actor=world.approver, claim_id=claim.pk)
    client.force_login(world.approver)

    run_action(client, "ledgerentry", "reverse", [entry.pk], reason="记错人")
    again = run_action(client, "ledgerentry", "reverse", [entry.pk], reason="再次")

    assert LedgerEntry.objects.count() == 2
    reversal = LedgerEntry.objects.get(reverses=entry)
    assert reversal.points == -entry.points
    original = LedgerEntry.objects.get(pk=entry.pk)
    assert original.points == entry.points
    assert Balance.objects.get(villager=world.villager, period="all", account="honour").points == 0
    assert again.status_code == 200
    assert LedgerEntry.objects.count() == 2


def test_villager_cannot_open_admin(client, world):
    client.force_login(world.villager_user)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))


def test_outsider_sees_no_claims_of_other_village(client, world):
    claim_submit(
        actor=world.recorder, villager=world.villager, rule=rule("volunteer"), act_date=ACT_DATE
    )
    client.force_login(world.outsider)

    response = client.get(reverse("admin:points_claim_changelist"))

    assert response.status_code == 200
    assert world.villager.name not in response.text


def test_outsider_cannot_add_claim_for_other_village(client, world):
    client.force_login(world.outsider)
    response = add_claim(client, world.villager, rule("volunteer"))
    assert response.status_code == 200
    assert not Claim.objects.exists()


def test_admin_speaks_chinese_by_default(client, world):
    client.force_login(world.village_admin)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    assert "能量积分" in response.text
    assert "积分申报" in response.text
    assert "模型名称" in response.text
    assert "Model name" not in response.text


# --- objections, rule versions, policies, reconciliation ------------------------------------


def objected_claim(world):
    from points.services import claim_approve, objection_raise

    claim = claim_submit(
        actor=world.recorder, villager=world.neighbour, rule=rule("volunteer"), act_date=ACT_DATE
    )
    claim_approve(actor=world.approver, claim_id=claim.pk)
    return objection_raise(actor=world.villager_user, claim_id=claim.pk, reason="不属实")


def test_approver_upholds_objection_in_queue(client, world):
    from points.models import Objection

    objection = objected_claim(world)
    client.force_login(world.approver)

    queue = client.get(reverse("admin:points_objection_changelist"))
    assert queue.status_code == 200
    assert "不属实" in queue.text
    client.post(
        reverse("admin:points_objection_changelist"),
        {"action": "uphold", "_selected_action": [objection.pk], "note": "核实虚报"},
        follow=True,
    )

    objection.refresh_from_db()
    assert objection.status == Objection.Status.UPHELD
    assert objection.decision_note == "核实虚报"
    assert objection.claim.status == Claim.Status.WITHDRAWN


def test_objection_queue_hidden_from_outsider(client, world):
    objected_claim(world)
    client.force_login(world.outsider)
    response = client.get(reverse("admin:points_objection_changelist"))
    assert "不属实" not in response.text


def test_overdue_filter_lists_late_objections(client, world):
    from points.models import Objection

    objection = objected_claim(world)
    Objection.objects.filter(pk=objection.pk).update(
        review_deadline=objection.raised_at - timedelta(days=1)
    )
    client.force_login(world.village_admin)
    response = client.get(reverse("admin:points_objection_changelist") + "?overdue=yes")
    assert "不属实" in response.text


def test_changing_used_rule_makes_version(client, world, django_user_model):
    superuser = django_user_model.objects.create_superuser("root", password="x")
    scored = rule("volunteer", 5)
    approve_and_post(
        actor=world.approver,
        claim_id=claim_submit(
            actor=world.recorder, villager=world.villager, rule=scored, act_date=ACT_DATE
        ).pk,
    )
    client.force_login(superuser)
    url = reverse("admin:points_rule_change", args=[scored.pk])
    form = {
        "points": 8,
        "cap": "",
        "cap_period": "",
        "cap_scope": "villager",
        "second_approval_above": "",
        "note": "",
        "self_claim": "",
    }

    missing = client.post(url, form, HTTP_ACCEPT_LANGUAGE="en")
    assert "enter the day it applies from" in missing.text

    response = client.post(url, {**form, "new_version_from": "2026-12-01"})
    assert response.status_code == 302
    scored.refresh_from_db()
    assert (scored.points, scored.valid_to) == (5, date(2026, 11, 30))
    new = scored.next_version
    assert (new.points, new.version, new.valid_from) == (8, 2, date(2026, 12, 1))
    assert LedgerEntry.objects.get().rule == scored


def test_reconciliation_runs_for_superusers_only(client, world, django_user_model):
    from points.services import balances_reconcile

    balances_reconcile(now=timezone.now())
    client.force_login(world.village_admin)
    assert client.get(reverse("admin:points_reconciliationrun_changelist")).status_code == 403
    client.force_login(django_user_model.objects.create_superuser("root", password="x"))
    assert client.get(reverse("admin:points_reconciliationrun_changelist")).status_code == 200


def test_village_admin_sets_notice_days(client, world):
    from points.models import PointsPolicy

    policy = PointsPolicy.objects.create(village=world.village_a)
    client.force_login(world.village_admin)
    response = client.post(
        reverse("admin:points_pointspolicy_change", args=[policy.pk]),
        {"village": world.village_a.pk, "notice_days": 0, "objection_review_days": 5},
    )
    assert response.status_code == 302
    policy.refresh_from_db()
    assert (policy.notice_days, policy.objection_review_days) == (0, 5)
