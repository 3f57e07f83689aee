"""The villager pages: home, rankings, my entries, a villager's entries, login."""

import re
from datetime import date, datetime
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.db.models import Sum
from django.test import Client
from django.urls import reverse
from django.utils import translation

from points.models import Balance, LedgerEntry
from points.selectors import mask_name
from points.services import claim_submit, entry_reverse
from villagers import roles
from villagers.models import Village, Villager

from .factories import (
    HouseholdFactory,
    UserFactory,
    VillageFactory,
    VillagerFactory,
    approve_and_post,
    rule,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 12, 15)
IN_MONTH = date(2026, 12, 10)
EARLIER_THIS_YEAR = date(2026, 3, 5)
LAST_YEAR = date(2025, 6, 1)
PASSWORD = "correct-horse-battery"


# --- helpers -------------------------------------------------------------------


class _ElementTexts(HTMLParser):
    """Collect the whitespace-normalised text of every element with a tag and class."""

    def __init__(self, tag: str, css_class: str):
        super().__init__()
        self.tag = tag
        self.css_class = css_class
        self.depth = 0
        self.parts: list[str] = []
        self.texts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag != self.tag:
            return
        if self.depth:
            self.depth += 1
        elif self.css_class in (dict(attrs).get("class") or "").split():
            self.depth = 1
            self.parts = []

    def handle_endtag(self, tag):
        if tag != self.tag or not self.depth:
            return
        self.depth -= 1
        if not self.depth:
            self.texts.append(" ".join("".join(self.parts).split()))

    def handle_data(self, data):
        if self.depth:
            self.parts.append(data)


class _TableRows(HTMLParser):
    """Collect the cell texts of each body row of the table with a class."""

    def __init__(self, css_class: str):
        super().__init__()
        self.css_class = css_class
        self.in_table = False
        self.in_body = False
        self.cell: list[str] | None = None
        self.rows: list[list[str]] = []

    def handle_starttag(self, tag, attrs):
        if tag == "table" and self.css_class in (dict(attrs).get("class") or "").split():
            self.in_table = True
        elif self.in_table and tag == "tbody":
            self.in_body = True
        elif self.in_body and tag == "tr":
            self.rows.append([])
        elif self.in_body and tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append(" ".join("".join(self.cell).split()))
            self.cell = None
        elif tag == "tbody":
            self.in_body = False
        elif tag == "table":
            self.in_table = False

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


OPT_OUT_NOTE = (
    "Households that asked to stay off public rankings, and accounts with a net deduction,"
    " are not listed."
)


def texts(response, tag: str, css_class: str) -> list[str]:
    parser = _ElementTexts(tag, css_class)
    parser.feed(response.content.decode())
    return parser.texts


def table_rows(response, css_class: str) -> list[list[str]]:
    parser = _TableRows(css_class)
    parser.feed(response.content.decode())
    return parser.rows


def first_text(response, tag: str) -> str:
    match = re.search(rf"<{tag}[^>]*>(.*?)</{tag}>", response.content.decode(), re.S)
    assert match, f"no <{tag}> in the page"
    return " ".join(re.sub(r"<[^>]+>", "", match.group(1)).split())


def award(world, villager, points: int, act_date: date = IN_MONTH) -> LedgerEntry:
    """Post points for a villager of village A through a claim and its approval."""
    claim = claim_submit(
        actor=world.recorder,
        villager=villager,
        rule=rule("volunteer", points),
        act_date=act_date,
    )
    return approve_and_post(actor=world.approver, claim_id=claim.pk)


def rankings_url(village, **params) -> str:
    url = reverse("rankings", args=[village.pk])
    if params:
        url += "?" + "&".join(f"{key}={value}" for key, value in params.items())
    return url


def set_name_display(village, display: str) -> None:
    Village.objects.filter(pk=village.pk).update(ranking_name_display=display)


# --- fixtures ------------------------------------------------------------------


@pytest.fixture
def clock():
    """Fix the clock at 10:00 on 15 December 2026, Shanghai time."""
    with time_machine.travel(datetime(2026, 12, 15, 10, 0, tzinfo=SHANGHAI), tick=False):
        yield


@pytest.fixture
def english():
    """A client that sends ``Accept-Language: en``."""
    return Client(headers={"accept-language": "en"})


@pytest.fixture
def ranked(world, clock):
    """Points this month in village A, with ties, a deduction and a village B account.

    Households: 010001 = 15 (张小明 10 + 李小红 5), 020001 = 15 (王大力),
    010002 = 5 (陈晓东), 020002 = -5 (孙平).
    """
    world.chen = VillagerFactory(
        household=HouseholdFactory(district=world.district_a1, number="010002"), name="陈晓东"
    )
    world.sun = VillagerFactory(
        household=HouseholdFactory(district=world.district_a2, number="020002"), name="孙平"
    )
    award(world, world.villager, 10)
    award(world, world.spouse, 5)
    award(world, world.neighbour, 15)
    award(world, world.chen, 5)
    award(world, world.sun, -5)

    approver_b = UserFactory(village=world.village_b, is_staff=True, roles=[roles.APPROVER])
    claim = claim_submit(
        actor=world.outsider,
        villager=world.villager_b,
        rule=rule("volunteer", 50),
        act_date=IN_MONTH,
    )
    approve_and_post(actor=approver_b, claim_id=claim.pk)
    return world


# --- home ----------------------------------------------------------------------


def test_home_lists_villages_for_anonymous(english, world):
    response = english.get("/")

    assert response.status_code == 200
    assert first_text(response, "h1") == "Choose your village"
    assert texts(response, "ul", "villages") == ["新围村, 党湾镇 群英村, 益农镇"]
    assert f'href="{rankings_url(world.village_a)}"' in response.content.decode()


def test_home_redirects_anonymous_to_only_village(client, db):
    village = VillageFactory()

    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"] == rankings_url(village)


@pytest.mark.parametrize("persona", ["villager_user", "village_admin", "outsider"])
def test_home_redirects_user_to_own_village(client, world, persona):
    user = getattr(world, persona)
    client.force_login(user)

    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"] == rankings_url(user.village)


def test_home_villager_household_village(client, world):
    user = world.villager_user
    user.village = None
    user.save()
    client.force_login(user)

    response = client.get("/")

    assert response["Location"] == rankings_url(world.village_a)


# --- rankings ------------------------------------------------------------------


def test_rankings_households_by_points_with_ties(english, ranked):
    response = english.get(rankings_url(ranked.village_a))

    assert response.status_code == 200
    assert first_text(response, "h1") == "群英村 rankings"
    assert texts(response, "h2", "period") == ["Points in December 2026"]
    assert table_rows(response, "ranking") == [
        ["1", "010001 张*明", "15"],
        ["1", "020001 王*力", "15"],
        ["3", "010002 陈*东", "5"],
    ]


def test_rankings_villagers_by_points_with_ties(english, ranked):
    response = english.get(rankings_url(ranked.village_a, board="villager"))

    assert response.status_code == 200
    assert table_rows(response, "ranking") == [
        ["1", "王*力", "15"],
        ["2", "张*明", "10"],
        ["3", "李*红", "5"],
        ["3", "陈*东", "5"],
    ]


def test_rankings_tabs_are_links(english, ranked):
    response = english.get(rankings_url(ranked.village_a, board="villager", period="year"))
    html = response.content.decode()

    assert texts(response, "nav", "tabs") == [
        "Households Villagers",
        "This month This quarter This year",
    ]
    assert '<a href="?board=household&amp;period=year">Households</a>' in html
    assert '<a href="?board=villager&amp;period=year" aria-current="page">Villagers</a>' in html
    assert '<a href="?board=villager&amp;period=month">This month</a>' in html
    assert '<a href="?board=villager&amp;period=year" aria-current="page">This year</a>' in html


def test_rankings_other_village_separate(english, ranked):
    response = english.get(rankings_url(ranked.village_b, board="villager"))

    assert table_rows(response, "ranking") == [["1", "赵*村", "50"]]


def test_rankings_year_board_counts_whole_year(english, ranked):
    award(ranked, ranked.villager, 3, EARLIER_THIS_YEAR)
    award(ranked, ranked.villager, 7, LAST_YEAR)

    month = english.get(rankings_url(ranked.village_a, period="month"))
    year = english.get(rankings_url(ranked.village_a, period="year"))

    assert table_rows(month, "ranking")[0] == ["1", "010001 张*明", "15"]
    assert texts(year, "h2", "period") == ["Points in 2026"]
    assert table_rows(year, "ranking") == [
        ["1", "010001 张*明", "18"],
        ["2", "020001 王*力", "15"],
        ["3", "010002 陈*东", "5"],
    ]


@pytest.mark.parametrize(
    ("display", "households", "villagers"),
    [
        (
            Village.NameDisplay.FULL,
            ["010001 张小明", "020001 王大力", "010002 陈晓东"],
            ["王大力", "张小明", "李小红", "陈晓东"],
        ),
        (
            Village.NameDisplay.MASKED,
            ["010001 张*明", "020001 王*力", "010002 陈*东"],
            ["王*力", "张*明", "李*红", "陈*东"],
        ),
        (
            Village.NameDisplay.HOUSEHOLD_NUMBER,
            ["010001", "020001", "010002"],
            ["020001", "010001", "010001", "010002"],
        ),
    ],
)
def test_rankings_name_display(english, ranked, display, households, villagers):
    set_name_display(ranked.village_a, display)

    household_page = english.get(rankings_url(ranked.village_a))
    villager_page = english.get(rankings_url(ranked.village_a, board="villager"))

    assert [row[1] for row in table_rows(household_page, "ranking")] == households
    assert [row[1] for row in table_rows(villager_page, "ranking")] == villagers
    if display != Village.NameDisplay.FULL:
        for page in (household_page, villager_page):
            for full_name in ("张小明", "李小红", "王大力", "陈晓东", "孙平"):
                assert full_name not in page.content.decode()


def test_rankings_household_number_mode_explained(english, ranked):
    set_name_display(ranked.village_a, Village.NameDisplay.HOUSEHOLD_NUMBER)

    response = english.get(rankings_url(ranked.village_a, board="villager"))

    assert texts(response, "th", "account") == ["Household number"]
    assert texts(response, "p", "note") == [
        OPT_OUT_NOTE,
        "Villagers under 14, villagers who have moved out and deceased villagers are not listed.",
        "This village shows household numbers instead of names.",
    ]


def test_rankings_leave_out_children_and_inactive(english, ranked):
    household = ranked.villager.household
    child = VillagerFactory(
        household=household, name="张小宝", relation_to_head="子", birth_date=date(2016, 5, 1)
    )
    fourteen_today = VillagerFactory(
        household=household, name="张十四", relation_to_head="子", birth_date=date(2012, 12, 15)
    )
    fourteen_tomorrow = VillagerFactory(
        household=household, name="张明天", relation_to_head="子", birth_date=date(2012, 12, 16)
    )
    moved_out = VillagerFactory(household=household, name="张外迁", relation_to_head="子")
    deceased = VillagerFactory(household=household, name="张已故", relation_to_head="父亲")
    child_head = VillagerFactory(
        household=HouseholdFactory(district=ranked.district_a1, number="030001"),
        name="周小童",
        birth_date=date(2014, 1, 1),
    )
    for villager in (child, fourteen_today, fourteen_tomorrow, moved_out, deceased, child_head):
        award(ranked, villager, 30)
    Villager.objects.filter(pk=moved_out.pk).update(status=Villager.Status.MOVED_OUT)
    Villager.objects.filter(pk=deceased.pk).update(status=Villager.Status.DECEASED)
    set_name_display(ranked.village_a, Village.NameDisplay.FULL)

    villagers = english.get(rankings_url(ranked.village_a, board="villager"))
    households = english.get(rankings_url(ranked.village_a))

    assert table_rows(villagers, "ranking") == [
        ["1", "张十四", "30"],
        ["2", "王大力", "15"],
        ["3", "张小明", "10"],
        ["4", "李小红", "5"],
        ["4", "陈晓东", "5"],
    ]
    for name in ("张小宝", "张明天", "张外迁", "张已故", "周小童"):
        assert name not in villagers.content.decode()
        assert name not in households.content.decode()
    # The household keeps everyone's points. A household whose head is a child shows its
    # number only.
    assert table_rows(households, "ranking") == [
        ["1", "010001 张小明", "165"],
        ["2", "030001", "30"],
        ["3", "020001 王大力", "15"],
        ["4", "010002 陈晓东", "5"],
    ]
    assert texts(villagers, "p", "note") == [
        OPT_OUT_NOTE,
        "Villagers under 14, villagers who have moved out and deceased villagers are not listed.",
    ]


def test_rankings_inactive_head_not_named(english, ranked):
    VillagerFactory(household=ranked.neighbour.household, name="王小芳", relation_to_head="女")
    Villager.objects.filter(pk=ranked.neighbour.pk).update(status=Villager.Status.MOVED_OUT)

    response = english.get(rankings_url(ranked.village_a))

    assert table_rows(response, "ranking")[1] == ["1", "020001", "15"]


def test_rankings_use_local_date(english, ranked):
    # 23:30 on 31 December in Shanghai is still December, but 00:30 on 1 January is
    # not, although both are 31 December in UTC.
    with time_machine.travel(datetime(2026, 12, 31, 23, 30, tzinfo=SHANGHAI), tick=False):
        december = english.get(rankings_url(ranked.village_a))
    with time_machine.travel(datetime(2027, 1, 1, 0, 30, tzinfo=SHANGHAI), tick=False):
        january = english.get(rankings_url(ranked.village_a))

    assert len(table_rows(december, "ranking")) == 3
    assert texts(january, "h2", "period") == ["Points in January 2027"]
    assert table_rows(january, "ranking") == []
    assert texts(january, "p", "empty") == ["No points have been recorded this month yet."]


def test_rankings_show_top_hundred(english, world, clock):
    # The board reads only Balance rows, so they are written directly here instead
    # of posting 101 claims through the services.
    households = HouseholdFactory.create_batch(101, district=world.district_a1)
    for household in households:
        VillagerFactory(household=household, relation_to_head="子")
    Balance.objects.bulk_create(
        Balance(
            village=world.village_a,
            household=household,
            period_kind="month",
            period="2026-12",
            points=200 - index,
            entry_count=1,
        )
        for index, household in enumerate(households)
    )

    response = english.get(rankings_url(world.village_a))

    rows = table_rows(response, "ranking")
    assert len(rows) == 100
    assert rows[0] == ["1", households[0].number, "200"]
    assert rows[-1] == ["100", households[99].number, "101"]
    assert texts(response, "p", "note") == ["Only the top 100 places are shown.", OPT_OUT_NOTE]


@pytest.mark.parametrize("board", ["household", "villager"])
@pytest.mark.parametrize("display", list(Village.NameDisplay))
def test_rankings_query_count(client, ranked, django_assert_num_queries, board, display):
    set_name_display(ranked.village_a, display)

    # The village, its districts, the governance items and the ranked rows,
    # however many rows.
    with django_assert_num_queries(4):
        response = client.get(rankings_url(ranked.village_a, board=board))

    assert response.status_code == 200
    assert len(table_rows(response, "ranking")) >= 3


def test_rankings_unknown_village_404(client, db):
    assert client.get(reverse("rankings", args=[999999])).status_code == 404


def test_rankings_unknown_parameters_use_defaults(english, ranked):
    response = english.get(rankings_url(ranked.village_a, board="phone", period="decade"))

    assert response.status_code == 200
    assert table_rows(response, "ranking")[0] == ["1", "010001 张*明", "15"]
    assert texts(response, "h2", "period") == ["Points in December 2026"]


def test_rankings_never_list_entries(english, ranked):
    response = english.get(rankings_url(ranked.village_a, board="villager"))
    html = str(table_rows(response, "ranking"))

    assert "测试规则" not in html
    assert "志愿服务" not in html


def test_mask_name():
    assert mask_name("张小明") == "张*明"
    assert mask_name("张明") == "张*"
    assert mask_name("欧阳小明") == "欧*明"
    assert mask_name("张") == "张*"
    assert mask_name(" 李小红 ") == "李*红"


# --- my entries ----------------------------------------------------------------


def test_my_entries_lists_entries_and_balances(english, world, clock):
    award(world, world.villager, 10, IN_MONTH)
    mistaken = award(world, world.villager, 3, date(2026, 12, 1))
    award(world, world.villager, -2, EARLIER_THIS_YEAR)
    award(world, world.villager, 7, LAST_YEAR)
    award(world, world.spouse, 5, IN_MONTH)
    award(world, world.neighbour, 40, IN_MONTH)
    entry_reverse(actor=world.approver, entry_id=mistaken.pk, reason="记错了日期")
    english.force_login(world.villager_user)

    response = english.get(reverse("my-entries"))

    assert response.status_code == 200
    assert first_text(response, "h1") == "My points"
    assert texts(response, "p", "who") == ["张小明, household 010001"]
    assert table_rows(response, "totals") == [
        ["This month", "10", "15"],
        ["This year", "8", "13"],
        ["All time", "15", "20"],
    ]
    assert texts(response, "li", "entry") == [
        "Dec. 10, 2026 +10 志愿服务 测试规则+10",
        "Dec. 1, 2026 -3 志愿服务 测试规则+3 Correction of an earlier entry. Reason: 记错了日期",
        "Dec. 1, 2026 +3 志愿服务 测试规则+3 Reversed: a later correction cancelled these points.",
        "March 5, 2026 -2 志愿服务 测试规则-2",
        "June 1, 2025 +7 志愿服务 测试规则+7",
    ]
    assert "王大力" not in response.content.decode()


def test_my_entries_balances_equal_sum_of_entries(english, world, clock):
    first = award(world, world.villager, 10, IN_MONTH)
    award(world, world.villager, 4, EARLIER_THIS_YEAR)
    award(world, world.villager, -3, LAST_YEAR)
    award(world, world.spouse, 6, IN_MONTH)
    entry_reverse(actor=world.approver, entry_id=first.pk, reason="重复记分")
    english.force_login(world.villager_user)

    response = english.get(reverse("my-entries"))

    listed = [int(points) for points in texts(response, "span", "entry-points")]
    totals = {row[0]: (int(row[1]), int(row[2])) for row in table_rows(response, "totals")}
    own = LedgerEntry.objects.filter(villager=world.villager)
    household = LedgerEntry.objects.filter(household=world.villager.household)

    def total(entries, **filters):
        return entries.filter(**filters).aggregate(total=Sum("points"))["total"] or 0

    assert totals["All time"][0] == sum(listed) == total(own) == 1
    assert totals["This year"][0] == total(own, act_date__year=2026) == 4
    assert totals["This month"][0] == total(own, act_date__year=2026, act_date__month=12) == 0
    assert totals["All time"][1] == total(household) == 7
    assert totals["This year"][1] == total(household, act_date__year=2026) == 10
    assert totals["This month"][1] == total(household, act_date__year=2026, act_date__month=12) == 6


def test_my_entries_without_points(english, world, clock):
    english.force_login(world.villager_user)

    response = english.get(reverse("my-entries"))

    assert table_rows(response, "totals") == [
        ["This month", "0", "0"],
        ["This year", "0", "0"],
        ["All time", "0", "0"],
    ]
    assert texts(response, "p", "empty") == [
        "No points have been recorded this year yet.",
        "No points have been recorded yet.",
    ]


def test_my_entries_query_count(client, world, clock, django_assert_num_queries):
    for points in (1, 2, 3):
        award(world, world.villager, points)
    client.force_login(world.villager_user)

    # Session, user, villager, balances, star level, entry count, the page of entries,
    # and for the household's year: points by month, by item, and its place (its own
    # balance, then the count of households above it).
    with django_assert_num_queries(11):
        response = client.get(reverse("my-entries"))

    assert response.status_code == 200


def test_my_entries_paginated(english, world, clock):
    for _ in range(51):
        award(world, world.villager, 1)
    english.force_login(world.villager_user)

    first = english.get(reverse("my-entries"))
    second = english.get(reverse("my-entries"), {"page": 2})

    assert len(texts(first, "li", "entry")) == 50
    assert len(texts(second, "li", "entry")) == 1
    assert texts(first, "nav", "pages") == ["Page 1 of 2 Older entries"]
    assert texts(second, "nav", "pages") == ["Newer entries Page 2 of 2"]


def test_my_entries_login_required(client, db):
    response = client.get(reverse("my-entries"))

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/me/"


def test_my_entries_staff_go_to_rankings(client, world):
    client.force_login(world.village_admin)

    response = client.get(reverse("my-entries"))

    assert response.status_code == 302
    assert response["Location"] == rankings_url(world.village_a)


def test_my_entries_township_viewer_goes_home(client, world):
    client.force_login(world.township_viewer)

    response = client.get(reverse("my-entries"))

    assert response.status_code == 302
    assert response["Location"] == reverse("home")


def test_my_entries_unlinked_login(english, world):
    english.force_login(UserFactory(village=world.village_a, roles=[roles.VILLAGER]))

    response = english.get(reverse("my-entries"))

    assert response.status_code == 200
    assert first_text(response, "main") == (
        "My points Your login is not linked to a villager on the village roster, so there "
        "are no points to show. Ask the village office to link it."
    )


# --- a villager's entries, for staff --------------------------------------------


@pytest.mark.parametrize(
    "persona",
    ["village_admin", "secretary_a1", "recorder", "approver", "township_viewer"],
)
def test_villager_entries_allowed(english, world, clock, persona):
    award(world, world.villager, 10)
    english.force_login(getattr(world, persona))

    response = english.get(reverse("villager-entries", args=[world.villager.pk]))

    assert response.status_code == 200
    assert first_text(response, "h1") == "Points of 张小明"
    assert texts(response, "p", "who") == ["Household 010001, status: Active"]
    assert table_rows(response, "totals") == [
        ["This month", "10", "10"],
        ["This year", "10", "10"],
        ["All time", "10", "10"],
    ]
    assert texts(response, "li", "entry") == ["Dec. 10, 2026 +10 志愿服务 测试规则+10"]


@pytest.mark.parametrize(
    "persona", ["villager_user", "secretary_a2", "outsider", "other_township_viewer"]
)
def test_villager_entries_refused(client, world, persona):
    client.force_login(getattr(world, persona))

    response = client.get(reverse("villager-entries", args=[world.villager.pk]))

    assert response.status_code == 404


def test_villager_entries_other_village_refused(client, world):
    client.force_login(world.village_admin)

    refused = client.get(reverse("villager-entries", args=[world.villager_b.pk]))
    client.force_login(world.outsider)
    allowed = client.get(reverse("villager-entries", args=[world.villager_b.pk]))

    assert refused.status_code == 404
    assert allowed.status_code == 200


def test_villager_entries_unknown_id_404(client, world):
    client.force_login(world.village_admin)

    assert client.get(reverse("villager-entries", args=[999999])).status_code == 404


def test_villager_entries_anonymous_to_login(client, world):
    url = reverse("villager-entries", args=[world.villager.pk])

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={url}"


def test_villager_entries_query_count(client, world, clock, django_assert_num_queries):
    for points in (1, 2, 3):
        award(world, world.villager, points)
    client.force_login(world.village_admin)

    # Session, user, villager, the user's own and group permissions (whether
    # they see every district), balances, star level, entry count, the page
    # of entries and the unread notifications in the staff navigation bar.
    with django_assert_num_queries(10):
        response = client.get(reverse("villager-entries", args=[world.villager.pk]))

    assert response.status_code == 200


# --- personal data and outside hosts --------------------------------------------


def _every_page(world):
    """Yield (client, url) for each page, as a user who may see it."""
    anonymous = Client(headers={"accept-language": "en"})
    villager = Client(headers={"accept-language": "en"})
    villager.force_login(world.villager_user)
    staff = Client(headers={"accept-language": "en"})
    staff.force_login(world.village_admin)
    yield anonymous, reverse("home")
    yield anonymous, reverse("login")
    for board in ("household", "villager"):
        for period in ("month", "year"):
            yield anonymous, rankings_url(world.village_a, board=board, period=period)
    yield villager, reverse("my-entries")
    yield staff, reverse("villager-entries", args=[world.villager.pk])
    yield staff, reverse("villager-entries", args=[world.spouse.pk])


def test_pages_show_no_id_numbers_or_phones(ranked):
    Villager.objects.filter(pk=ranked.villager.pk).update(phone="13912345678")
    secrets = ["13912345678", "139****5678", "13800000000", "138****0000"]
    for villager in Villager.objects.all():
        secrets.append(villager.id_number_masked)
        secrets.append(villager.id_number_masked.replace("*", ""))
    for display in Village.NameDisplay:
        set_name_display(ranked.village_a, display)
        for client, url in _every_page(ranked):
            response = client.get(url)
            assert response.status_code == 200, url
            html = response.content.decode()
            for secret in secrets:
                assert secret not in html, (url, secret)


def test_pages_link_only_to_own_host(ranked):
    for client, url in _every_page(ranked):
        html = client.get(url).content.decode()
        links = re.findall(r"""(?:src|href|action)\s*=\s*["']([^"']*)["']""", html)
        assert links, url
        for link in links:
            assert not re.match(r"(?i)(https?:)?//", link), (url, link)
        assert "@import" not in html
        # Scripts are files of this site or JSON data, never inline code.
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert re.search(r'\bsrc="/static/|type="application/json"', tag), (url, tag)


def test_static_css_fetches_nothing():
    static = Path(settings.BASE_DIR) / "static"
    for stylesheet in static.rglob("*.css"):
        css = stylesheet.read_text(encoding="utf-8")
        assert "@import" not in css, stylesheet
        assert "@font-face" not in css, stylesheet
        for target in re.findall(r"""url\(\s*["']?([^"')]*)""", css):
            assert target.startswith("data:"), (stylesheet, target)


# --- layout, language and login --------------------------------------------------


def test_base_layout(english, ranked):
    response = english.get(rankings_url(ranked.village_a))
    html = response.content.decode()

    assert '<html lang="en" data-theme="light">' in html
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert first_text(response, "title") == "群英村 rankings · Energy Points"
    assert texts(response, "a", "brand") == ["Energy Points"]
    assert '<link rel="stylesheet" href="/static/vendor/pico/pico.min.css">' in html
    assert '<link rel="stylesheet" href="/static/css/app.css">' in html
    assert '<a href="/me/">My points</a>' in html


def test_default_language_is_chinese(client, ranked):
    response = client.get(rankings_url(ranked.village_a))

    assert '<html lang="zh-hans" data-theme="light">' in response.content.decode()
    with translation.override("zh-hans"):
        assert texts(response, "a", "brand") == [translation.gettext("Energy Points")]


def test_language_switch_posts_to_set_language(english, ranked):
    url = rankings_url(ranked.village_a)
    html = english.get(url).content.decode()

    assert '<form method="post" action="/i18n/setlang/" class="language-switch">' in html
    assert f'<input type="hidden" name="next" value="{url}">' in html
    assert 'name="language" value="zh-hans"' in html
    assert 'name="language" value="en"' in html

    chinese = Client()
    response = chinese.post("/i18n/setlang/", {"language": "en", "next": url})
    assert response.status_code == 302
    assert response["Location"] == url
    assert '<html lang="en"' in chinese.get(url).content.decode()


def test_logout_is_a_post_form(english, world):
    english.force_login(world.villager_user)

    html = english.get(reverse("my-entries")).content.decode()

    assert '<form method="post" action="/accounts/logout/">' in html
    assert '<button type="submit" class="link-button">Log out</button>' in html
    response = english.post("/accounts/logout/")
    assert response.status_code == 302
    assert english.get(reverse("my-entries")).status_code == 302


def test_staff_header_links_to_admin(english, world):
    english.force_login(world.village_admin)

    html = english.get(rankings_url(world.village_a)).content.decode()

    assert '<a href="/admin/">Admin</a>' in html
    assert '<a href="/me/">My points</a>' not in html


def test_login_page(english, world):
    response = english.get("/accounts/login/?next=/me/")

    assert response.status_code == 200
    assert first_text(response, "h1") == "Log in"
    html = response.content.decode()
    assert 'name="csrfmiddlewaretoken"' in html
    assert '<input type="hidden" name="next" value="/me/">' in html
    assert 'autocomplete="username"' in html
    assert 'autocomplete="current-password"' in html


def test_login_wrong_password_message(english, world):
    response = english.post(
        "/accounts/login/", {"username": "cunmin", "password": "wrong-password"}
    )

    assert response.status_code == 200
    assert texts(response, "div", "form-error") == [
        "The phone number and password or code do not match. Check them and try again;"
        " after 5 failed tries, wait 15 minutes or ask the village office for a new code."
    ]


def test_login_goes_to_next(english, world):
    response = english.post(
        "/accounts/login/", {"username": "cunmin", "password": PASSWORD, "next": "/me/"}
    )

    assert response.status_code == 302
    assert response["Location"] == "/me/"


def test_missing_page_in_chinese(client, world):
    response = client.get("/villages/999999/rankings/")
    assert response.status_code == 404
    assert "页面不存在" in response.text
    assert "Traceback" not in response.text
