"""Each read endpoint runs at most six queries, at any page size and in exports."""

from datetime import timedelta

import pytest
from django.test import Client

from patrols.daily import district_check_day
from patrols.meetings import follow_up_add, meeting_create
from patrols.services import matter_report
from points.services import claim_approve, claim_submit

from .api_fixtures import ACT_DATE, build_api_world, client_for, post_points, token_for
from .factories import HouseholdFactory, VillagerFactory, rule

API = "/api/v1/"
MAX_QUERIES = 6
# Rows added to village A, so that a page of 50 contains many more rows than a page of 2.
EXTRA_ROWS = 12


@pytest.fixture
def busy_world(world):
    """``build_api_world`` plus a dozen more households, villagers, entries and matters."""
    api_world = build_api_world(world)
    for number in range(EXTRA_ROWS):
        household = HouseholdFactory(district=world.district_a2, number=f"03{number:04d}")
        villager = VillagerFactory(household=household, name=f"村民甲{number}")
        post_points(api_world, villager)
        matter = matter_report(
            actor=world.secretary_a2,
            district=world.district_a2,
            severity="medium",
            title=f"事项{number}",
        )
        add_busy_rows(api_world, villager, matter, day=ACT_DATE - timedelta(days=number + 1))
    return api_world


def add_busy_rows(world, villager, matter, *, day) -> None:
    """Add a claim on notice, a patrol check and a meeting with a follow-up on ``day``."""
    claim = claim_submit(actor=world.recorder, villager=villager, rule=rule(), act_date=day)
    claim_approve(actor=world.approver, claim_id=claim.pk)
    district_check_day(district=world.district_a2, day=day)
    meeting = meeting_create(
        actor=world.village_admin,
        village=world.village_a,
        date=day,
        attendees=[world.secretary_a2],
    )
    follow_up_add(
        actor=world.village_admin,
        meeting=meeting,
        decision=f"跟进{matter.title}",
        owner=world.secretary_a2,
        due_date=day + timedelta(days=7),
        matter=matter,
    )


def read_paths(world) -> list[str]:
    village = world.village_a.pk
    return [
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
        "statistics/on-time-rate/",
        f"statistics/household-ranking/?village={village}&period=all",
        f"statistics/villager-ranking/?village={village}&period=all",
        f"statistics/star-households/?year={ACT_DATE.year}",
        "statistics/patrol-compliance/",
        "claims/",
        "objections/",
        "meetings/",
        "follow-ups/",
        f"villagers/{world.villager.pk}/",
        f"ledger-entries/{world.entry_a.pk}/",
        f"matters/{world.matter_a.pk}/",
        f"claims/{world.claim_notice.pk}/",
        f"meetings/{world.meeting_a.pk}/",
        f"follow-ups/{world.follow_up_a.pk}/",
    ]


def with_query(path: str, query: str) -> str:
    return API + path + ("&" if "?" in path else "?") + query


def consume(response) -> None:
    assert response.status_code == 200, response.content
    if response.streaming:
        b"".join(response.streaming_content)


@pytest.mark.parametrize("page_size", [2, 50])
def test_token_reads_within_query_limit(busy_world, django_assert_max_num_queries, page_size):
    client = client_for(token_for(busy_world.township_viewer))
    for path in read_paths(busy_world):
        with django_assert_max_num_queries(MAX_QUERIES):
            consume(client.get(with_query(path, f"page_size={page_size}")))


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_exports_within_query_limit(busy_world, django_assert_max_num_queries, file_format):
    client = client_for(token_for(busy_world.township_viewer))
    for path in read_paths(busy_world):
        with django_assert_max_num_queries(MAX_QUERIES):
            consume(client.get(with_query(path, f"format={file_format}")))


@pytest.mark.parametrize("page_size", [2, 50])
def test_session_reads_within_query_limit(busy_world, django_assert_max_num_queries, page_size):
    client = Client()
    client.force_login(busy_world.township_viewer)
    for path in read_paths(busy_world):
        with django_assert_max_num_queries(MAX_QUERIES):
            consume(client.get(with_query(path, f"page_size={page_size}")))


# Statements of one write with an Idempotency-Key, counted inside the test's
# transaction, so that BEGIN and COMMIT show up as a SAVEPOINT and its RELEASE.
# Of each, the API runs 7: the token and the permissions (3), the key lookup,
# the transaction (2) and the insert of the stored response. The rest are the
# request fields' lookups and the points or patrols service: its reads, the row
# and its history row, and the service's own savepoint pair. A claim also reads
# the village's population settings, to check that the villager takes part.
WRITE_QUERIES = {"claims/": 16, "matters/": 15}
# A replay reads the token, the permissions and the stored response.
MAX_REPLAY_QUERIES = 4


@pytest.mark.parametrize("endpoint", ["claims/", "matters/"])
def test_writes_within_query_limit(
    busy_world, django_assert_num_queries, django_assert_max_num_queries, endpoint
):
    if endpoint == "claims/":
        user = busy_world.recorder
        body = {
            "villager": busy_world.villager.pk,
            "rule": busy_world.entry_a.rule_id,
            "act_date": "2026-11-21",
        }
    else:
        user = busy_world.secretary_a1
        body = {"district": busy_world.district_a1.pk, "severity": "small", "title": "井盖缺失"}
    client = client_for(token_for(user, write=True))

    def send():
        return client.post(
            API + endpoint, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="write-1"
        )

    with django_assert_num_queries(WRITE_QUERIES[endpoint]):
        assert send().status_code == 201
    with django_assert_max_num_queries(MAX_REPLAY_QUERIES):
        assert send().status_code == 201
