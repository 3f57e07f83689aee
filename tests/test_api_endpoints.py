"""What the API read endpoints return: masking, filters, statistics, exports and errors."""

import csv
import io
from datetime import date, timedelta
from urllib.parse import quote

import pytest
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook

from api.pagination import CappedPageNumberPagination
from api.throttles import TokenRateThrottle
from patrols import selectors as patrols_selectors
from patrols.models import Matter
from patrols.services import matter_move, matter_report
from points import selectors as points_selectors
from points.models import Claim
from villagers.models import Village

from .api_fixtures import ACT_DATE, build_api_world, client_for, token_for
from .factories import UserFactory

API = "/api/v1/"


@pytest.fixture
def api_world(world):
    return build_api_world(world)


@pytest.fixture
def viewer(api_world):
    return client_for(token_for(api_world.township_viewer))


def results(response) -> list[dict]:
    assert response.status_code == 200, response.content
    return response.json()["results"]


def download(response) -> bytes:
    assert response.status_code == 200, response.content
    return b"".join(response.streaming_content)


def csv_rows(response) -> list[list[str]]:
    text = download(response).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


# Personal data


def test_villagers_masked(api_world, viewer):
    response = viewer.get(API + "villagers/")
    row = next(row for row in results(response) if row["id"] == api_world.villager.pk)
    assert row["name"] == "张*明"
    assert row["phone"] == "138****0000"
    assert row["id_number_masked"] == api_world.villager.id_number_masked
    assert "*" in row["id_number_masked"]
    assert "birth_date" not in row
    assert "张小明" not in response.content.decode()
    assert "13800000000" not in response.content.decode()


def test_villager_export_masked(api_world, viewer):
    text = download(viewer.get(API + "villagers/?format=csv")).decode("utf-8")
    assert "张*明" in text
    assert "张小明" not in text
    assert "13800000000" not in text


def test_ledger_entries_mask_names(api_world, viewer):
    response = viewer.get(API + "ledger-entries/")
    names = {row["villager_name"] for row in results(response)}
    assert names == {"张*明", "王*力", "李*红"}
    assert "张小明" not in response.content.decode()


# Ledger filters


def entry_ids(client, query: str) -> set[int]:
    return {row["id"] for row in results(client.get(API + "ledger-entries/?" + query))}


def test_ledger_filters(api_world, viewer):
    w = api_world
    everything = {w.entry_a.pk, w.entry_a2.pk, w.entry_reversed.pk, w.reversal.pk}
    assert entry_ids(viewer, "") == everything
    assert entry_ids(viewer, f"village={w.village_a.pk}") == everything
    assert entry_ids(viewer, f"village={w.village_b.pk}") == set()
    assert entry_ids(viewer, f"district={w.district_a2.pk}") == {w.entry_a2.pk}
    assert entry_ids(viewer, f"category={w.entry_a.category_id}") == everything
    assert entry_ids(viewer, "category=99999") == set()
    assert entry_ids(viewer, f"date_from={ACT_DATE}") == everything - {w.entry_a2.pk}
    assert entry_ids(viewer, f"date_to={ACT_DATE - timedelta(days=1)}") == {w.entry_a2.pk}
    assert entry_ids(viewer, f"date_from={ACT_DATE}&date_to={ACT_DATE}") == everything - {
        w.entry_a2.pk
    }
    assert entry_ids(viewer, "status=posted") == {w.entry_a.pk, w.entry_a2.pk}
    assert entry_ids(viewer, "status=reversed") == {w.entry_reversed.pk}
    assert entry_ids(viewer, "status=reversal") == {w.reversal.pk}


def test_ledger_status_field(api_world, viewer):
    status = {row["id"]: row["status"] for row in results(viewer.get(API + "ledger-entries/"))}
    assert status[api_world.entry_a.pk] == "posted"
    assert status[api_world.entry_reversed.pk] == "reversed"
    assert status[api_world.reversal.pk] == "reversal"


def test_invalid_filter_error_in_chinese(api_world, viewer):
    response = viewer.get(API + "ledger-entries/?date_from=yesterday&status=lost")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert body["message"] == "部分字段有误，请按“fields”中的说明修改。"
    assert set(body["fields"]) == {"date_from", "status"}
    assert body["fields"]["date_from"] == ["输入一个有效的日期。"]


def test_invalid_filter_error_in_english(api_world):
    client = client_for(token_for(api_world.township_viewer), language="en")
    response = client.get(API + "ledger-entries/?date_from=yesterday")
    body = response.json()
    assert body["message"] == "Some fields are invalid; see “fields” for what to correct."
    assert body["fields"] == {"date_from": ["Enter a valid date."]}


def test_error_stays_json_for_csv_request(api_world):
    response = client_for("no-such-token").get(API + "villages/?format=csv")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "authentication_failed"
    assert response.json()["message"] == "令牌无效、已过期或已吊销，请向村委会申请新的令牌。"


# Statistics


def test_points_statistics(api_world, viewer):
    rows = results(viewer.get(API + "statistics/points/"))
    points = {(row["village"], row["month"]): (row["points"], row["entry_count"]) for row in rows}
    rule_points = api_world.entry_a.points
    # November: entry_a, the reversed entry and its reversal; October: entry_a2.
    assert points == {
        (api_world.village_a.pk, "2026-11"): (rule_points, 3),
        (api_world.village_a.pk, "2026-10"): (rule_points, 1),
    }
    assert rows[0]["category_name"] == api_world.entry_a.category_name


def test_points_statistics_filters(api_world, viewer):
    query = f"statistics/points/?district={api_world.district_a1.pk}&date_from={ACT_DATE}"
    rows = results(viewer.get(API + query))
    assert [(row["month"], row["points"], row["entry_count"]) for row in rows] == [
        ("2026-11", api_world.entry_a.points, 3)
    ]


def test_household_ranking(api_world, viewer):
    response = viewer.get(
        API + f"statistics/household-ranking/?village={api_world.village_a.pk}&period=2026-11"
    )
    assert response.status_code == 200
    body = response.json()
    assert body["period"] == "2026-11"
    assert body["truncated"] is False
    assert body["results"] == [
        {
            "rank": 1,
            "points": api_world.entry_a.points,
            "household_number": "010001",
            "name": "张*明",
        }
    ]


def test_villager_ranking_all_time(api_world, viewer):
    response = viewer.get(
        API + f"statistics/villager-ranking/?village={api_world.village_a.pk}&period=all"
    )
    ranks = [(row["rank"], row["name"]) for row in response.json()["results"]]
    assert ranks == [(1, "张*明"), (1, "王*力"), (3, "李*红")]


def test_ranking_rejects_bad_period(api_world, viewer):
    response = viewer.get(
        API + f"statistics/villager-ranking/?village={api_world.village_a.pk}&period=2026-13"
    )
    assert response.status_code == 400
    assert response.json()["fields"] == {
        "period": ["请填写 all、年份、季度（如 2026-Q4）或月份（如 2026-12）。"]
    }
    missing = viewer.get(API + "statistics/villager-ranking/")
    assert list(missing.json()["fields"]) == ["village"]


# Matters and the on-time rate


def test_matter_open311_fields(api_world, viewer):
    rows = {row["service_request_id"]: row for row in results(viewer.get(API + "matters/"))}
    open_row = rows[api_world.matter_a.pk]
    matter = Matter.objects.get(pk=api_world.matter_a.pk)
    assert open_row["open311_status"] == "open"
    assert open_row["status"] == "reported"
    assert open_row["severity"] == "medium"
    assert open_row["requested_datetime"] == timezone.localtime(matter.reported_at).isoformat()
    assert open_row["expected_datetime"] == timezone.localtime(matter.deadline).isoformat()
    assert open_row["updated_datetime"] >= open_row["requested_datetime"]
    assert open_row["is_overdue"] is False

    closed = Matter.objects.get(pk=api_world.matter_a_closed.pk)
    closed_row = rows[closed.pk]
    assert closed_row["open311_status"] == "closed"
    # The history row of the resolving save is written just after resolved_at is set.
    assert closed_row["updated_datetime"] >= timezone.localtime(closed.resolved_at).isoformat()


def test_on_time_rate(api_world, time_machine):
    w = api_world
    start = timezone.now()
    time_machine.move_to(start, tick=False)
    late = matter_report(actor=w.secretary_a1, district=w.district_a1, severity="small", title="晚")
    overdue = matter_report(
        actor=w.secretary_a1, district=w.district_a1, severity="small", title="超"
    )
    time_machine.move_to(start + timedelta(hours=2), tick=False)
    matter_move(actor=w.secretary_a1, matter_id=late.pk, status="resolved", resolution="已处理")

    client = client_for(token_for(w.township_viewer))
    month = timezone.localtime(overdue.deadline).strftime("%Y-%m")
    rows = client.get(API + f"statistics/on-time-rate/?month={month}").json()
    expected = patrols_selectors.on_time_rates(
        villages=Village.objects.filter(pk=w.village_a.pk),
        month=date.fromisoformat(month + "-01"),
        now=timezone.now(),
        by="village",
    )
    assert rows == [
        {
            "name": rate.name,
            "village": w.village_a.pk,
            "village_name": "群英村",
            "district": None,
            "closed": rate.closed,
            "closed_on_time": rate.closed_on_time,
            "open_overdue": rate.open_overdue,
            "on_time_rate": rate.rate,
        }
        for rate in expected
    ]
    assert rows[0]["name"] == "群英村"
    # The big matter resolved at once counts only if its 7-day deadline falls in this month.
    early = int(timezone.localtime(w.matter_a_closed.deadline).strftime("%Y-%m") == month)
    assert rows[0]["closed"] == 1 + early
    assert rows[0]["closed_on_time"] == early
    assert rows[0]["open_overdue"] == 1
    assert rows[0]["on_time_rate"] == pytest.approx(early / (2 + early))
    assert overdue.pk in {
        row["service_request_id"]
        for row in results(client.get(API + "matters/"))
        if row["is_overdue"]
    }


def test_on_time_rate_by_district_names_village(api_world):
    """Every village has a 第一片区, so a district row carries its village and id."""
    w = api_world
    matter_report(actor=w.outsider, district=w.district_b1, severity="small", title="乙")
    matter = matter_report(
        actor=w.secretary_a1, district=w.district_a1, severity="small", title="甲"
    )
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    month = timezone.localtime(matter.deadline).strftime("%Y-%m")

    response = client_for(token_for(admin)).get(
        API + f"statistics/on-time-rate/?month={month}&by=district"
    )

    rows = [(row["village_name"], row["district"], row["name"]) for row in response.json()]
    assert ("群英村", w.district_a1.pk, "第一片区") in rows
    assert ("新围村", w.district_b1.pk, "第一片区") in rows


def test_on_time_rate_by_district_and_empty(api_world, viewer):
    month = timezone.localtime(api_world.matter_a_closed.deadline).strftime("%Y-%m")
    rows = viewer.get(API + f"statistics/on-time-rate/?month={month}&by=district").json()
    assert [(row["name"], row["closed_on_time"]) for row in rows] == [("第一片区", 1)]
    assert viewer.get(API + "statistics/on-time-rate/?month=2001-01").json() == []
    response = viewer.get(API + "statistics/on-time-rate/?month=2026-13&by=street")
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"month", "by"}
    # Year 0 would overflow the date arithmetic of the month's bounds.
    year_zero = viewer.get(API + "statistics/on-time-rate/?month=0000-01")
    assert year_zero.status_code == 400
    assert year_zero.json()["fields"] == {"month": ["请填写月份，如 2026-12。"]}


def test_star_households_follow_points_thresholds(api_world, viewer):
    w = api_world
    rows = results(viewer.get(API + f"statistics/star-households/?year={ACT_DATE.year}"))
    expected = []
    for household in (w.household_a1, w.household_a2):
        stars, points = points_selectors.household_stars(household=household, year=ACT_DATE.year)
        expected.append((household.pk, stars, points))
    assert all(stars >= 1 for _pk, stars, _points in expected)
    assert sorted((row["household"], row["stars"], row["honour_points"]) for row in rows) == sorted(
        expected
    )
    assert {row["year"] for row in rows} == {ACT_DATE.year}
    assert {row["village_name"] for row in rows} == {"群英村"}


def test_star_households_year_and_village(api_world, viewer):
    assert results(viewer.get(API + "statistics/star-households/?year=2025")) == []
    query = f"statistics/star-households/?year={ACT_DATE.year}&village={api_world.village_b.pk}"
    assert results(viewer.get(API + query)) == []
    response = viewer.get(API + "statistics/star-households/?year=1999")
    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["year"]


def test_claims_show_notice(api_world, viewer):
    w = api_world
    rows = {row["id"]: row for row in results(viewer.get(API + "claims/"))}
    notice = Claim.objects.get(pk=w.claim_notice.pk)
    row = rows[notice.pk]
    assert row["status"] == "in_notice"
    assert row["notice_starts_at"] == timezone.localtime(notice.notice_starts_at).isoformat()
    assert row["notice_ends_at"] == timezone.localtime(notice.notice_ends_at).isoformat()
    assert row["posted_at"] is None
    assert row["villager_name"] == "王*力"
    assert rows[w.claim_objected.pk]["status"] == "objected"
    posted = rows[w.entry_a.claim_id]
    assert posted["status"] == "posted"
    assert posted["posted_at"] is not None
    assert w.claim_b.pk not in rows


def test_claim_filters(api_world, viewer):
    w = api_world

    def claim_ids(query: str) -> set[int]:
        return {row["id"] for row in results(viewer.get(API + "claims/?" + query))}

    assert claim_ids("status=in_notice") == {w.claim_notice.pk}
    assert claim_ids("status=objected") == {w.claim_objected.pk}
    assert claim_ids(f"district={w.district_a2.pk}&status=in_notice") == {w.claim_notice.pk}
    assert claim_ids(f"village={w.village_b.pk}") == set()
    ends = timezone.now().isoformat()
    assert claim_ids("notice_ends_after=" + quote(ends)) == {w.claim_notice.pk, w.claim_objected.pk}


def test_objections_listed_without_raiser(api_world, viewer):
    rows = results(viewer.get(API + "objections/"))
    assert [row["id"] for row in rows] == [api_world.objection.pk]
    row = rows[0]
    assert row["claim"] == api_world.claim_objected.pk
    assert row["claim_status"] == "objected"
    assert row["status"] == "open"
    assert row["reason"] == "那天没看到他"
    assert "raised_by" not in row
    assert results(viewer.get(API + "objections/?status=upheld")) == []


def test_patrol_compliance_per_district_month(api_world, viewer):
    w = api_world
    rows = results(viewer.get(API + "statistics/patrol-compliance/"))
    figures = {
        (row["district"], row["month"]): (
            row["days_checked"],
            row["days_kept"],
            row["compliance_rate"],
        )
        for row in rows
    }
    assert figures == {
        (w.district_a1.pk, "2026-11"): (2, 1, 0.5),
        (w.district_a2.pk, "2026-11"): (1, 0, 0.0),
    }
    one = results(viewer.get(API + f"statistics/patrol-compliance/?district={w.district_a2.pk}"))
    assert [row["district_name"] for row in one] == ["第二片区"]
    later = results(
        viewer.get(API + f"statistics/patrol-compliance/?date_from={ACT_DATE + timedelta(days=1)}")
    )
    assert [(row["days_checked"], row["days_kept"]) for row in later] == [(1, 1)]


def test_meetings_with_follow_ups(api_world, viewer):
    w = api_world
    meetings = results(viewer.get(API + "meetings/"))
    assert [row["id"] for row in meetings] == [w.meeting_a.pk]
    assert meetings[0]["attendee_count"] == 2
    assert meetings[0]["follow_up_count"] == 1
    assert meetings[0]["open_follow_up_count"] == 1
    follow_ups = results(viewer.get(API + f"follow-ups/?meeting={w.meeting_a.pk}"))
    assert [row["id"] for row in follow_ups] == [w.follow_up_a.pk]
    row = follow_ups[0]
    assert row["decision"] == "一周内修好路灯"
    assert row["owner_name"] == "pianqu1"
    assert row["matter"] == w.matter_a.pk
    assert row["matter_title"] == "路灯不亮"
    assert row["status"] == "open"
    assert results(viewer.get(API + "follow-ups/?status=done")) == []


def test_explanation_by_token_matches_selector(api_world, viewer):
    w = api_world
    response = viewer.get(API + f"points/villagers/{w.villager.pk}/explanation/")
    assert response.status_code == 200
    assert response.json() == points_selectors.villager_explanation(w.villager)
    household = viewer.get(API + f"points/households/{w.household_a1.pk}/explanation/")
    assert household.status_code == 200
    stars = household.json()["stars"]
    assert (stars["stars"], stars["honour_points"]) == points_selectors.household_stars(
        household=w.household_a1, year=timezone.localdate().year
    )


def test_villager_session_reads_own_explanation(api_world):
    w = api_world
    client = Client()
    client.force_login(w.villager_user)
    own = client.get(API + f"points/villagers/{w.villager.pk}/explanation/")
    assert own.status_code == 200
    assert own.json()["villager"]["id"] == w.villager.pk
    assert (
        client.get(API + f"points/households/{w.household_a1.pk}/explanation/").status_code == 200
    )
    other = client.get(API + f"points/villagers/{w.neighbour.pk}/explanation/")
    assert other.status_code == 404
    assert other.json()["code"] == "not_found"
    # The villager has no API role, so the other endpoints stay closed to the session.
    assert client.get(API + "ledger-entries/").status_code == 403


# Exports


def test_csv_has_chinese_headings(api_world, viewer):
    rows = csv_rows(viewer.get(API + "ledger-entries/?format=csv&status=posted"))
    assert rows[0][:3] == ["ID", "村", "片区"]
    assert "积分" in rows[0]
    assert len(rows) == 3


def test_csv_shows_choice_labels(api_world, viewer):
    rows = csv_rows(viewer.get(API + "matters/?format=csv"))
    headings = rows[0]
    assert headings[headings.index("事项等级")] == "事项等级"
    severity = {row[0]: row[headings.index("事项等级")] for row in rows[1:]}
    assert severity[str(api_world.matter_a.pk)] == "中事"


def test_format_suffix_exports(api_world, viewer):
    rows = csv_rows(viewer.get(API + "villages.csv"))
    assert rows[1][:2] == [str(api_world.village_a.pk), "群英村"]
    statistics = csv_rows(viewer.get(API + "statistics/points.csv"))
    assert statistics[0][:2] == ["村", "村名称"]
    assert len(statistics) == 3


def test_xlsx_export(api_world, viewer):
    response = viewer.get(API + "statistics/points/?format=xlsx")
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(download(response))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("村", "村名称", "治理内容", "治理内容名称", "月份", "积分", "记录数")
    assert len(rows) == 3


def test_every_list_exports(api_world, viewer):
    village = api_world.village_a.pk
    for path in [
        "townships/",
        "villages/",
        "districts/",
        "governance-items/",
        "rules/",
        "households/",
        "villagers/",
        "ledger-entries/",
        "matters/",
        "statistics/points/",
        f"statistics/on-time-rate/?month={timezone.localtime(api_world.matter_a.deadline):%Y-%m}",
        f"statistics/household-ranking/?village={village}&period=all",
        f"statistics/villager-ranking/?village={village}&period=all",
        "claims/",
        "objections/",
        "meetings/",
        "follow-ups/",
        f"statistics/star-households/?year={ACT_DATE.year}",
        "statistics/patrol-compliance/",
    ]:
        joiner = "&" if "?" in path else "?"
        rows = csv_rows(viewer.get(API + path + joiner + "format=csv"))
        assert len(rows) >= 2, path
        xlsx = viewer.get(API + path + joiner + "format=xlsx")
        assert load_workbook(io.BytesIO(download(xlsx))).active.max_row == len(rows), path


def test_export_keeps_scope(api_world):
    client = client_for(token_for(api_world.other_township_viewer))
    rows = csv_rows(client.get(API + "ledger-entries/?format=csv"))
    assert [row[0] for row in rows[1:]] == [str(api_world.entry_b.pk)]


# Pagination and throttling


def test_page_size_capped(api_world, viewer, monkeypatch):
    assert len(results(viewer.get(API + "governance-items/?page_size=3"))) == 3
    monkeypatch.setattr(CappedPageNumberPagination, "max_page_size", 5)
    body = viewer.get(API + "governance-items/?page_size=1000").json()
    assert len(body["results"]) == 5
    assert body["count"] == 11
    assert body["next"] is not None


def test_throttle_per_token(api_world, monkeypatch):
    monkeypatch.setattr(TokenRateThrottle, "rate", "3/minute", raising=False)
    busy = client_for(token_for(api_world.township_viewer))
    for _ in range(3):
        assert busy.get(API + "villages/").status_code == 200
    response = busy.get(API + "villages/")
    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert int(response["Retry-After"]) > 0
    # Another token of the same user has its own allowance.
    other = client_for(token_for(api_world.township_viewer))
    assert other.get(API + "villages/").status_code == 200
