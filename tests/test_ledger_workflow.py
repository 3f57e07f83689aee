"""The claim workflow: notice, objections, two approvers, conflicts of interest, keys."""

import importlib
import io
import uuid
from datetime import date, timedelta

import pytest
from django.apps import apps as django_apps
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone, translation
from PIL import Image

from points.models import Balance, Claim, LedgerEntry, Objection, PointsPolicy, Rule
from points.services import (
    IdempotencyConflict,
    claim_approve,
    claim_batch_submit,
    claim_post,
    claim_reject,
    claim_submit,
    claims_post_due,
    objection_decide,
    objection_raise,
    objections_flag_overdue,
    rule_lineage,
    rule_revise,
    rule_version_on,
)
from villagers import roles

from .factories import UserFactory, VillagerFactory, rule

pytestmark = pytest.mark.django_db

ACT_DATE = date(2026, 11, 20)
# Migration modules start with a digit, so they can only be imported by name.
fill_lineage = importlib.import_module("points.migrations.0010_rule_lineage").fill_lineage


def submit(world, villager=None, scored_rule=None, **extra):
    return claim_submit(
        actor=world.recorder,
        villager=villager or world.villager,
        rule=scored_rule or rule("volunteer"),
        act_date=extra.pop("act_date", ACT_DATE),
        **extra,
    )


def on_notice(world, **extra) -> Claim:
    claim = submit(world, **extra)
    return claim_approve(actor=world.approver, claim_id=claim.pk)


def jpeg(name="photo.jpg") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), "green").save(buffer, format="JPEG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


# --- public notice and posting ---------------------------------------------------------


def test_approval_starts_notice_of_village_days(world):
    PointsPolicy.objects.create(village=world.village_a, notice_days=5)
    claim = on_notice(world)

    assert claim.status == Claim.Status.IN_NOTICE
    assert claim.notice_ends_at - claim.notice_starts_at == timedelta(days=5)
    assert claim.decided_by == world.approver
    assert not LedgerEntry.objects.exists()


def test_policy_created_with_defaults(world):
    on_notice(world)
    policy = PointsPolicy.objects.get(village=world.village_a)
    assert policy.notice_days == PointsPolicy.DEFAULT_NOTICE_DAYS
    assert policy.objection_review_days == PointsPolicy.DEFAULT_OBJECTION_REVIEW_DAYS


def test_zero_notice_days_posts_on_approval(world):
    PointsPolicy.objects.create(village=world.village_a, notice_days=0)
    claim = on_notice(world)

    assert claim.status == Claim.Status.POSTED
    entry = LedgerEntry.objects.get()
    assert entry.claim == claim
    assert entry.approved_by == world.approver
    assert entry.recorded_by == world.recorder


def test_posting_waits_for_notice_end(world):
    claim = on_notice(world)
    ends = claim.notice_ends_at

    assert claims_post_due(now=ends - timedelta(seconds=1)) == []
    assert claims_post_due(now=ends) == [claim.pk]
    assert claims_post_due(now=ends + timedelta(days=1)) == []

    claim.refresh_from_db()
    assert claim.status == Claim.Status.POSTED
    assert claim.posted_at == ends
    entry = LedgerEntry.objects.get()
    assert entry.idempotency_key == f"claim:{claim.pk}"
    assert entry.posted_at == ends


def test_posting_twice_posts_once(world):
    claim = on_notice(world)
    first = claim_post(claim_id=claim.pk, now=claim.notice_ends_at)
    second = claim_post(claim_id=claim.pk, now=claim.notice_ends_at)

    assert first is not None
    assert second is None
    assert LedgerEntry.objects.count() == 1


# --- objections ----------------------------------------------------------------------


def test_objection_holds_claim_until_decided(world):
    claim = on_notice(world)
    objection = objection_raise(
        actor=world.villager_user, claim_id=claim.pk, reason="那天他不在村里"
    )

    claim.refresh_from_db()
    assert claim.status == Claim.Status.OBJECTED
    assert objection.review_deadline - objection.raised_at == timedelta(days=7)
    assert claims_post_due(now=claim.notice_ends_at + timedelta(days=1)) == []
    assert not LedgerEntry.objects.exists()


def test_overturned_objection_after_notice_posts(world):
    claim = on_notice(world)
    objection = objection_raise(actor=world.villager_user, claim_id=claim.pk, reason="有疑问")
    later = claim.notice_ends_at + timedelta(hours=1)

    with time_travel(later):
        objection_decide(
            actor=world.village_admin, objection_id=objection.pk, upheld=False, note="已核实属实"
        )

    claim.refresh_from_db()
    objection.refresh_from_db()
    assert objection.status == Objection.Status.OVERTURNED
    assert objection.decided_by == world.village_admin
    assert claim.status == Claim.Status.POSTED
    assert LedgerEntry.objects.filter(claim=claim).count() == 1


def test_overturned_objection_during_notice_returns_to_notice(world):
    claim = on_notice(world)
    objection = objection_raise(actor=world.villager_user, claim_id=claim.pk, reason="有疑问")
    objection_decide(actor=world.approver, objection_id=objection.pk, upheld=False, note="属实")

    claim.refresh_from_db()
    assert claim.status == Claim.Status.IN_NOTICE
    assert claims_post_due(now=claim.notice_ends_at) == [claim.pk]


def test_upheld_objection_withdraws_claim(world):
    claim = on_notice(world)
    objection = objection_raise(actor=world.villager_user, claim_id=claim.pk, reason="虚报")
    objection_decide(actor=world.approver, objection_id=objection.pk, upheld=True, note="核实虚报")

    claim.refresh_from_db()
    assert claim.status == Claim.Status.WITHDRAWN
    assert claims_post_due(now=claim.notice_ends_at + timedelta(days=1)) == []
    assert not LedgerEntry.objects.exists()


def test_objection_needs_reason(world):
    claim = on_notice(world)
    with translation.override("en"), pytest.raises(ValidationError) as error:
        objection_raise(actor=world.villager_user, claim_id=claim.pk, reason="   ")
    assert error.value.messages == ["Give a reason for the objection."]
    assert not Objection.objects.exists()


def test_objection_once_per_villager(world):
    claim = on_notice(world)
    objection_raise(actor=world.villager_user, claim_id=claim.pk, reason="有疑问")
    with translation.override("en"), pytest.raises(ValidationError) as error:
        objection_raise(actor=world.villager_user, claim_id=claim.pk, reason="再次")
    assert error.value.messages == ["You have already objected to this claim."]


@pytest.mark.parametrize("persona", ["recorder", "approver", "outsider", "township_viewer"])
def test_only_villagers_of_village_object(world, persona):
    claim = on_notice(world)
    with translation.override("en"), pytest.raises(PermissionDenied) as error:
        objection_raise(actor=getattr(world, persona), claim_id=claim.pk, reason="有疑问")
    assert str(error.value) == "Only villagers of this village may object to its claims."


def test_villager_of_other_village_cannot_object(world):
    outsider_user = UserFactory(roles=[roles.VILLAGER])
    world.villager_b.user = outsider_user
    world.villager_b.save()
    claim = on_notice(world)
    with pytest.raises(PermissionDenied):
        objection_raise(actor=outsider_user, claim_id=claim.pk, reason="有疑问")


def test_objection_after_notice_refused(world):
    claim = on_notice(world)
    with time_travel(claim.notice_ends_at), translation.override("en"):
        with pytest.raises(ValidationError) as error:
            objection_raise(actor=world.villager_user, claim_id=claim.pk, reason="晚了")
    assert error.value.messages == [
        "This claim is no longer on public notice, so it cannot be objected to."
    ]


def test_objection_decider_rules(world):
    claim = on_notice(world)
    objection = objection_raise(actor=world.villager_user, claim_id=claim.pk, reason="有疑问")
    with translation.override("en"):
        with pytest.raises(PermissionDenied) as error:
            objection_decide(actor=world.recorder, objection_id=objection.pk, upheld=True, note="x")
        assert str(error.value) == "You may not decide objections in this village."
        with pytest.raises(ValidationError) as missing:
            objection_decide(actor=world.approver, objection_id=objection.pk, upheld=True, note=" ")
        assert missing.value.messages == ["Give the reason for the decision."]


def test_overdue_objections_flagged_once(world):
    claim = on_notice(world)
    objection = objection_raise(actor=world.villager_user, claim_id=claim.pk, reason="有疑问")
    deadline = objection.review_deadline

    assert objections_flag_overdue(now=deadline) == 0
    assert objections_flag_overdue(now=deadline + timedelta(seconds=1)) == 1
    assert objections_flag_overdue(now=deadline + timedelta(days=1)) == 0
    objection.refresh_from_db()
    assert objection.overdue_flagged_at == deadline + timedelta(seconds=1)


# --- conflict of interest and two approvers ------------------------------------------------


def test_approver_cannot_approve_own_household(world):
    world.spouse.user = world.approver
    world.spouse.save()
    claim = submit(world, villager=world.villager)
    with translation.override("en"), pytest.raises(PermissionDenied) as error:
        claim_approve(actor=world.approver, claim_id=claim.pk)
    assert (
        str(error.value) == "This claim is for your own household; another approver must decide it."
    )
    claim.refresh_from_db()
    assert claim.status == Claim.Status.SUBMITTED
    with pytest.raises(PermissionDenied):
        claim_reject(actor=world.approver, claim_id=claim.pk, reason="不实")


def test_approver_may_approve_other_household(world):
    world.spouse.user = world.approver
    world.spouse.save()
    claim = submit(world, villager=world.neighbour)
    assert claim_approve(actor=world.approver, claim_id=claim.pk).status == Claim.Status.IN_NOTICE


def big_rule() -> Rule:
    scored = rule("volunteer", 20)
    scored.second_approval_above = 10
    scored.save()
    return scored


def test_above_threshold_needs_two_approvers(world):
    claim = submit(world, scored_rule=big_rule())

    first = claim_approve(actor=world.approver, claim_id=claim.pk)
    assert first.status == Claim.Status.AWAITING_SECOND
    assert first.first_approved_by == world.approver
    with translation.override("en"), pytest.raises(PermissionDenied) as error:
        claim_approve(actor=world.approver, claim_id=claim.pk)
    assert str(error.value) == (
        "You gave the first approval; a different approver must give the second."
    )

    second = claim_approve(actor=world.second_approver, claim_id=claim.pk)
    assert second.status == Claim.Status.IN_NOTICE
    assert second.decided_by == world.second_approver
    entry = claim_post(claim_id=claim.pk, now=second.notice_ends_at)
    assert entry.approved_by == world.second_approver


def test_recorder_cannot_be_second_approver(world):
    claim = claim_submit(
        actor=world.village_admin, villager=world.villager, rule=big_rule(), act_date=ACT_DATE
    )
    claim_approve(actor=world.approver, claim_id=claim.pk)
    with pytest.raises(PermissionDenied):
        claim_approve(actor=world.village_admin, claim_id=claim.pk)
    claim.refresh_from_db()
    assert claim.status == Claim.Status.AWAITING_SECOND


def test_deduction_above_threshold_needs_two(world):
    scored = rule("waste", -20)
    scored.second_approval_above = 10
    scored.save()
    claim = submit(world, scored_rule=scored)
    assert claim_approve(actor=world.approver, claim_id=claim.pk).status == (
        Claim.Status.AWAITING_SECOND
    )


def test_at_threshold_needs_one(world):
    scored = rule("volunteer", 10)
    scored.second_approval_above = 10
    scored.save()
    claim = submit(world, scored_rule=scored)
    assert claim_approve(actor=world.approver, claim_id=claim.pk).status == Claim.Status.IN_NOTICE


# --- caps count claims on notice -----------------------------------------------------------


def test_cap_counts_claims_on_notice(world):
    capped = Rule.objects.get(title="门前三包落实到位")  # 2 points, cap 2 a month
    on_notice(world, scored_rule=capped, act_date=date(2026, 11, 3))
    claim = submit(world, scored_rule=capped, act_date=date(2026, 11, 25))
    with pytest.raises(ValidationError):
        claim_approve(actor=world.approver, claim_id=claim.pk)


def test_household_cap_counts_members(world):
    capped = rule("courtyard", 2)
    capped.cap, capped.cap_period, capped.cap_scope = 2, "month", Rule.CapScope.HOUSEHOLD
    capped.save()
    on_notice(world, villager=world.villager, scored_rule=capped)
    claim = submit(world, villager=world.spouse, scored_rule=capped)
    with translation.override("en"), pytest.raises(ValidationError) as error:
        claim_approve(actor=world.approver, claim_id=claim.pk)
    assert error.value.messages == [
        "Household 010001 already has 2 of the 2 points this rule allows per month; "
        "this claim would go over the cap."
    ]
    other = submit(world, villager=world.neighbour, scored_rule=capped)
    assert claim_approve(actor=world.approver, claim_id=other.pk).status == Claim.Status.IN_NOTICE


# --- idempotency ---------------------------------------------------------------------------


def test_same_key_same_payload_returns_first(world):
    key = uuid.uuid4()
    first = submit(world, submission_key=key, note="打扫祠堂")
    again = submit(world, submission_key=key, note="打扫祠堂")
    assert again.pk == first.pk
    assert Claim.objects.count() == 1


def test_same_key_other_payload_refused(world):
    key = uuid.uuid4()
    submit(world, submission_key=key, note="打扫祠堂")
    with translation.override("en"), pytest.raises(IdempotencyConflict) as error:
        submit(world, submission_key=key, villager=world.spouse, note="打扫祠堂")
    assert error.value.messages == [
        "This form was already sent with different content. Reload the page and enter the points again."
    ]
    assert Claim.objects.count() == 1


# --- batch entry ---------------------------------------------------------------------------


def test_batch_records_everyone_once(world):
    key = uuid.uuid4()
    people = [world.villager, world.spouse, world.neighbour]
    claims = claim_batch_submit(
        actor=world.recorder,
        rule=rule("affairs"),
        villagers=people,
        act_date=ACT_DATE,
        note="村民代表大会",
        batch_key=key,
    )
    again = claim_batch_submit(
        actor=world.recorder,
        rule=rule("affairs"),
        villagers=people,
        act_date=ACT_DATE,
        note="村民代表大会",
        batch_key=key,
    )

    assert [claim.pk for claim in again] == [claim.pk for claim in claims]
    assert Claim.objects.filter(channel=Claim.Channel.BATCH).count() == 3
    assert len({claim.submission_key for claim in claims}) == 3


def test_batch_all_or_nothing(world):
    moved = VillagerFactory(household=world.household_a2, name="钱已迁", status="moved_out")
    with translation.override("en"), pytest.raises(ValidationError) as error:
        claim_batch_submit(
            actor=world.recorder,
            rule=rule("affairs"),
            villagers=[world.villager, moved],
            act_date=ACT_DATE,
            note="",
            batch_key=uuid.uuid4(),
        )
    assert error.value.messages == [
        "钱已迁 (household 020001): 钱已迁 is not an active villager; "
        "points can be recorded only for active villagers."
    ]
    assert not Claim.objects.exists()


# --- self-claims and photos ----------------------------------------------------------------


def self_rule(photo_required=True) -> Rule:
    scored = rule("courtyard", 3)
    scored.self_claim, scored.photo_required = True, photo_required
    scored.save()
    return scored


def test_villager_claims_with_photo(world):
    claim = claim_submit(
        actor=world.villager_user,
        villager=world.villager,
        rule=self_rule(),
        act_date=ACT_DATE,
        photo=jpeg(),
        channel=Claim.Channel.SELF,
    )
    assert claim.channel == Claim.Channel.SELF
    assert claim.photo.name.startswith("claims/")
    assert claim.recorded_by == world.villager_user


def test_photo_required_enforced(world):
    with translation.override("en"), pytest.raises(ValidationError) as error:
        claim_submit(
            actor=world.villager_user,
            villager=world.villager,
            rule=self_rule(),
            act_date=ACT_DATE,
            channel=Claim.Channel.SELF,
        )
    assert error.value.messages == ["The rule “测试规则+3” needs a photo as evidence; add one."]
    assert not Claim.objects.exists()


def test_villager_cannot_claim_for_others(world):
    with pytest.raises(PermissionDenied):
        claim_submit(
            actor=world.villager_user,
            villager=world.spouse,
            rule=self_rule(photo_required=False),
            act_date=ACT_DATE,
            channel=Claim.Channel.SELF,
        )


def test_villager_cannot_claim_staff_rule(world):
    with translation.override("en"), pytest.raises(ValidationError) as error:
        claim_submit(
            actor=world.villager_user,
            villager=world.villager,
            rule=rule("volunteer", 5),
            act_date=ACT_DATE,
            channel=Claim.Channel.SELF,
        )
    assert error.value.messages == [
        "Villagers cannot claim “测试规则+5” themselves; ask the village office to record it."
    ]


# --- rule versions -------------------------------------------------------------------------


def test_rule_revision_keeps_old_version(world):
    old = rule("volunteer", 5)
    new = rule_revise(
        actor=world.village_admin,
        rule_id=old.pk,
        valid_from=date(2026, 11, 15),
        changes={"points": 8},
    )
    old.refresh_from_db()

    assert old.valid_to == date(2026, 11, 14)
    assert (new.version, new.points, new.previous) == (2, 8, old)
    before = submit(world, scored_rule=new, act_date=date(2026, 11, 10))
    after = submit(world, scored_rule=old, act_date=date(2026, 11, 20))
    assert before.rule == old
    assert after.rule == new


def test_rule_versions_share_lineage(world):
    first = rule("volunteer", 5)
    second = rule_revise(
        actor=world.village_admin, rule_id=first.pk, valid_from=date(2026, 11, 1), changes={}
    )
    third = rule_revise(
        actor=world.village_admin, rule_id=second.pk, valid_from=date(2026, 11, 15), changes={}
    )
    other = rule("volunteer", 7)

    assert rule_lineage(second) == [first, third.previous, third]
    assert other.lineage != first.lineage
    assert rule_version_on(third, date(2026, 11, 5)) == second
    assert rule_version_on(first.pk, date(2026, 11, 20)) == third
    assert rule_version_on(first, date(2019, 12, 31)) is None


def test_lineage_migration_splits_chains(world):
    first = rule("volunteer", 5)
    second = rule_revise(
        actor=world.village_admin, rule_id=first.pk, valid_from=date(2026, 11, 1), changes={}
    )
    other = rule("volunteer", 7)
    # AddField gives every existing row the same default; the migration then splits them.
    Rule.objects.update(lineage=uuid.uuid4())

    fill_lineage(django_apps, schema_editor=None)

    first.refresh_from_db()
    second.refresh_from_db()
    other.refresh_from_db()
    assert first.lineage == second.lineage
    assert other.lineage != first.lineage
    history = Rule.history.filter(id=second.pk).values_list("lineage", flat=True)
    assert set(history) == {second.lineage}


def test_rule_revision_must_start_later(world):
    old = rule("volunteer", 5)
    with translation.override("en"), pytest.raises(ValidationError) as error:
        rule_revise(
            actor=world.village_admin,
            rule_id=old.pk,
            valid_from=old.valid_from,
            changes={"points": 8},
        )
    assert error.value.messages == [
        "The new version must apply from a day after 2020-01-01, when this version started."
    ]


def test_entries_keep_their_version(world):
    PointsPolicy.objects.create(village=world.village_a, notice_days=0)
    old = rule("volunteer", 5)
    on_notice(world, scored_rule=old, act_date=date(2026, 11, 10))
    rule_revise(
        actor=world.village_admin,
        rule_id=old.pk,
        valid_from=date(2026, 11, 15),
        changes={"points": 8},
    )
    on_notice(world, scored_rule=old, act_date=date(2026, 11, 20))

    assert list(LedgerEntry.objects.order_by("act_date").values_list("points", flat=True)) == [5, 8]
    assert (
        Balance.objects.get(villager=world.villager, account="honour", period="2026-11").points
        == 13
    )


def time_travel(moment):
    import time_machine

    return time_machine.travel(timezone.localtime(moment), tick=False)
