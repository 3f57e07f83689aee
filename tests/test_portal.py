"""Public boards by district and governance item, opted-out households, population types."""

import json
import re
from datetime import date
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from points import selectors
from points.models import Category, Claim
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


# --- a villager's home ------------------------------------------------------------


def test_home_shows_year_rank_stars_and_links(english, ranked):
    english.force_login(ranked.villager_user)

    response = english.get(reverse("my-entries"))

    html = response.content.decode()
    explanation = reverse("household-explanation", args=[ranked.household_a1.pk])
    assert response.context["rank"] == 1
    assert response.context["year"].by_month[11] == ("2026-12", 15)
    assert response.context["year"].by_item == [("志愿服务", 15)]
    assert f'href="{explanation}?month=2026-12">15</a>' in html
    assert f'href="{explanation}?item=%E5%BF%97%E6%84%BF%E6%9C%8D%E5%8A%A1">15</a>' in html
    # The numbers are in the page itself; the charts read the same data as JSON.
    data = json.loads(
        re.search(r'id="chart-data" type="application/json">(.*?)</script>', html, re.S).group(1)
    )
    assert data["months"]["values"][11] == 15
    assert "<script>" not in html


def test_home_of_opted_out_household_says_so(english, ranked):
    Household.objects.filter(pk=ranked.household_a1.pk).update(ranking_opt_out=True)
    english.force_login(ranked.villager_user)

    response = english.get(reverse("my-entries"))

    assert response.context["rank"] is None
    assert "Not ranked: your household opted out" in response.content.decode()


def test_explanation_lists_one_month_or_item(english, ranked):
    award(ranked, ranked.spouse, 3, date(2026, 11, 5))
    english.force_login(ranked.villager_user)
    url = reverse("household-explanation", args=[ranked.household_a1.pk])

    november = english.get(url, {"month": "2026-11"})
    item = english.get(url, {"item": "志愿服务"})

    assert [e["points"] for e in november.context["data"]["entries"]] == [3]
    assert len(item.context["data"]["entries"]) == 3


# --- large text ---------------------------------------------------------------------


def test_large_text_stays_on(english, world):
    english.post(reverse("text-size"), {"large": "1", "next": "/me/"})

    page = english.get(reverse("login"))

    assert '<html lang="en" data-theme="light" class="large-text">' in page.content.decode()
    assert 'name="large" value="0"' in page.content.decode()
    english.post(reverse("text-size"), {"large": "0", "next": "/"})
    assert 'class="large-text"' not in english.get(reverse("login")).content.decode()


def test_large_text_goes_back_only_to_this_site(english, db):
    response = english.post(reverse("text-size"), {"large": "1", "next": "https://evil.example/"})

    assert response["Location"] == "/"


# --- door plaques -------------------------------------------------------------------


def test_plaque_sheet_has_a_qr_per_household(client, ranked):
    client.force_login(ranked.village_admin)

    response = client.get(reverse("plaque-sheet", args=[ranked.district_a1.pk]))

    html = response.content.decode()
    assert response.status_code == 200
    assert html.count("<svg") == 2  # 010001 and 010002
    assert "<img" not in html
    assert "<script" not in html.split("</footer>")[0]


def test_plaque_qr_encodes_the_public_page(ranked):
    from points.views import qr_svg

    svg = qr_svg("http://testserver/households/1/")

    assert svg.startswith("<svg")
    assert "path" in svg


def test_plaque_sheet_only_for_staff_of_the_village(client, ranked):
    client.force_login(ranked.outsider)

    assert client.get(reverse("plaque-sheet", args=[ranked.district_a1.pk])).status_code == 404


def test_public_household_page_shows_what_rankings_show(english, ranked):
    response = english.get(reverse("household-public", args=[ranked.household_a1.pk]))

    html = response.content.decode()
    assert response.context["points"] == 15
    assert response.context["rank"] == 1
    assert "张*明" in html
    assert "张小明" not in html
    assert "李" not in html


def test_opted_out_public_page_hides_all(english, ranked):
    Household.objects.filter(pk=ranked.household_a1.pk).update(ranking_opt_out=True)

    response = english.get(reverse("household-public", args=[ranked.household_a1.pk]))

    html = response.content.decode()
    assert "张*明" not in html
    assert "15" not in str(response.context.get("points", ""))
    assert "asked not to show its points" in html


def test_public_page_hides_a_net_deduction(english, ranked):
    response = english.get(reverse("household-public", args=[ranked.sun.household.pk]))

    assert response.context["shown"] is False
    assert "-5" not in response.content.decode()


# --- staff workbench ----------------------------------------------------------------


def test_workbench_finds_villager_by_name_number_or_phone(client, ranked):
    ranked.villager.phone = "13912345678"
    ranked.villager.save(update_fields=["phone"])
    client.force_login(ranked.recorder)

    by_name = client.get(reverse("workbench"), {"q": "小明"})
    by_number = client.get(reverse("workbench"), {"q": "020001"})
    by_phone = client.get(reverse("workbench"), {"q": "5678"})

    assert [v.name for v, _ in by_name.context["found"]] == ["张小明"]
    assert [v.name for v, _ in by_number.context["found"]] == ["王大力"]
    assert by_phone.context["found"][0][1] == "139****5678"
    assert "13912345678" not in by_phone.content.decode()


def test_workbench_quick_entry_lists_one_household(client, ranked):
    client.force_login(ranked.recorder)

    response = client.get(reverse("batch-entry"), {"household": "010001"})

    names = {v.name for v in response.context["form"].fields["villagers"].queryset}
    assert names == {"张小明", "李小红"}


def pending_claim(world, recorder):
    return claim_submit(actor=recorder, villager=world.neighbour, rule=rule(), act_date=IN_MONTH)


def test_workbench_approves_from_the_queue(client, ranked):
    claim = pending_claim(ranked, ranked.recorder)
    client.force_login(ranked.approver)
    assert claim in client.get(reverse("workbench")).context["queue"]

    response = client.post(reverse("workbench-decide", args=[claim.pk]), {"decision": "approve"})

    claim.refresh_from_db()
    assert response.status_code == 302
    assert claim.status != Claim.Status.SUBMITTED


def test_queue_leaves_out_claims_viewer_cannot_decide(client, ranked):
    own_recording = pending_claim(ranked, ranked.village_admin)
    first_approved = pending_claim(ranked, ranked.recorder)
    first_approved.status = Claim.Status.AWAITING_SECOND
    first_approved.first_approved_by = ranked.village_admin
    first_approved.save()
    other = pending_claim(ranked, ranked.recorder)
    client.force_login(ranked.village_admin)

    queue = list(client.get(reverse("workbench")).context["queue"])

    assert other in queue
    assert own_recording not in queue
    assert first_approved not in queue


def test_queue_shows_points_and_count(client, ranked, settings):
    claims = [pending_claim(ranked, ranked.recorder) for _ in range(3)]
    client.force_login(ranked.approver)

    with mock.patch("points.workbench.QUEUE_LENGTH", 2):
        response = client.get(reverse("workbench"))

    page = response.content.decode()
    assert len(response.context["queue"]) == 2
    assert response.context["queue_total"] == 3
    assert f"{claims[0].rule.points:+d}" in page
    assert reverse("admin:points_claim_changelist") in page


def test_workbench_keeps_recorder_from_approving_own_claim(client, ranked):
    claim = pending_claim(ranked, ranked.village_admin)
    client.force_login(ranked.village_admin)

    client.post(reverse("workbench-decide", args=[claim.pk]), {"decision": "approve"})

    claim.refresh_from_db()
    assert claim.status == Claim.Status.SUBMITTED


def test_workbench_rejects_with_a_reason(client, ranked):
    claim = pending_claim(ranked, ranked.recorder)
    client.force_login(ranked.approver)

    client.post(reverse("workbench-decide", args=[claim.pk]), {"decision": "reject", "reason": ""})
    claim.refresh_from_db()
    assert claim.status == Claim.Status.SUBMITTED
    client.post(
        reverse("workbench-decide", args=[claim.pk]), {"decision": "reject", "reason": "重复申报"}
    )
    claim.refresh_from_db()
    assert claim.status == Claim.Status.REJECTED


def test_workbench_dashboard_figures(client, ranked):
    client.force_login(ranked.village_admin)

    response = client.get(reverse("workbench"))

    items = response.context["dashboard"]["items"]
    assert items["labels"][11] == "2026-12"
    volunteer = next(s for s in items["series"] if s["label"] == "志愿服务")
    assert volunteer["values"][11] == 30
    assert 'id="chart-data" type="application/json"' in response.content.decode()


def test_workbench_not_for_villagers(client, ranked):
    client.force_login(ranked.villager_user)

    assert client.get(reverse("workbench")).status_code == 404


def test_workbench_decide_missing_claim_is_404(client, ranked):
    client.force_login(ranked.approver)

    response = client.post(reverse("workbench-decide", args=[999999]), {"decision": "approve"})

    assert response.status_code == 404


def test_workbench_decide_other_village_claim_is_404(client, ranked):
    claim = claim_submit(
        actor=ranked.outsider, villager=ranked.villager_b, rule=rule(), act_date=IN_MONTH
    )
    client.force_login(ranked.approver)

    response = client.post(reverse("workbench-decide", args=[claim.pk]), {"decision": "approve"})

    claim.refresh_from_db()
    assert response.status_code == 404
    assert claim.status == Claim.Status.SUBMITTED


def test_household_rank_counts_below_shown_board(ranked, monkeypatch):
    monkeypatch.setattr(selectors, "RANKING_SIZE", 1)
    today = IN_MONTH

    chen_rank = selectors.household_rank(household=ranked.chen.household, year=2026, today=today)
    sun_rank = selectors.household_rank(household=ranked.sun.household, year=2026, today=today)

    assert chen_rank == 3
    assert sun_rank is None
