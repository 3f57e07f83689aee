"""Each endpoint runs at most six queries: reads at any page size and in exports, and writes."""

from contextlib import contextmanager
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from patrols.daily import district_check_day
from patrols.meetings import follow_up_add, meeting_create
from patrols.services import matter_report
from points.models import Claim
from points.services import claim_approve, claim_submit, rule_revise

from .api_fixtures import ACT_DATE, build_api_world, client_for, post_points, token_for
from .factories import HouseholdFactory, UserFactory, VillagerFactory, rule

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


# Statements of one write with an Idempotency-Key, outside any test
# transaction, so that they are counted as in production. The token query also
# loads the permissions and the key's stored response. A claim then reads the
# villager (with household and village) and the rule version in force, and
# inserts the claim, its history row and the stored response. A matter reads
# the district (with village, patrol policy and secretary) and the governance
# item, and inserts the matter, its history row and the stored response. The
# inserts run in one transaction, whose BEGIN and COMMIT Django also logs:
# they are transaction control, counted apart, and a savepoint would count.
WRITE_QUERIES = 6
# A replay needs only the token query, which brings the stored response along.
REPLAY_QUERIES = 1
TRANSACTION_CONTROL = {"BEGIN", "COMMIT"}


@contextmanager
def assert_write_queries(expected: int):
    """Assert ``expected`` queries besides one BEGIN and one COMMIT, or none of those."""
    with CaptureQueriesContext(connection) as context:
        yield
    statements = [query["sql"] for query in context.captured_queries]
    queries = [sql for sql in statements if sql not in TRANSACTION_CONTROL]
    control = [sql for sql in statements if sql in TRANSACTION_CONTROL]
    assert len(queries) == expected, "\n".join(queries)
    assert control in ([], ["BEGIN", "COMMIT"])


WRITE_DB = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def claim_body(world, rule_id: int) -> dict:
    return {"villager": world.villager.pk, "rule": rule_id, "act_date": "2026-11-21"}


def matter_body(world) -> dict:
    return {
        "district": world.district_a1.pk,
        "severity": "small",
        "title": "井盖缺失",
        "category": world.entry_a.rule.category_id,
    }


def assert_write_and_replay(client, endpoint: str, body: dict) -> None:
    def send():
        return client.post(
            API + endpoint, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="write-1"
        )

    with assert_write_queries(WRITE_QUERIES):
        first = send()
    assert first.status_code == 201, first.content
    with assert_write_queries(REPLAY_QUERIES):
        replay = send()
    assert replay.status_code == 201
    assert replay.json() == first.json()


@WRITE_DB
def test_claim_write_within_query_limit(busy_world):
    client = client_for(token_for(busy_world.recorder, write=True))
    body = claim_body(busy_world, busy_world.entry_a.rule_id)
    assert_write_and_replay(client, "claims/", body)


@WRITE_DB
def test_claim_under_old_version_within_limit(busy_world):
    """An id of a closed version still costs one query to find the version in force."""
    old = busy_world.entry_a.rule
    rule_revise(
        actor=UserFactory(username="root", is_staff=True, is_superuser=True),
        rule_id=old.pk,
        valid_from=date(2026, 11, 1),
        changes={"points": old.points + 1},
    )
    client = client_for(token_for(busy_world.recorder, write=True))
    assert_write_and_replay(client, "claims/", claim_body(busy_world, old.pk))
    claim = Claim.objects.get(act_date=date(2026, 11, 21), villager=busy_world.villager)
    assert claim.rule.version == 2


@WRITE_DB
def test_matter_write_within_query_limit(busy_world):
    client = client_for(token_for(busy_world.secretary_a1, write=True))
    assert_write_and_replay(client, "matters/", matter_body(busy_world))


@WRITE_DB
def test_write_without_key_within_limit(busy_world):
    client = client_for(token_for(busy_world.secretary_a1, write=True))
    with assert_write_queries(WRITE_QUERIES - 1):
        response = client.post(
            API + "matters/", matter_body(busy_world), content_type="application/json"
        )
    assert response.status_code == 201, response.content
