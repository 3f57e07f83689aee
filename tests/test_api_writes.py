"""Claims and matters posted through the API, and the Idempotency-Key header."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone, translation
from django.utils.translation import gettext

from api.models import IdempotencyRecord
from patrols.models import Matter
from points.models import Claim

from .api_fixtures import build_api_world, client_for, token_for
from .factories import rule

API = "/api/v1/"


@pytest.fixture
def api_world(world):
    return build_api_world(world)


def claim_body(world, **changes) -> dict:
    return {
        "villager": world.villager.pk,
        "rule": rule().pk,
        "act_date": "2026-11-21",
        "note": "帮邻居收稻谷",
        **changes,
    }


def chinese(msgid: str) -> str:
    """Return the Chinese text of a service's message, which that app's catalog owns."""
    with translation.override("zh-hans"):
        return gettext(msgid)


def post(client: Client, path: str, body: dict, key: str | None = None):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return client.post(API + path, body, content_type="application/json", **headers)


def test_claim_submitted(api_world):
    client = client_for(token_for(api_world.recorder, write=True))
    response = post(client, "claims/", claim_body(api_world))
    assert response.status_code == 201, response.content
    claim = Claim.objects.get(pk=response.json()["id"])
    assert claim.villager == api_world.villager
    assert claim.recorded_by == api_world.recorder
    assert claim.status == Claim.Status.SUBMITTED
    assert response.json()["note"] == "帮邻居收稻谷"


def test_claim_without_key_posts_each_time(api_world):
    client = client_for(token_for(api_world.recorder, write=True))
    before = Claim.objects.count()
    post(client, "claims/", claim_body(api_world))
    post(client, "claims/", claim_body(api_world))
    assert Claim.objects.count() == before + 2


def test_claim_retry_returns_first_response(api_world):
    client = client_for(token_for(api_world.recorder, write=True))
    before = Claim.objects.count()
    first = post(client, "claims/", claim_body(api_world), key="claim-0001")
    retry = post(client, "claims/", claim_body(api_world), key="claim-0001")
    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert retry["Idempotent-Replayed"] == "true"
    assert Claim.objects.count() == before + 1


def test_same_key_other_body_rejected(api_world):
    client = client_for(token_for(api_world.recorder, write=True))
    post(client, "claims/", claim_body(api_world), key="claim-0002")
    response = post(client, "claims/", claim_body(api_world, note="另一件事"), key="claim-0002")
    assert response.status_code == 422
    assert response.json() == {
        "code": "idempotency_key_reused",
        "message": "此 Idempotency-Key 已用于另一个请求；新的请求请使用新的键值。",
        "fields": {},
    }


def test_keys_are_per_user(api_world):
    recorder = client_for(token_for(api_world.recorder, write=True))
    admin = client_for(token_for(api_world.village_admin, write=True))
    before = Claim.objects.count()
    assert post(recorder, "claims/", claim_body(api_world), key="shared").status_code == 201
    assert post(admin, "claims/", claim_body(api_world), key="shared").status_code == 201
    assert Claim.objects.count() == before + 2


def test_retry_from_second_token_of_user_replays(api_world):
    first = client_for(token_for(api_world.recorder, write=True))
    second = client_for(token_for(api_world.recorder, write=True))
    response = post(first, "claims/", claim_body(api_world), key="claim-0003")
    assert (
        post(second, "claims/", claim_body(api_world), key="claim-0003").json() == response.json()
    )


def test_failed_request_stores_nothing(api_world):
    client = client_for(token_for(api_world.recorder, write=True))
    future = (timezone.localdate() + timedelta(days=1)).isoformat()
    response = post(client, "claims/", claim_body(api_world, act_date=future), key="claim-0004")
    assert response.status_code == 400
    assert response.json()["code"] == "rejected"
    message = chinese("The date of the act is in the future; enter the day it happened.")
    assert response.json()["message"] == message
    assert response.json()["fields"] == {"act_date": [message]}
    assert not IdempotencyRecord.objects.filter(key="claim-0004").exists()
    # The corrected request may reuse the key.
    fixed = post(client, "claims/", claim_body(api_world), key="claim-0004")
    assert fixed.status_code == 201


@pytest.mark.parametrize("key", ["", "x" * 101, "有中文", "with space"])
def test_malformed_key_rejected(api_world, key):
    client = client_for(token_for(api_world.recorder, write=True))
    response = post(client, "claims/", claim_body(api_world), key=key)
    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["Idempotency-Key"]


def test_old_key_runs_again(api_world, settings):
    client = client_for(token_for(api_world.recorder, write=True))
    post(client, "claims/", claim_body(api_world), key="claim-0005")
    old = timezone.now() - timedelta(days=settings.API_IDEMPOTENCY_DAYS, seconds=1)
    IdempotencyRecord.objects.filter(key="claim-0005").update(created_at=old)
    before = Claim.objects.count()
    response = post(client, "claims/", claim_body(api_world), key="claim-0005")
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response
    assert Claim.objects.count() == before + 1


def test_claim_field_errors(api_world):
    client = client_for(token_for(api_world.recorder, write=True))
    response = post(client, "claims/", {"villager": api_world.villager_b.pk, "act_date": "x"})
    assert response.status_code == 400
    fields = response.json()["fields"]
    assert set(fields) == {"villager", "rule", "act_date"}


def test_claim_unknown_rule_rejected(api_world):
    client = client_for(token_for(api_world.recorder, write=True))
    response = post(client, "claims/", claim_body(api_world, rule=999999), key="claim-0006")
    assert response.status_code == 400
    assert response.json()["message"] == chinese(
        "No scoring rule has the id %(id)s; choose one from the list of rules."
    ) % {"id": 999999}
    assert list(response.json()["fields"]) == ["rule"]
    assert not IdempotencyRecord.objects.filter(key="claim-0006").exists()


def test_bad_json_rejected_in_chinese(api_world):
    client = client_for(token_for(api_world.recorder, write=True))
    response = client.post(API + "claims/", "{villager: 1", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"
    assert response.json()["message"] == chinese(
        "The request body is not valid JSON; check its quotes, commas and brackets."
    )


def test_missing_token_message_names_header(api_world):
    response = Client().get(API + "villages/")
    assert response.status_code == 401
    assert "Authorization: Token" in response.json()["message"]


def test_matter_reported(api_world):
    client = client_for(token_for(api_world.secretary_a1, write=True))
    body = {"district": api_world.district_a1.pk, "severity": "big", "title": "桥栏杆松动"}
    response = post(client, "matters/", body, key="matter-0001")
    assert response.status_code == 201, response.content
    matter = Matter.objects.get(pk=response.json()["service_request_id"])
    assert matter.reported_by == api_world.secretary_a1
    assert response.json()["expected_datetime"] == timezone.localtime(matter.deadline).isoformat()
    retry = post(client, "matters/", body, key="matter-0001")
    assert retry.json() == response.json()
    assert Matter.objects.filter(title="桥栏杆松动").count() == 1


def test_matter_in_other_secretary_district_refused(api_world):
    client = client_for(token_for(api_world.secretary_a1, write=True))
    body = {"district": api_world.district_a2.pk, "severity": "small", "title": "别的片区"}
    response = post(client, "matters/", body)
    assert response.status_code == 403
    assert response.json()["message"] == chinese(
        "Matters of %(district)s are handled by its own district secretary."
    ) % {"district": "第二片区"}


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_racing_retries_post_once(world):
    """Two requests with one key at the same moment create one matter and get one body."""
    api_world = build_api_world(world)
    secret = token_for(api_world.secretary_a1, write=True)
    body = {"district": api_world.district_a1.pk, "severity": "small", "title": "同时提交"}
    barrier = threading.Barrier(2)
    responses = []

    def send():
        try:
            barrier.wait(timeout=10)
            responses.append(post(client_for(secret), "matters/", body, key="race-0001"))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert [response.status_code for response in responses] == [201, 201]
    assert responses[0].json() == responses[1].json()
    assert Matter.objects.filter(title="同时提交").count() == 1
    assert IdempotencyRecord.objects.filter(key="race-0001").count() == 1


@pytest.mark.django_db
def test_portable_record_store_inserts_once(world):
    from rest_framework.test import APIRequestFactory

    from api.idempotency import _record_store_portable
    from api.models import IdempotencyRecord

    request = APIRequestFactory().post("/api/v1/claims/")
    request.user = world.recorder
    stored = dict(key="portable-1", digest="d" * 64, status=201, body={"id": 1})

    assert _record_store_portable(request, **stored) is True
    assert _record_store_portable(request, **stored) is False
    assert IdempotencyRecord.objects.filter(user=world.recorder, key="portable-1").count() == 1


@pytest.mark.parametrize(
    "stored",
    ["2026-12-05 01:54:00.123456", "2026-12-05T09:54:00.123456+08:00"],
)
def test_stored_time_read_from_any_database(stored):
    """SQLite's naive UTC text and PostgreSQL's ISO time with offset read as one moment."""
    from api.idempotency import _aware_datetime

    moment = _aware_datetime(stored)

    assert moment == datetime(2026, 12, 5, 1, 54, 0, 123456, tzinfo=UTC)
