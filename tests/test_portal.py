"""Public boards by district and governance item, opted-out households, population types."""

import pytest
from django.core.exceptions import ValidationError

from points.models import Category
from points.services import claim_submit
from villagers.models import Household, Village, Villager

from . import test_pages
from .factories import approve_and_post, rule
from .test_pages import IN_MONTH, award, rankings_url, table_rows

# Fixtures shared with the rankings tests.
clock = test_pages.clock
english = test_pages.english
ranked = test_pages.ranked


def accounts(response) -> list[str]:
    return [row[1] for row in table_rows(response, "ranking")]


def test_opted_out_household_left_off_every_board(english, ranked):
    Household.objects.filter(pk=ranked.household_a1.pk).update(ranking_opt_out=True)

    households = english.get(rankings_url(ranked.village_a))
    villagers = english.get(rankings_url(ranked.village_a, board="villager"))

    assert accounts(households) == ["020001 王*力", "010002 陈*东"]
    assert accounts(villagers) == ["王*力", "陈*东"]
    for page in (households, villagers):
        assert "010001" not in str(table_rows(page, "ranking"))


def test_population_type_not_taking_part_left_off(english, ranked):
    Village.objects.filter(pk=ranked.village_a.pk).update(points_for_employees=False)
    Villager.objects.filter(pk=ranked.spouse.pk).update(
        population_type=Villager.PopulationType.EMPLOYEE
    )
    Villager.objects.filter(pk=ranked.chen.pk).update(
        population_type=Villager.PopulationType.EMPLOYEE
    )

    households = english.get(rankings_url(ranked.village_a))
    villagers = english.get(rankings_url(ranked.village_a, board="villager"))

    assert accounts(villagers) == ["王*力", "张*明"]
    # 010002 has no member who takes part, so the household is not ranked.
    assert accounts(households) == ["010001 张*明", "020001 王*力"]


def test_net_deduction_never_shown_with_a_name(english, ranked):
    Village.objects.filter(pk=ranked.village_a.pk).update(
        ranking_name_display=Village.NameDisplay.FULL
    )

    for board in ("household", "villager"):
        for period in ("month", "quarter", "year"):
            page = english.get(rankings_url(ranked.village_a, board=board, period=period))
            assert "孙平" not in page.content.decode()
            assert all(int(row[2]) >= 0 for row in table_rows(page, "ranking"))


def test_district_board(english, ranked):
    response = english.get(
        rankings_url(ranked.village_a, district=ranked.district_a2.pk, board="villager")
    )

    assert accounts(response) == ["王*力"]


def test_governance_item_board(english, ranked):
    award(ranked, ranked.chen, 40, IN_MONTH)  # volunteer
    waste = rule("waste", 7)
    claim = claim_submit(
        actor=ranked.recorder, villager=ranked.spouse, rule=waste, act_date=IN_MONTH
    )
    approve_and_post(actor=ranked.approver, claim_id=claim.pk)
    item = Category.objects.get(code="waste")

    households = english.get(rankings_url(ranked.village_a, item=item.pk))
    villagers = english.get(rankings_url(ranked.village_a, item=item.pk, board="villager"))
    quarter = english.get(rankings_url(ranked.village_a, item=item.pk, period="quarter"))

    assert table_rows(households, "ranking") == [["1", "010001 张*明", "7"]]
    assert table_rows(villagers, "ranking") == [["1", "李*红", "7"]]
    assert table_rows(quarter, "ranking") == [["1", "010001 张*明", "7"]]


def test_claim_refused_for_population_type_not_taking_part(world):
    Village.objects.filter(pk=world.village_a.pk).update(points_for_new_residents=False)
    Villager.objects.filter(pk=world.neighbour.pk).update(
        population_type=Villager.PopulationType.NEW_RESIDENT
    )
    neighbour = Villager.objects.select_related("household__village").get(pk=world.neighbour.pk)

    with pytest.raises(ValidationError) as refused:
        claim_submit(actor=world.recorder, villager=neighbour, rule=rule(), act_date=IN_MONTH)

    assert refused.value.code == "not_taking_part"
    assert "王大力" in refused.value.messages[0]
    assert not neighbour.claims.exists()
