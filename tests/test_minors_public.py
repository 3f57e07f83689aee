"""Villagers under 14 are never named on public pages, boards or API statistics."""

from datetime import date

import pytest
from django.urls import reverse
from django.utils import timezone

from points.models import PointsPolicy
from points.services import claim_approve, claim_submit

from .api_fixtures import client_for, token_for
from .factories import HouseholdFactory, VillagerFactory, approve_and_post, rule

pytestmark = pytest.mark.django_db

MINOR_NAMES = ("童小宝", "童*宝", "童大头", "童*头")


@pytest.fixture
def with_minors(world):
    """A 10-year-old in 张小明's household and a household headed by a 13-year-old, all with points."""
    today = timezone.localdate()
    village = world.village_a
    village.ranking_name_display = "full"
    village.save()
    child = VillagerFactory(
        household=world.household_a1,
        name="童小宝",
        relation_to_head="子",
        birth_date=date(today.year - 10, 1, 1),
    )
    orphan_household = HouseholdFactory(district=world.district_a1, number="010099")
    young_head = VillagerFactory(
        household=orphan_household, name="童大头", birth_date=date(today.year - 13, 1, 1)
    )
    for villager, points in ((child, 9), (young_head, 8), (world.villager, 1)):
        claim = claim_submit(
            actor=world.recorder, villager=villager, rule=rule("volunteer", points), act_date=today
        )
        approve_and_post(actor=world.approver, claim_id=claim.pk)
    PointsPolicy.objects.filter(village=village).update(notice_days=5)
    for villager in (child, young_head, world.villager):
        claim = claim_submit(
            actor=world.recorder, villager=villager, rule=rule("volunteer", 3), act_date=today
        )
        claim_approve(actor=world.approver, claim_id=claim.pk)
    world.orphan_household = orphan_household
    return world


def assert_no_minor(body: str, where: str) -> None:
    for name in MINOR_NAMES:
        assert name not in body, f"{where} shows {name}"


def test_public_pages_name_no_minor(with_minors, client):
    world = with_minors
    rankings = reverse("rankings", args=[world.village_a.pk])
    pages = [
        rankings,
        *(
            f"{rankings}?board={board}&period={period}"
            for board in ("household", "villager")
            for period in ("month", "quarter", "year")
        ),
        f"{rankings}?board=villager&item=volunteer",
        f"{rankings}?board=household&item=volunteer",
        reverse("household-public", args=[world.household_a1.pk]),
        reverse("household-public", args=[world.orphan_household.pk]),
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        assert_no_minor(response.content.decode(), url)
    adults = client.get(f"{rankings}?board=villager&period=year").content.decode()
    assert "张小明" in adults


def test_notice_board_names_no_minor(with_minors, client):
    client.force_login(with_minors.villager_user)

    board = client.get(reverse("notice-board", args=[with_minors.village_a.pk])).content.decode()

    assert_no_minor(board, "notice board")
    assert "张小明" in board
    assert "010099" in board


def test_api_statistics_name_no_minor(with_minors):
    client = client_for(token_for(with_minors.township_viewer))
    village = with_minors.village_a.pk
    year = timezone.localdate().year
    paths = [
        f"statistics/villager-ranking/?village={village}&period=all",
        f"statistics/villager-ranking/?village={village}&period={year}",
        f"statistics/household-ranking/?village={village}&period=all",
        f"statistics/star-households/?year={year}",
        "statistics/points/",
    ]
    for path in paths:
        for suffix in ("", "&format=csv" if "?" in path else "?format=csv"):
            response = client.get("/api/v1/" + path + suffix)
            assert response.status_code == 200, (path, response.content[:300])
            body = b"".join(response.streaming_content) if response.streaming else response.content
            assert_no_minor(body.decode("utf-8"), path + suffix)
