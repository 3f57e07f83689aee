"""Explanation pages and API, the notice board, self-claims, batch entry and photos."""

import io
import uuid
from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from points import selectors
from points.models import Claim, LedgerEntry, Objection, PointsPolicy, StarThreshold
from points.services import claim_approve, claim_submit, entry_reverse
from villagers.models import Village

from .factories import approve_and_post, rule

pytestmark = pytest.mark.django_db

ACT_DATE = date(2026, 11, 20)


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def english():
    return Client(headers={"accept-language": "en"})


def jpeg() -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), "green").save(buffer, format="JPEG")
    return SimpleUploadedFile("courtyard.jpg", buffer.getvalue(), content_type="image/jpeg")


def photo_rule():
    scored = rule("courtyard", 3)
    scored.self_claim, scored.photo_required = True, True
    scored.save()
    return scored


@pytest.fixture
def posted(world):
    """张小明 +5 (reversed later), 张小明 +3 with a photo, 王大力 +4."""
    first = claim_submit(
        actor=world.recorder, villager=world.villager, rule=rule("volunteer", 5), act_date=ACT_DATE
    )
    entry = approve_and_post(actor=world.approver, claim_id=first.pk)
    entry_reverse(actor=world.approver, entry_id=entry.pk, reason="记错人")
    with_photo = claim_submit(
        actor=world.recorder,
        villager=world.villager,
        rule=photo_rule(),
        act_date=ACT_DATE,
        photo=jpeg(),
        note="院子打扫干净",
    )
    approve_and_post(actor=world.approver, claim_id=with_photo.pk)
    other = claim_submit(
        actor=world.recorder, villager=world.neighbour, rule=rule("volunteer", 4), act_date=ACT_DATE
    )
    approve_and_post(actor=world.approver, claim_id=other.pk)
    world.photo_claim = with_photo
    return world


# --- explanations ----------------------------------------------------------------------


def test_villager_explanation_page(posted, english):
    english.force_login(posted.villager_user)
    response = english.get(reverse("villager-explanation", args=[posted.villager.pk]))

    assert response.status_code == 200
    text = response.text
    assert "测试规则+5 (rule version 1, from 2020-01-01)" in text
    assert "院子打扫干净" in text
    assert "The entries below add up to 3 honour points and 3 redeemable points." in text
    assert "Reversed by" in text
    assert reverse("claim-photo", args=[posted.photo_claim.pk]) in text


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("villager_user", 200),
        ("village_admin", 200),
        ("recorder", 200),
        ("township_viewer", 200),
        ("outsider", 404),
        ("other_township_viewer", 404),
    ],
)
def test_villager_explanation_access(posted, client, persona, status):
    client.force_login(getattr(posted, persona))
    response = client.get(reverse("villager-explanation", args=[posted.villager.pk]))
    assert response.status_code == status


def test_villager_cannot_see_neighbour(posted, client):
    client.force_login(posted.villager_user)
    response = client.get(reverse("villager-explanation", args=[posted.neighbour.pk]))
    assert response.status_code == 404
    response = client.get(reverse("household-explanation", args=[posted.household_a2.pk]))
    assert response.status_code == 404


def test_household_explanation_shows_stars(posted, english):
    StarThreshold.objects.create(village=posted.village_a, year=2026, stars=1, min_points=2)
    StarThreshold.objects.create(village=posted.village_a, year=2026, stars=2, min_points=50)
    english.force_login(posted.villager_user)

    response = english.get(reverse("household-explanation", args=[posted.household_a1.pk]))

    assert response.status_code == 200
    assert "2026: 1-star civilised household (3 honour points this year)" in response.text


def test_explanation_api_matches_selector(posted, client):
    client.force_login(posted.village_admin)
    response = client.get(f"/api/v1/points/villagers/{posted.villager.pk}/explanation/")

    assert response.status_code == 200
    assert response.json() == selectors.villager_explanation(posted.villager)
    kinds = [entry["kind"] for entry in response.json()["entries"]]
    assert sorted(kinds) == ["award", "award", "reversal"]
    reversal = next(e for e in response.json()["entries"] if e["kind"] == "reversal")
    assert reversal["reason"] == "记错人"
    assert reversal["recorded_by"] == "shenheyuan"


def test_household_api(posted, client):
    client.force_login(posted.villager_user)
    response = client.get(f"/api/v1/points/households/{posted.household_a1.pk}/explanation/")
    assert response.status_code == 200
    body = response.json()
    assert body["household"] == {"id": posted.household_a1.pk, "number": "010001"}
    assert body["honour_sum_of_entries"] == 3
    award = next(e for e in body["entries"] if e["evidence"] and e["evidence"]["note"])
    assert award["approved_by"] == "shenheyuan"
    assert award["rule"]["version"] == 1


def test_explanation_api_refusals(posted, client):
    url = f"/api/v1/points/villagers/{posted.villager.pk}/explanation/"
    assert client.get(url).status_code == 401
    client.force_login(posted.outsider)
    assert client.get(url).status_code == 404


# --- notice board and objections ---------------------------------------------------------


@pytest.fixture
def noticed(world):
    claim = claim_submit(
        actor=world.recorder, villager=world.neighbour, rule=rule("volunteer", 5), act_date=ACT_DATE
    )
    world.claim = claim_approve(actor=world.approver, claim_id=claim.pk)
    return world


def test_board_lists_claims_on_notice(noticed, english):
    english.force_login(noticed.villager_user)
    response = english.get(reverse("notice-board", args=[noticed.village_a.pk]))
    assert response.status_code == 200
    assert "Household 020001" in response.text
    assert "测试规则+5" in response.text
    assert reverse("claim-object", args=[noticed.claim.pk]) in response.text


@pytest.mark.parametrize(("persona", "status"), [("outsider", 404), ("recorder", 200)])
def test_board_access(noticed, client, persona, status):
    client.force_login(getattr(noticed, persona))
    assert client.get(reverse("notice-board", args=[noticed.village_a.pk])).status_code == status


def test_objection_form_records_objection(noticed, english):
    english.force_login(noticed.villager_user)
    response = english.post(
        reverse("claim-object", args=[noticed.claim.pk]), {"reason": "他那天不在村里"}, follow=True
    )
    assert "Your objection was recorded; the village office will review it." in response.text
    objection = Objection.objects.get()
    assert objection.reason == "他那天不在村里"
    assert objection.raised_by == noticed.villager_user


def test_objection_form_needs_reason(noticed, english):
    english.force_login(noticed.villager_user)
    response = english.post(
        reverse("claim-object", args=[noticed.claim.pk]), {"reason": ""}, follow=True
    )
    assert "This field is required." in response.text
    assert not Objection.objects.exists()


def test_staff_cannot_object(noticed, client):
    client.force_login(noticed.recorder)
    response = client.post(reverse("claim-object", args=[noticed.claim.pk]), {"reason": "x"})
    assert response.status_code == 404


# --- self-claims and batch entry ----------------------------------------------------------


def test_villager_claims_with_photo_page(world, english):
    scored = photo_rule()
    english.force_login(world.villager_user)
    form = {"rule": scored.pk, "act_date": "2026-11-20", "note": "", "form_key": str(uuid.uuid4())}

    missing = english.post(reverse("claim-self"), form)
    assert "needs a photo as evidence; add one." in missing.text
    assert not Claim.objects.exists()

    response = english.post(reverse("claim-self"), {**form, "photo": jpeg()})
    assert response.status_code == 302
    claim = Claim.objects.get()
    assert claim.channel == Claim.Channel.SELF
    assert claim.photo


def test_batch_entry_page(world, english):
    english.force_login(world.recorder)
    assert english.get(reverse("batch-entry")).status_code == 200
    response = english.post(
        reverse("batch-entry"),
        {
            "rule": rule("affairs").pk,
            "act_date": "2026-11-20",
            "note": "村民代表大会",
            "villagers": [world.villager.pk, world.neighbour.pk],
            "batch_key": str(uuid.uuid4()),
        },
        follow=True,
    )
    assert "2 claims recorded; they wait for an approver." in response.text
    assert Claim.objects.filter(channel=Claim.Channel.BATCH).count() == 2


@pytest.mark.parametrize("persona", ["villager_user", "approver", "township_viewer"])
def test_batch_entry_refused(world, client, persona):
    client.force_login(getattr(world, persona))
    assert client.get(reverse("batch-entry")).status_code == 404


# --- photos -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("villager_user", 200),
        ("recorder", 200),
        ("secretary_a1", 200),
        ("outsider", 404),
        # The claim's villager lives in district A1, which is not theirs.
        ("secretary_a2", 404),
    ],
)
def test_photo_view_checks_access(posted, client, persona, status):
    client.force_login(getattr(posted, persona))
    response = client.get(reverse("claim-photo", args=[posted.photo_claim.pk]))
    assert response.status_code == status
    if status == 200:
        assert response["Content-Type"] == "image/jpeg"


def test_posted_photo_hidden_from_other_villagers(posted, client):
    other_user = posted.villager_user.__class__.objects.create(username="linju")
    posted.neighbour.user = other_user
    posted.neighbour.save()
    client.force_login(other_user)
    assert client.get(reverse("claim-photo", args=[posted.photo_claim.pk])).status_code == 404


def test_policy_zero_days_board_empty(world, client):
    PointsPolicy.objects.create(village=world.village_a, notice_days=0)
    claim = claim_submit(
        actor=world.recorder, villager=world.neighbour, rule=rule("volunteer", 5), act_date=ACT_DATE
    )
    claim_approve(actor=world.approver, claim_id=claim.pk)
    client.force_login(world.villager_user)
    response = client.get(reverse("notice-board", args=[world.village_a.pk]))
    assert '<li class="entry">' not in response.text


def test_board_hides_name_on_deduction(world, english):
    world.village_a.ranking_name_display = Village.NameDisplay.FULL
    world.village_a.save()
    claim = claim_submit(
        actor=world.recorder,
        villager=world.neighbour,
        rule=rule("volunteer", -5),
        act_date=ACT_DATE,
    )
    claim_approve(actor=world.approver, claim_id=claim.pk)
    english.force_login(world.villager_user)

    response = english.get(reverse("notice-board", args=[world.village_a.pk]))

    assert "测试规则-5" in response.text
    assert world.neighbour.name not in response.text


def test_explanation_times_in_local_time(posted, client):
    entry = LedgerEntry.objects.filter(villager=posted.villager).first()
    client.force_login(posted.village_admin)

    response = client.get(reverse("villager-explanation", args=[posted.villager.pk]))

    local = timezone.localtime(entry.posted_at).strftime("%Y-%m-%d %H:%M")
    assert local in response.content.decode()


# --- each refusal shown once, beside its field ---------------------------------------------


def _self_claim(english, world, **changes):
    english.force_login(world.villager_user)
    form = {"rule": photo_rule().pk, "act_date": "2026-11-20", "note": ""}
    form.update(form_key=str(uuid.uuid4()), photo=jpeg())
    form.update(changes)
    return english.post(reverse("claim-self"), {k: v for k, v in form.items() if v is not None})


@pytest.mark.parametrize(
    ("changes", "field", "text"),
    [
        ({"act_date": "2030-01-01"}, "act_date", "The date of the act is in the future"),
        ({"act_date": "1900-01-01"}, "act_date", "does not apply on 1900-01-01"),
        ({"photo": None}, "photo", "needs a photo as evidence; add one."),
    ],
)
def test_self_claim_error_shown_once_beside_field(world, english, changes, field, text):
    response = _self_claim(english, world, **changes)

    assert response.status_code == 200
    assert response.text.count(text) == 1
    assert list(response.context["form"].errors) == [field]
    assert not Claim.objects.exists()


def test_self_claim_reused_form_shown_once(world, english):
    key = str(uuid.uuid4())
    assert _self_claim(english, world, form_key=key).status_code == 302

    response = _self_claim(english, world, form_key=key, note="另一件事")

    errors = response.context["form"].errors
    assert list(errors) == ["__all__"]
    assert response.text.count(str(errors["__all__"][0])) == 1


def test_self_claim_double_submit_thanks_once(world, english):
    key = str(uuid.uuid4())
    _self_claim(english, world, form_key=key)
    response = english.post(
        reverse("claim-self"),
        {"rule": Claim.objects.get().rule_id, "act_date": "2026-11-20", "note": ""}
        | {"form_key": key, "photo": jpeg()},
        follow=True,
    )

    assert response.text.count("Your claim was sent; an approver will review it.") == 1
    assert Claim.objects.count() == 1


def test_batch_future_date_shown_once_beside_date(world, english):
    english.force_login(world.recorder)
    response = english.post(
        reverse("batch-entry"),
        {
            "rule": rule("affairs").pk,
            "act_date": "2030-01-01",
            "villagers": [world.villager.pk, world.neighbour.pk],
            "batch_key": str(uuid.uuid4()),
        },
    )

    assert response.text.count("The date of the act is in the future") == 1
    assert list(response.context["form"].errors) == ["act_date"]
    assert not Claim.objects.exists()
