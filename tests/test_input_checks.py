"""Bad input gets a clear message naming the field, never a server error."""

import uuid
from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from patrols.services import patrol_log
from points.models import Claim, LedgerEntry, Rule
from points.services import claim_approve, claim_submit
from villagers.identity import id_number_digest, parse_id_number
from villagers.models import Villager

from .factories import VillagerFactory, make_id_number, rule

pytestmark = pytest.mark.django_db


def village_form(village, **limits):
    return {
        "township": village.township_id,
        "name": village.name,
        "ranking_name_display": village.ranking_name_display,
        "small_matter_limit": "01:00:00",
        "medium_matter_limit": "1 00:00:00",
        "big_matter_limit": "7 00:00:00",
        **limits,
    }


def test_huge_matter_limit_refused(client, world):
    client.force_login(world.village_admin)
    response = client.post(
        reverse("admin:villagers_village_change", args=[world.village_a.pk]),
        village_form(world.village_a, small_matter_limit="99999999 00:00:00"),
    )
    assert response.status_code == 200
    assert "请输入 10 分钟到 90 天之间的时限。" in response.text
    world.village_a.refresh_from_db()
    assert world.village_a.small_matter_limit == timedelta(hours=1)


def test_matter_limits_out_of_order_refused(client, world):
    client.force_login(world.village_admin)
    response = client.post(
        reverse("admin:villagers_village_change", args=[world.village_a.pk]),
        village_form(world.village_a, small_matter_limit="2 00:00:00"),
    )
    assert response.status_code == 200
    assert "办结时限须按小事、中事、大事依次不减" in response.text
    assert "village_matter_limits_in_order" not in response.text


def test_rule_points_out_of_range_refused(world):
    scored = Rule(category=rule("volunteer").category, title="错误", points=2147483647)
    scored.valid_from = date(2026, 1, 1)
    with translation.override("en"):
        with pytest.raises(ValidationError) as raised:
            scored.full_clean()
        messages = raised.value.message_dict
    assert messages == {"points": ["Ensure this value is less than or equal to 1000."]}


def test_rule_cap_below_points_refused(world):
    scored = Rule(
        category=rule("volunteer").category,
        title="上限太小",
        points=10,
        cap=5,
        cap_period=Rule.CapPeriod.MONTH,
        valid_from=date(2026, 1, 1),
    )
    with translation.override("en"):
        with pytest.raises(ValidationError) as raised:
            scored.full_clean()
        messages = raised.value.messages
    assert messages == ["A cap needs a cap period, and the cap must be at least the rule's points."]


def test_full_width_id_number_is_one_person():
    ascii_number = make_id_number(date(1990, 1, 2), male=True)
    full_width = "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c.lower() for c in ascii_number)
    assert parse_id_number(full_width).value == ascii_number
    assert id_number_digest(full_width) == id_number_digest(ascii_number)


def test_villager_picker_shows_household_and_skips_inactive(client, world):
    VillagerFactory(household=world.household_a2, name="张小明", status=Villager.Status.DECEASED)
    client.force_login(world.recorder)
    response = client.get(
        "/admin/autocomplete/",
        {"term": "张小明", "app_label": "points", "model_name": "claim", "field_name": "villager"},
    )
    assert response.status_code == 200
    assert [item["text"] for item in response.json()["results"]] == ["张小明（010001）"]


@pytest.mark.parametrize("villager", ["abc", "9" * 40])
def test_tampered_villager_id_gets_field_error(client, world, villager):
    client.force_login(world.recorder)
    response = client.post(
        reverse("admin:points_claim_add"),
        {
            "villager": villager,
            "rule": rule("volunteer").pk,
            "act_date": "2026-11-20",
            "form_key": str(uuid.uuid4()),
        },
    )
    assert response.status_code == 200
    assert "该字段是必填项。" in response.text
    assert not Claim.objects.exists()


def test_long_reason_named_not_lost(client, world):
    claim = claim_submit(
        actor=world.recorder,
        villager=world.villager,
        rule=rule("volunteer"),
        act_date=date(2026, 11, 20),
    )
    client.force_login(world.approver)
    response = client.post(
        reverse("admin:points_claim_changelist"),
        {"action": "reject", "_selected_action": [claim.pk], "reason": "长" * 201},
        follow=True,
    )
    assert "理由有 201 个字，请缩短到 200 个字以内。" in response.text
    claim.refresh_from_db()
    assert claim.status == Claim.Status.SUBMITTED


def test_claim_page_shows_decision_not_form_key(client, world):
    claim = claim_submit(
        actor=world.recorder,
        villager=world.villager,
        rule=rule("volunteer"),
        act_date=date(2026, 11, 20),
    )
    client.force_login(world.approver)
    client.post(
        reverse("admin:points_claim_changelist"),
        {"action": "reject", "_selected_action": [claim.pk], "reason": "照片模糊"},
    )
    response = client.get(reverse("admin:points_claim_change", args=[claim.pk]))
    assert response.status_code == 200
    assert "照片模糊" in response.text
    assert "Form key" not in response.text
    assert not LedgerEntry.objects.exists()


@pytest.mark.parametrize(
    ("start_ago", "length", "message"),
    [
        (
            timedelta(days=3),
            timedelta(hours=13),
            "A patrol can last at most 12 hours; check the start and end times.",
        ),
        (
            timedelta(days=40),
            timedelta(hours=1),
            "Patrols more than 31 days old cannot be logged; ask the village office.",
        ),
    ],
)
def test_implausible_patrol_refused(world, start_ago, length, message):
    start = timezone.now() - start_ago
    with translation.override("en"), pytest.raises(ValidationError) as raised:
        patrol_log(
            actor=world.secretary_a1,
            district=world.district_a1,
            started_at=start,
            ended_at=start + length,
        )
    assert raised.value.messages == [message]


def test_expired_form_page_in_chinese(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.recorder)
    response = client.post(reverse("admin:points_claim_add"), {"villager": world.villager.pk})
    assert response.status_code == 403
    assert "表单已过期" in response.text
    assert "DEBUG" not in response.text


def test_approving_rejected_claim_posts_nothing(world):
    claim = claim_submit(
        actor=world.recorder,
        villager=world.villager,
        rule=rule("volunteer"),
        act_date=date(2026, 11, 20),
    )
    Claim.objects.filter(pk=claim.pk).update(status=Claim.Status.REJECTED)
    with pytest.raises(ValidationError):
        claim_approve(actor=world.approver, claim_id=claim.pk)
    assert not LedgerEntry.objects.exists()
