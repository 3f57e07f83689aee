"""Who may call which API endpoint: tokens, scoping to villages, roles and sessions."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from knox.models import AuthToken

from api.services import token_revoke

from .api_fixtures import build_api_world, client_for, token_for
from .factories import UserFactory


@pytest.fixture
def api_world(world):
    return build_api_world(world)


# Every read endpoint, with placeholders for the ids of village A's rows.
LISTS = [
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
    "statistics/household-ranking/?village={village_a}",
    "statistics/villager-ranking/?village={village_a}",
    "claims/",
    "objections/",
    "meetings/",
    "follow-ups/",
    "statistics/star-households/?year=2026",
    "statistics/patrol-compliance/",
]
DETAILS = [
    "townships/{township}/",
    "villages/{village_a}/",
    "districts/{district_a1}/",
    "households/{household_a1}/",
    "villagers/{villager}/",
    "ledger-entries/{entry_a}/",
    "matters/{matter_a}/",
    "governance-items/{category}/",
    "rules/{rule}/",
    "claims/{claim_notice}/",
    "objections/{objection}/",
    "meetings/{meeting_a}/",
    "follow-ups/{follow_up_a}/",
]
# Explanations take a session as well as a token.
EXPLANATIONS = [
    "points/villagers/{villager}/explanation/",
    "points/households/{household_a1}/explanation/",
]
WRITES = ["claims/", "matters/"]
# Endpoints whose rows belong to villages; governance items and rules are shared by all.
SCOPED_DETAILS = [url for url in DETAILS if not url.startswith(("governance-items", "rules"))]


def ids(world) -> dict[str, int]:
    return {
        "township": world.township.pk,
        "village_a": world.village_a.pk,
        "district_a1": world.district_a1.pk,
        "household_a1": world.household_a1.pk,
        "villager": world.villager.pk,
        "entry_a": world.entry_a.pk,
        "matter_a": world.matter_a.pk,
        "category": world.entry_a.category_id,
        "rule": world.entry_a.rule_id,
        "claim_notice": world.claim_notice.pk,
        "objection": world.objection.pk,
        "meeting_a": world.meeting_a.pk,
        "follow_up_a": world.follow_up_a.pk,
    }


def url(world, template: str) -> str:
    return "/api/v1/" + template.format(**ids(world))


def write_body(world, endpoint: str) -> dict:
    if endpoint == "claims/":
        return {
            "villager": world.villager.pk,
            "rule": world.entry_a.rule_id,
            "act_date": "2026-11-21",
        }
    return {"district": world.district_a1.pk, "severity": "small", "title": "井盖缺失"}


def all_requests(world):
    for template in LISTS + DETAILS:
        yield "get", url(world, template), None
    for endpoint in WRITES:
        yield "post", url(world, endpoint), write_body(world, endpoint)


def send(client: Client, method: str, path: str, body):
    if method == "get":
        return client.get(path)
    return client.post(path, body, content_type="application/json")


def assert_refused(response, status: int, code: str):
    assert response.status_code == status, (response.request["PATH_INFO"], response.content)
    body = response.json()
    assert body["code"] == code
    assert body["message"]
    assert body["fields"] == {}


# Credentials


def test_anonymous_refused_everywhere(api_world):
    for method, path, body in all_requests(api_world):
        response = send(Client(), method, path, body)
        assert_refused(response, 401, "not_authenticated")
        assert response["WWW-Authenticate"] == "Token"


def test_expired_token_refused_everywhere(api_world):
    secret = token_for(api_world.village_admin, write=True)
    AuthToken.objects.update(expiry=timezone.now() - timedelta(seconds=1))
    for method, path, body in all_requests(api_world):
        response = send(client_for(secret), method, path, body)
        assert_refused(response, 401, "authentication_failed")


def test_token_just_before_expiry_accepted(api_world):
    secret = token_for(api_world.village_admin)
    AuthToken.objects.update(expiry=timezone.now() + timedelta(seconds=30))
    assert client_for(secret).get(url(api_world, "villages/")).status_code == 200


def test_revoked_token_refused_everywhere(api_world):
    secret = token_for(api_world.village_admin, write=True)
    other_secret = token_for(api_world.village_admin)
    assert token_revoke(token_key=secret[:15]) == 1
    for method, path, body in all_requests(api_world):
        response = send(client_for(secret), method, path, body)
        assert_refused(response, 401, "authentication_failed")
    # Revocation is one token at a time: the user's other token still works.
    assert client_for(other_secret).get(url(api_world, "villages/")).status_code == 200


def test_wrong_secret_with_real_key_refused(api_world):
    secret = token_for(api_world.village_admin)
    forged = secret[:15] + "0" * (len(secret) - 15)
    response = client_for(forged).get(url(api_world, "villages/"))
    assert_refused(response, 401, "authentication_failed")


def test_deactivated_user_token_refused(api_world):
    secret = token_for(api_world.village_admin)
    api_world.village_admin.is_active = False
    api_world.village_admin.save()
    response = client_for(secret).get(url(api_world, "villages/"))
    assert_refused(response, 401, "authentication_failed")


# Scoping


def test_other_township_sees_no_row_of_village_a(api_world):
    client = client_for(token_for(api_world.other_township_viewer))
    for template in SCOPED_DETAILS:
        response = client.get(url(api_world, template))
        assert_refused(response, 404, "not_found")
    for template in [
        "statistics/household-ranking/?village={village_a}",
        "statistics/villager-ranking/?village={village_a}",
    ]:
        assert_refused(client.get(url(api_world, template)), 404, "not_found")

    villages = client.get(url(api_world, "villages/")).json()["results"]
    assert [row["id"] for row in villages] == [api_world.village_b.pk]
    entries = client.get(url(api_world, "ledger-entries/")).json()["results"]
    assert [row["id"] for row in entries] == [api_world.entry_b.pk]
    matters = client.get(url(api_world, "matters/")).json()["results"]
    assert [row["service_request_id"] for row in matters] == [api_world.matter_b.pk]
    month = timezone.localtime(api_world.matter_b.deadline).strftime("%Y-%m")
    rates = client.get(url(api_world, f"statistics/on-time-rate/?month={month}")).json()
    assert [row["name"] for row in rates] == ["新围村"]
    points = client.get(url(api_world, "statistics/points/")).json()["results"]
    assert {row["village"] for row in points} == {api_world.village_b.pk}

    claims = client.get(url(api_world, "claims/")).json()["results"]
    assert {row["id"] for row in claims} == {api_world.claim_b.pk, api_world.entry_b.claim_id}
    assert client.get(url(api_world, "objections/")).json()["results"] == []
    meetings = client.get(url(api_world, "meetings/")).json()["results"]
    assert [row["id"] for row in meetings] == [api_world.meeting_b.pk]
    follow_ups = client.get(url(api_world, "follow-ups/")).json()["results"]
    assert [row["id"] for row in follow_ups] == [api_world.follow_up_b.pk]
    stars = client.get(url(api_world, "statistics/star-households/?year=2026")).json()
    assert {row["village"] for row in stars["results"]} == {api_world.village_b.pk}
    compliance = client.get(url(api_world, "statistics/patrol-compliance/")).json()["results"]
    assert [row["district"] for row in compliance] == [api_world.district_b1.pk]
    for template in EXPLANATIONS:
        assert_refused(client.get(url(api_world, template)), 404, "not_found")


def test_township_viewer_sees_only_its_township(api_world):
    client = client_for(token_for(api_world.township_viewer))
    for template in LISTS + DETAILS:
        response = client.get(url(api_world, template))
        assert response.status_code == 200, (template, response.content)

    villages = client.get(url(api_world, "villages/")).json()["results"]
    assert [row["id"] for row in villages] == [api_world.village_a.pk]
    townships = client.get(url(api_world, "townships/")).json()["results"]
    assert [row["id"] for row in townships] == [api_world.township.pk]
    households = client.get(url(api_world, "households/")).json()["results"]
    assert api_world.household_b1.pk not in [row["id"] for row in households]
    villagers = client.get(url(api_world, "villagers/")).json()["results"]
    assert api_world.villager_b.pk not in [row["id"] for row in villagers]


def test_village_staff_sees_only_own_village(api_world):
    client = client_for(token_for(api_world.outsider))
    entries = client.get(url(api_world, "ledger-entries/")).json()["results"]
    assert [row["id"] for row in entries] == [api_world.entry_b.pk]
    assert client.get(url(api_world, "villagers/{villager}/")).status_code == 404


# Roles


def test_villager_role_refused_everywhere(api_world):
    secret = token_for(api_world.villager_user, write=True)
    for method, path, body in all_requests(api_world):
        response = send(client_for(secret), method, path, body)
        assert_refused(response, 403, "permission_denied")


def test_staff_without_role_refused(api_world):
    bare = UserFactory(username="wujuese", village=api_world.village_a, is_staff=True)
    secret = token_for(bare, write=True)
    for method, path, body in all_requests(api_world):
        response = send(client_for(secret), method, path, body)
        assert_refused(response, 403, "permission_denied")


# Read endpoints each role lacks the permission for.
ROLE_REFUSALS = {
    "recorder": [
        "townships/",
        "villages/",
        "districts/",
        "matters/",
        "statistics/on-time-rate/",
        "villages/{village_a}/",
        "matters/{matter_a}/",
    ],
    "approver": ["townships/", "villages/", "districts/", "matters/", "statistics/on-time-rate/"],
    "secretary_a1": ["townships/", "villages/", "villages/{village_a}/"],
}


@pytest.mark.parametrize("persona", sorted(ROLE_REFUSALS))
def test_role_refused_reads_it_lacks(api_world, persona):
    client = client_for(token_for(getattr(api_world, persona)))
    for template in ROLE_REFUSALS[persona]:
        assert_refused(client.get(url(api_world, template)), 403, "permission_denied")
    # The same token reads what the role may see.
    assert client.get(url(api_world, "ledger-entries/")).status_code == 200


@pytest.mark.parametrize("persona", ["township_viewer", "approver"])
def test_role_without_write_permission_refused_writes(api_world, persona):
    secret = token_for(getattr(api_world, persona), write=True)
    for endpoint in WRITES:
        response = send(
            client_for(secret), "post", url(api_world, endpoint), write_body(api_world, endpoint)
        )
        assert_refused(response, 403, "permission_denied")


def test_read_only_token_refused_writes(api_world):
    secret = token_for(api_world.village_admin)
    for endpoint in WRITES:
        response = send(
            client_for(secret), "post", url(api_world, endpoint), write_body(api_world, endpoint)
        )
        assert_refused(response, 403, "permission_denied")
        assert response.json()["message"] == "此令牌只能读取数据；如需写入，请申请可写入的令牌。"


def test_write_token_of_other_village_refused(api_world):
    secret = token_for(api_world.outsider, write=True)
    claim = send(
        client_for(secret), "post", url(api_world, "claims/"), write_body(api_world, "claims/")
    )
    assert claim.status_code == 400
    assert list(claim.json()["fields"]) == ["villager"]
    matter = send(
        client_for(secret), "post", url(api_world, "matters/"), write_body(api_world, "matters/")
    )
    assert matter.status_code == 400
    assert list(matter.json()["fields"]) == ["district"]


# Sessions


def test_session_reads_with_role_permissions(api_world):
    client = Client()
    client.force_login(api_world.township_viewer)
    assert client.get(url(api_world, "villages/")).status_code == 200
    client.force_login(api_world.villager_user)
    assert_refused(client.get(url(api_world, "villages/")), 403, "permission_denied")


def test_session_write_needs_csrf_token(api_world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(api_world.recorder)
    response = send(client, "post", url(api_world, "claims/"), write_body(api_world, "claims/"))
    assert_refused(response, 403, "permission_denied")
    assert "CSRF" in response.json()["message"]


@pytest.mark.parametrize("endpoint", WRITES)
def test_session_writes_refused(api_world, endpoint):
    """A session only reads: even with CSRF passed, writes need a token."""
    client = Client()
    client.force_login(api_world.village_admin)
    response = client.post(
        url(api_world, endpoint),
        write_body(api_world, endpoint),
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert_refused(response, 403, "permission_denied")
    assert "need a token that may write" in response.json()["message"]


# Explanations of points


def test_explanations_refuse_bad_credentials(api_world):
    for template in EXPLANATIONS:
        path = url(api_world, template)
        assert_refused(Client().get(path), 401, "not_authenticated")
        assert_refused(client_for("no-such-token").get(path), 401, "authentication_failed")

    expired = token_for(api_world.township_viewer)
    revoked = token_for(api_world.township_viewer)
    assert token_revoke(token_key=revoked[:15]) == 1
    AuthToken.objects.update(expiry=timezone.now() - timedelta(seconds=1))
    for template in EXPLANATIONS:
        path = url(api_world, template)
        assert_refused(client_for(expired).get(path), 401, "authentication_failed")
        assert_refused(client_for(revoked).get(path), 401, "authentication_failed")


def test_explanations_by_token_need_api_role(api_world):
    # A token of staff without the API role is refused before any row is read.
    staff = UserFactory(username="wujuese", village=api_world.village_a, is_staff=True)
    for template in EXPLANATIONS:
        path = url(api_world, template)
        assert_refused(client_for(token_for(staff)).get(path), 403, "permission_denied")
        viewer = client_for(token_for(api_world.township_viewer))
        assert viewer.get(path).status_code == 200


def test_explanations_scoped_for_sessions(api_world):
    outsider = Client()
    outsider.force_login(api_world.outsider)
    neighbour_user = UserFactory(username="linju", village=api_world.village_a)
    api_world.neighbour.user = neighbour_user
    api_world.neighbour.save()
    neighbour = Client()
    neighbour.force_login(neighbour_user)
    for template in EXPLANATIONS:
        path = url(api_world, template)
        assert_refused(outsider.get(path), 404, "not_found")
        assert_refused(neighbour.get(path), 404, "not_found")
