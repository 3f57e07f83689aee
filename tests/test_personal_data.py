"""Personal data: the log of full-data views, exports' yes/no words, 403 log lines, upload folders."""

import csv
import io
import logging
import re
from datetime import date
from io import BytesIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.checks import run_checks
from django.test import Client
from django.urls import Resolver404, resolve, reverse

from nengliangbang.logs import RedactPersonalNumbers
from points.services import claim_approve, claim_submit
from villagers.identity import decrypt_id_number, redact_personal_numbers
from villagers.models import PersonalDataAccess
from villagers.roster.exporting import roster_export

from .api_fixtures import client_for, token_for
from .factories import rule

pytestmark = pytest.mark.django_db

VILLAGER_LIST = "/admin/villagers/villager/"


# --- the log of full personal data shown ------------------------------------------------


def test_phone_list_logs_village_secretary(client, world):
    client.force_login(world.village_admin)

    response = client.get(VILLAGER_LIST)

    assert "13800000000" in response.text
    access = PersonalDataAccess.objects.get()
    assert access.viewed_by == world.village_admin
    assert access.viewer_name == "cunshuji"
    assert access.village == world.village_a
    assert access.kind == PersonalDataAccess.Kind.PHONE_LIST
    assert access.reason == "村书记：给本村村民打电话"
    assert access.villager_count == 3
    assert access.path == VILLAGER_LIST


def test_phone_list_logs_district_secretary(client, world):
    client.force_login(world.secretary_a1)

    response = client.get(VILLAGER_LIST)

    # The two villagers of district A1 in full; 王大力 of district A2 is not listed.
    assert response.text.count("13800000000") == 2
    assert "王大力" not in response.text
    access = PersonalDataAccess.objects.get()
    assert access.villager_count == 2
    assert access.reason == "片区书记：给本片区村民打电话"


def test_masked_phone_list_logs_nothing(client, world):
    client.force_login(world.recorder)

    response = client.get(VILLAGER_LIST)

    assert "13800000000" not in response.text
    assert not PersonalDataAccess.objects.exists()


def test_unmasked_export_logged_as_access(world):
    roster_export(
        village=world.village_a,
        actor=world.village_admin,
        output=BytesIO(),
        unmasked=True,
        reason="上报民政局",
    )
    roster_export(village=world.village_a, actor=world.recorder, output=BytesIO(), unmasked=False)

    access = PersonalDataAccess.objects.get()
    assert access.kind == PersonalDataAccess.Kind.ROSTER_EXPORT
    assert access.reason == "上报民政局"
    assert access.villager_count == 3
    assert access.viewed_by == world.village_admin


def test_access_log_admin_for_village_secretary_only(client, world):
    client.force_login(world.village_admin)
    client.get(VILLAGER_LIST)
    log_page = reverse("admin:villagers_personaldataaccess_changelist")

    page = client.get(log_page)
    client.force_login(world.secretary_a1)
    refused = client.get(log_page)
    client.force_login(world.outsider)
    other_village = client.get(log_page)

    assert page.status_code == 200
    assert "村书记：给本村村民打电话" in page.text
    assert "13800000000" not in page.text
    assert refused.status_code == 403
    assert other_village.status_code == 200
    assert "村书记：给本村村民打电话" not in other_village.text


# --- API exports ------------------------------------------------------------------------


def csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200, response.content
    text = b"".join(response.streaming_content).decode("utf-8")
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))


@pytest.mark.parametrize(("language", "yes", "no"), [("zh-hans", "是", "否"), ("en", "Yes", "No")])
def test_export_party_member_as_words(world, language, yes, no):
    world.villager.is_party_member = True
    world.villager.save()
    client = client_for(token_for(world.village_admin), language=language)

    rows = csv_rows(client.get("/api/v1/villagers/?format=csv"))

    column = rows[0].index("党员" if language == "zh-hans" else "Party member")
    party_member = next(row for row in rows if "张*明" in row)
    other = next(row for row in rows if "李*红" in row)
    assert party_member[column] == yes
    assert other[column] == no


# --- 403 log lines ----------------------------------------------------------------------


def test_forbidden_logged_as_one_line(client, world, caplog):
    client.force_login(world.recorder)
    caplog.set_level(logging.DEBUG)

    response = client.get(reverse("admin:villagers_roster_upload"))

    assert response.status_code == 403
    forbidden = [record for record in caplog.records if record.name == "django.request"]
    assert len(forbidden) == 1
    record = forbidden[0]
    assert record.levelno == logging.WARNING
    assert record.exc_info is None
    assert record.getMessage() == (
        f"forbidden: user {world.recorder.pk}, path /admin/villagers/villager/roster/upload/"
    )
    assert "Traceback" not in caplog.text


def test_api_forbidden_logged_as_one_line(world, caplog):
    client = Client()
    client.force_login(world.villager_user)
    caplog.set_level(logging.DEBUG)

    response = client.get("/api/v1/villages/")

    assert response.status_code == 403
    messages = [r.getMessage() for r in caplog.records if r.name == "django.request"]
    assert messages == [f"forbidden: user {world.villager_user.pk}, path /api/v1/villages/"]


def test_other_errors_keep_their_log(client, world, caplog):
    caplog.set_level(logging.DEBUG)

    client.get("/no-such-page/")

    messages = [r.getMessage() for r in caplog.records if r.name == "django.request"]
    assert messages == ["Not Found: /no-such-page/"]


# --- notice board: one id per objection form --------------------------------------------


def test_objection_forms_have_unique_ids(world, client):
    for villager in (world.neighbour, world.spouse):
        claim = claim_submit(
            actor=world.recorder,
            villager=villager,
            rule=rule("volunteer", 5),
            act_date=date(2026, 11, 20),
        )
        claim_approve(actor=world.approver, claim_id=claim.pk)
    client.force_login(world.villager_user)

    page = client.get(reverse("notice-board", args=[world.village_a.pk])).text

    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids))
    assert page.count('name="reason"') == 2
    assert 'id="id_reason"' not in page


# --- uploaded files ---------------------------------------------------------------------


def test_media_has_no_public_url():
    with pytest.raises(Resolver404):
        resolve("/" + settings.MEDIA_URL + "claims/2026/12/photo.jpg")


def deploy_errors() -> list[str]:
    return [
        message.id
        for message in run_checks(include_deployment_checks=True)
        if message.id == "nengliangbang.E001"
    ]


def test_deploy_check_rejects_uploads_in_code_tree(settings):
    settings.MEDIA_ROOT = Path(settings.BASE_DIR) / "var" / "media"
    settings.PRIVATE_FILES_ROOT = Path(settings.BASE_DIR) / "var" / "private"

    assert deploy_errors() == ["nengliangbang.E001", "nengliangbang.E001"]


def test_deploy_check_accepts_uploads_outside(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PRIVATE_FILES_ROOT = tmp_path / "private"

    assert deploy_errors() == []


# --- numbers in free text and third-party log lines -------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("回电 18866667777。", "回电 188****7777。"),
        ("+86 139-1234-5678", "139****5678"),
        ("身份证 33010919800517123X 号", "身份证 330109********123X 号"),
        ("2026-12-05 09:53, matter 12345", "2026-12-05 09:53, matter 12345"),
        ("order 12345678901234567890", "order 12345678901234567890"),
    ],
)
def test_numbers_redacted_in_text(text, expected):
    assert redact_personal_numbers(text) == expected


def test_console_log_masks_library_numbers():
    record = logging.LogRecord(
        "axes", logging.WARNING, __file__, 1, "login failed for %s", ("13912345678",), None
    )

    assert RedactPersonalNumbers().filter(record)
    assert record.getMessage() == "login failed for 139****5678"
    console = logging.getLogger().handlers
    assert any(
        isinstance(log_filter, RedactPersonalNumbers)
        for handler in console
        for log_filter in handler.filters
    )


# --- admin pages of villagers for staff who see masked numbers -----------------------------


def test_villager_admin_pages_mask_for_recorder(client, world):
    villager = world.villager
    villager.phone = "13912345678"
    villager.save()
    villager.phone = "13987654321"
    villager.birth_date = date(1981, 6, 18)
    villager.save()
    full_id = _full_id_number(villager)
    client.force_login(world.recorder)
    history = villager.history.order_by("history_id").first()
    pages = [
        VILLAGER_LIST,
        reverse("admin:villagers_villager_change", args=[villager.pk]),
        reverse("admin:villagers_villager_history", args=[villager.pk]),
        reverse("admin:villagers_villager_simple_history", args=[villager.pk, history.history_id]),
        reverse("admin:villagers_household_change", args=[world.household_a1.pk]),
    ]

    for url in pages:
        body = client.get(url).content.decode()
        for number in (
            "13912345678",
            "13987654321",
            full_id,
            full_id[6:14],
            "1981-06-18",
            "1980-05-17",
        ):
            assert number not in body, f"{url} shows {number}"
        for date_text in ("1980年5月17日", "1981年6月18日", "1980/05/17", "1981/06/18"):
            assert date_text not in body, f"{url} shows {date_text}"


def _full_id_number(villager) -> str:
    return decrypt_id_number(villager.id_number_encrypted, digest=villager.id_number_digest)


def test_villager_page_with_birth_date_logged(client, world):
    change_page = reverse("admin:villagers_villager_change", args=[world.villager.pk])
    client.force_login(world.village_admin)

    shown = client.get(change_page)
    client.force_login(world.recorder)
    masked = client.get(change_page)

    assert 'value="1980/05/17"' in shown.text
    assert "1980/05/17" not in masked.text
    access = PersonalDataAccess.objects.get()
    assert access.kind == PersonalDataAccess.Kind.VILLAGER_PAGE
    assert access.viewed_by == world.village_admin
    assert access.villager_count == 1
    assert access.reason == "村书记：可查看完整个人信息"
