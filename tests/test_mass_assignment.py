"""Fields a villager or an API client must not set: extra form and JSON fields change nothing."""

import io
import uuid
from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from patrols.models import Matter
from patrols.services import VILLAGER_REPORT_SEVERITY
from points.models import Claim, LedgerEntry, Objection
from points.services import claim_approve, claim_submit

from .api_fixtures import client_for, token_for
from .factories import rule

pytestmark = pytest.mark.django_db

ACT_DATE = date(2026, 11, 20)


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def jpeg() -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), "green").save(buffer, format="JPEG")
    return SimpleUploadedFile("problem.jpg", buffer.getvalue(), content_type="image/jpeg")


def forged(world) -> dict:
    """Fields of claims, objections and matters that only staff or services set."""
    return {
        "approved": "1",
        "status": "posted",
        "points": "999",
        "villager": world.neighbour.pk,
        "recorded_by": world.village_admin.pk,
        "approved_by": world.approver.pk,
        "decided_by": world.approver.pk,
        "first_approved_by": world.approver.pk,
        "channel": "staff",
        "raised_by": world.village_admin.pk,
        "reported_by": world.village_admin.pk,
        "assignee": world.secretary_a2.pk,
        "district": world.district_a2.pk,
        "village": world.village_b.pk,
        "severity": "big",
        "deadline": "2030-01-01T00:00:00+08:00",
    }


def test_self_claim_ignores_forged_fields(world, client):
    scored = rule("volunteer", 2)
    scored.self_claim = True
    scored.save()
    client.force_login(world.villager_user)

    response = client.post(
        reverse("claim-self"),
        {
            **forged(world),
            "rule": scored.pk,
            "act_date": "2026-11-20",
            "note": "扫雪",
            "form_key": str(uuid.uuid4()),
        },
    )

    assert response.status_code == 302
    claim = Claim.objects.get()
    assert claim.villager == world.villager
    assert claim.status == Claim.Status.SUBMITTED
    assert claim.recorded_by == world.villager_user
    assert claim.first_approved_by is None
    assert claim.decided_by is None
    assert claim.channel == Claim.Channel.SELF
    assert not LedgerEntry.objects.exists()


def test_objection_ignores_forged_fields(world, client):
    claim = claim_submit(
        actor=world.recorder, villager=world.neighbour, rule=rule("volunteer", 5), act_date=ACT_DATE
    )
    claim_approve(actor=world.approver, claim_id=claim.pk)
    other = claim_submit(
        actor=world.recorder, villager=world.spouse, rule=rule("volunteer", 5), act_date=ACT_DATE
    )
    client.force_login(world.villager_user)

    client.post(
        reverse("claim-object", args=[claim.pk]),
        {**forged(world), "reason": "那天他不在", "claim": other.pk, "status": "upheld"},
    )

    objection = Objection.objects.get()
    assert objection.claim == claim
    assert objection.raised_by == world.villager_user
    assert objection.status == Objection.Status.OPEN
    assert objection.decided_by is None
    assert not other.objections.exists()


def test_problem_report_ignores_forged_fields(world, client):
    client.force_login(world.villager_user)

    response = client.post(
        reverse("problem-report"),
        {
            **forged(world),
            "description": "路灯坏了",
            "photo": jpeg(),
            "form_key": str(uuid.uuid4()),
            "status": "verified",
        },
    )

    assert response.status_code == 302
    matter = Matter.objects.get()
    assert matter.district == world.district_a1
    assert matter.village == world.village_a
    assert matter.reported_by == world.villager_user
    assert matter.status == Matter.Status.REPORTED
    assert matter.severity == VILLAGER_REPORT_SEVERITY
    assert matter.assignee == world.secretary_a1
    assert matter.deadline.year < 2030


def test_api_claim_ignores_forged_fields(world):
    client = client_for(token_for(world.recorder, write=True))

    response = client.post(
        "/api/v1/claims/",
        {
            **forged(world),
            "villager": world.villager.pk,
            "rule": rule().pk,
            "act_date": "2026-11-21",
            "note": "帮邻居收稻谷",
            "approved": True,
            "points": 999,
        },
        content_type="application/json",
    )

    assert response.status_code == 201, response.content
    claim = Claim.objects.get(pk=response.json()["id"])
    assert claim.status == Claim.Status.SUBMITTED
    assert claim.recorded_by == world.recorder
    assert claim.decided_by is None
    assert claim.channel == Claim.Channel.STAFF
    assert response.json()["status"] == "submitted"
    assert not LedgerEntry.objects.exists()


def test_api_matter_ignores_forged_fields(world):
    client = client_for(token_for(world.secretary_a1, write=True))

    response = client.post(
        "/api/v1/matters/",
        {
            **forged(world),
            "district": world.district_a1.pk,
            "severity": "small",
            "title": "井盖松动",
            "description": "村口井盖",
            "status": "verified",
            "resolution": "已修好",
        },
        content_type="application/json",
    )

    assert response.status_code == 201, response.content
    matter = Matter.objects.get()
    assert matter.status == Matter.Status.REPORTED
    assert matter.village == world.village_a
    assert matter.district == world.district_a1
    assert matter.reported_by == world.secretary_a1
    assert matter.resolution == ""
    assert matter.resolved_at is None
    assert matter.deadline.year < 2030
