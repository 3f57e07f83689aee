"""The explanation endpoints run at most six queries, however many entries they list."""

import io
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from points.models import Balance, LedgerEntry, PointsPolicy
from points.selectors import household_explanation, household_stars
from points.services import (
    claim_approve,
    claim_post,
    claim_submit,
    entry_reverse,
    objection_decide,
    objection_raise,
)

from .api_fixtures import ACT_DATE, client_for, token_for
from .factories import approve_and_post, rule

API = "/api/v1/points/"
MAX_QUERIES = 6


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def jpeg() -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), "green").save(buffer, format="JPEG")
    return SimpleUploadedFile("courtyard.jpg", buffer.getvalue(), content_type="image/jpeg")


def add_round(world, *, day) -> None:
    """Give the villager three entries on ``day``: an award, a photo award and its reversal."""
    plain = claim_submit(
        actor=world.recorder, villager=world.villager, rule=rule("volunteer", 5), act_date=day
    )
    approve_and_post(actor=world.approver, claim_id=plain.pk)
    with_photo = claim_submit(
        actor=world.recorder,
        villager=world.villager,
        rule=rule("volunteer", 3),
        act_date=day,
        photo=jpeg(),
        note="院子打扫干净",
    )
    entry = approve_and_post(actor=world.approver, claim_id=with_photo.pk)
    entry_reverse(actor=world.approver, entry_id=entry.pk, reason="记错人")


def add_objected(world, *, day) -> None:
    """Post one claim of the villager after an objection to it was overturned."""
    PointsPolicy.objects.filter(village=world.village_a).update(notice_days=7)
    claim = claim_submit(
        actor=world.recorder, villager=world.villager, rule=rule("volunteer", 2), act_date=day
    )
    claim = claim_approve(actor=world.approver, claim_id=claim.pk)
    objection = objection_raise(actor=world.villager_user, claim_id=claim.pk, reason="没看到")
    objection_decide(actor=world.approver, objection_id=objection.pk, upheld=False, note="核实过")
    claim_post(claim_id=claim.pk, now=claim.notice_ends_at + timedelta(seconds=1))


@pytest.fixture(params=[3, 60], ids=["few", "many"])
def explained(request, world):
    """The villager with 3 or 60 entries: awards, photos, reversals and objected claims."""
    entries = request.param
    objected = 3 if entries > 3 else 0
    for number in range((entries - objected) // 3):
        add_round(world, day=ACT_DATE - timedelta(days=number))
    for number in range(objected):
        add_objected(world, day=ACT_DATE - timedelta(days=30 + number))
    assert LedgerEntry.objects.filter(villager=world.villager).count() == entries
    return world


def villager_session(world) -> Client:
    client = Client()
    client.force_login(world.villager_user)
    return client


def explanation_paths(world) -> list[str]:
    return [
        API + f"villagers/{world.villager.pk}/explanation/",
        API + f"households/{world.household_a1.pk}/explanation/",
    ]


def test_explanations_by_token_within_query_limit(explained, django_assert_max_num_queries):
    client = client_for(token_for(explained.township_viewer))
    for path in explanation_paths(explained):
        with django_assert_max_num_queries(MAX_QUERIES):
            response = client.get(path)
        assert response.status_code == 200, response.content


def test_household_summary_matches_balances(explained):
    """The one-query summary of balances and stars gives what the separate reads give."""
    household = explained.household_a1
    data = household_explanation(household, year=ACT_DATE.year)
    stars, points = household_stars(household=household, year=ACT_DATE.year)
    assert data["stars"] == {"year": ACT_DATE.year, "stars": stars, "honour_points": points}
    balances = Balance.objects.filter(household=household).order_by("account", "period")
    assert data["balances"] == [
        {"account": b.account, "period": b.period, "points": b.points, "entries": b.entry_count}
        for b in balances
    ]


def test_explanations_by_villager_session_within_query_limit(
    explained, django_assert_max_num_queries
):
    client = villager_session(explained)
    for path in explanation_paths(explained):
        with django_assert_max_num_queries(MAX_QUERIES):
            response = client.get(path)
        assert response.status_code == 200, response.content
