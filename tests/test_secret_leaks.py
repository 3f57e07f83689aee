"""No secret or personal number in a log line or a Celery task payload.

The test runs every flow that handles a password, login code, API token, ID
number or phone, with every logger at DEBUG and every published task captured
(``before_task_publish``: body and headers). The published tasks then run in
this process, as a worker would run them, so their own logs are captured too.
Afterwards each captured text is scanned for each known secret and personal
value, phones also in their spaced, dashed and +86 forms.
"""

import io
import logging
import re
import traceback
from io import StringIO

import pytest
from celery import signals
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from PIL import Image

from nengliangbang.celery import app
from villagers.identity import decrypt_id_number
from villagers.models import RosterUpload, Villager
from villagers.roster import uploads

from . import test_celery_worker as celery_tests
from .factories import VillagerFactory, make_id_number, rule
from .test_roster_import import person, write_roster, wrong_check_digit

# The worker tests' Redis fixture, under its own name so pytest finds it here.
redis_db = celery_tests.redis_db

STAFF_PASSWORD = "correct-horse-battery"  # noqa: S105 - the personas' password in factories
WRONG_PASSWORD = "Wrong-Horse-Staple-77"  # noqa: S105
VILLAGER_PASSWORD = "Qunying-Garden-2026"  # noqa: S105
WRONG_CODE = "40917253"
VILLAGER_PHONE = "13912345678"
SECRETARY_PHONE = "13655556666"
IMPORTED_PHONES = ("13711112222", "13733334444", "15899990000")
TYPED_PHONE = "18866667777"


class Captured(logging.Handler):
    """Every log record, formatted with its arguments, exception and stack."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        parts = [record.name, record.getMessage(), repr(record.args)]
        if record.exc_info and record.exc_info[1] is not None:
            parts.append("".join(traceback.format_exception(*record.exc_info)))
        if record.stack_info:
            parts.append(record.stack_info)
        self.texts.append(" ".join(parts))


@pytest.fixture
def captured_logs():
    """Capture every record of every logger at DEBUG, restoring the levels afterwards."""
    handler = Captured()
    loggers = [logging.getLogger()] + [
        logger
        for logger in logging.Logger.manager.loggerDict.values()
        if isinstance(logger, logging.Logger)
    ]
    saved = [(logger, logger.level, logger.disabled) for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
        logger.disabled = False
    logging.getLogger().addHandler(handler)
    yield handler
    logging.getLogger().removeHandler(handler)
    for logger, level, disabled in saved:
        logger.setLevel(level)
        logger.disabled = disabled


@pytest.fixture
def published(redis_db):
    """Record every task published to this test's Redis database: name, body and headers."""
    tasks: list[dict] = []

    def record(sender=None, body=None, headers=None, **kwargs):
        tasks.append({"name": sender, "body": body, "headers": headers})

    signals.before_task_publish.connect(record, weak=False)
    yield tasks
    signals.before_task_publish.disconnect(record)


def run_published(tasks: list[dict], done: set[int]) -> None:
    """Run each published task not yet run in this process, as a worker would."""
    for index, task in enumerate(list(tasks)):
        if index in done:
            continue
        done.add(index)
        args, kwargs, _embed = task["body"]
        app.tasks[task["name"]].apply(args=args, kwargs=kwargs, throw=True)


def post(client: Client, url: str, data: dict, expected: int = 302, **extra):
    response = client.post(url, data, **extra)
    assert response.status_code == expected, (url, response.status_code)
    return response


def jpeg(name: str = "photo.jpg") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), "green").save(buffer, format="JPEG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


def phone_forms(phone: str) -> list[str]:
    return [
        phone,
        f"{phone[:3]} {phone[3:7]} {phone[7:]}",
        f"{phone[:3]}-{phone[3:7]}-{phone[7:]}",
        f"+86{phone}",
        f"+86 {phone}",
    ]


def without_separators(text: str) -> str:
    """Join digit groups split by spaces, dashes or dots, so 139 1234 5678 reads 13912345678."""
    return re.sub(r"(?<=\d)[\s\-.]+(?=\d)", "", text)


def leaks(texts: list[str], secrets: dict[str, str]) -> list[str]:
    found = []
    for text in texts:
        joined = without_separators(text).upper()
        for label, secret in secrets.items():
            if secret in text or without_separators(secret).upper() in joined:
                found.append(f"{label} in: {text[:300]}")
    return found


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PRIVATE_FILES_ROOT = tmp_path / "private"


@pytest.mark.django_db
def test_no_secret_in_logs_or_tasks(
    world,
    media,
    captured_logs,
    published,
    tmp_path,
    monkeypatch,
    django_capture_on_commit_callbacks,
):
    villager = world.villager
    villager.phone = VILLAGER_PHONE
    villager.save()
    # The district secretary is also a villager with a phone, so notifications reach them by SMS.
    VillagerFactory(
        household=world.household_a1, name="陈书记", user=world.secretary_a1, phone=SECRETARY_PHONE
    )
    done: set[int] = set()
    secrets = {
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,
        "PERSONAL_DATA_KEY": settings.PERSONAL_DATA_KEY,
        "staff password": STAFF_PASSWORD,
        "wrong password": WRONG_PASSWORD,
        "villager password": VILLAGER_PASSWORD,
        "wrong code": WRONG_CODE,
    }
    for number in (VILLAGER_PHONE, SECRETARY_PHONE, TYPED_PHONE, *IMPORTED_PHONES):
        for index, form in enumerate(phone_forms(number)):
            secrets[f"phone {number} form {index}"] = form

    with django_capture_on_commit_callbacks(execute=True):
        # Staff login, failed and successful, on the site and in the admin.
        staff = Client()
        post(
            staff,
            reverse("login"),
            {"username": "cunshuji", "password": WRONG_PASSWORD},
            expected=200,
        )
        post(staff, reverse("login"), {"username": "cunshuji", "password": STAFF_PASSWORD})
        admin = Client()
        admin.post(reverse("admin:login"), {"username": "cunshuji", "password": WRONG_PASSWORD})
        post(admin, reverse("admin:login"), {"username": "cunshuji", "password": STAFF_PASSWORD})

        # A password reset and a login code printed by the village office.
        reset_page = reverse("villager-login", args=[villager.pk])
        post(staff, reset_page, {"action": "password", "password": VILLAGER_PASSWORD})
        code = staff.post(reset_page, {"action": "code"}).context["code"]
        secrets["login code"] = code

        # Villager phone logins: wrong code, password, then the one-time code.
        phone_login = Client()
        phone_login.post(reverse("login"), {"username": "139 1234 5678", "password": WRONG_CODE})
        post(
            phone_login,
            reverse("login"),
            {"username": "139-1234-5678", "password": VILLAGER_PASSWORD},
        )
        by_code = Client()
        post(by_code, reverse("login"), {"username": "+86 13912345678", "password": code})

        # A claim and a 随手拍 report with a phone typed in, and the SMS it sends.
        post(
            by_code,
            reverse("claim-self"),
            {
                "rule": _self_claim_rule().pk,
                "act_date": "2026-11-20",
                "note": f"电话{TYPED_PHONE}",
                "form_key": "6f1c2b4e-3d5a-4c7b-9e8f-0a1b2c3d4e5f",
            },
        )
        post(
            by_code,
            reverse("problem-report"),
            {
                "description": f"路灯坏了，回电 {TYPED_PHONE}",
                "place": "村口",
                "photo": jpeg(),
                "form_key": "7a2d3c5f-4e6b-4d8c-8f90-1b2c3d4e5f60",
            },
        )

    run_published(published, done)

    # An API token issued, used for reads, a claim and a matter, then revoked.
    output = StringIO()
    call_command(
        "issue_api_token", "--user", "cunshuji", "--write", stdout=output, stderr=StringIO()
    )
    token = output.getvalue().strip()
    secrets["API token"] = token
    api = Client(HTTP_AUTHORIZATION=f"Token {token}")
    with django_capture_on_commit_callbacks(execute=True):
        assert api.get("/api/v1/villagers/").status_code == 200
        assert api.get("/api/v1/villagers/?format=csv").status_code == 200
        post(
            api,
            "/api/v1/claims/",
            {
                "villager": villager.pk,
                "rule": rule().pk,
                "act_date": "2026-11-21",
                "note": f"联系 {TYPED_PHONE}",
            },
            content_type="application/json",
            expected=201,
        )
        post(
            api,
            "/api/v1/matters/",
            {
                "district": world.district_a1.pk,
                "severity": "small",
                "title": "井盖松动",
                "description": f"报告人电话 {TYPED_PHONE}",
            },
            content_type="application/json",
            expected=201,
        )
    run_published(published, done)
    call_command("revoke_api_token", token[:15], stdout=StringIO(), stderr=StringIO())
    assert Client(HTTP_AUTHORIZATION=f"Token {token}").get("/api/v1/villagers/").status_code in (
        401,
        403,
    )

    # A roster import, checked and imported by Celery tasks, with a faulty ID number.
    id_numbers = [make_id_number() for _ in range(3)]
    bad_id_number = wrong_check_digit(make_id_number())
    rows = [
        person("郑一", "090001", 身份证号码=id_numbers[0], 联系电话=IMPORTED_PHONES[0]),
        person(
            "郑二",
            "090001",
            "配偶",
            male=False,
            身份证号码=id_numbers[1],
            联系电话=IMPORTED_PHONES[1],
        ),
        person("郑三", "090001", "子", 身份证号码=id_numbers[2], 联系电话="137 1111"),
        person("郑四", "090002", 身份证号码=bad_id_number, 联系电话=IMPORTED_PHONES[2]),
    ]
    for index, number in enumerate([*id_numbers, bad_id_number]):
        secrets[f"ID number {index}"] = number
    roster = write_roster(tmp_path / "roster.xlsx", rows)
    monkeypatch.setattr(uploads, "INLINE_MAX_BYTES", 0)
    with django_capture_on_commit_callbacks(execute=True), roster.open("rb") as handle:
        admin.post(
            reverse("admin:villagers_roster_upload"),
            {"village": world.village_a.pk, "file": handle},
        )
    run_published(published, done)
    roster_upload = RosterUpload.objects.get()
    assert roster_upload.state == RosterUpload.State.CHECKED
    detail = reverse("admin:villagers_roster_upload_detail", args=[roster_upload.pk])
    admin.get(detail)
    with django_capture_on_commit_callbacks(execute=True):
        admin.post(detail, {"token": str(roster_upload.token)})
    run_published(published, done)
    roster_upload.refresh_from_db()
    assert roster_upload.state == RosterUpload.State.DONE
    assert Villager.objects.filter(name="郑一").exists()
    for existing in Villager.objects.exclude(id_number_encrypted=""):
        secrets[f"ID number of {existing.pk}"] = _full_id_number(existing)

    # The villager list with full phones, and an unmasked roster export.
    admin.get("/admin/villagers/villager/")
    export = admin.post(
        reverse("admin:villagers_roster_export"),
        {"village": world.village_a.pk, "unmasked": "on", "reason": "上报民政局"},
    )
    assert export.status_code == 200
    assert export["Content-Disposition"].startswith("attachment")

    payloads = [repr(task) for task in published]
    assert {task["name"] for task in published} >= {
        "notifications.tasks.send_notification_sms",
        "villagers.tasks.check_roster_upload",
        "villagers.tasks.import_roster_upload",
    }
    assert any("sms to" in text for text in captured_logs.texts)
    assert leaks(payloads, secrets) == []
    assert leaks(captured_logs.texts, secrets) == []


def _self_claim_rule():
    scored = rule("volunteer", 2)
    scored.self_claim = True
    scored.save()
    return scored


def _full_id_number(villager: Villager) -> str:
    return decrypt_id_number(villager.id_number_encrypted, digest=villager.id_number_digest)
