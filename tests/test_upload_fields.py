"""Uploads checked by content and size, with the message beside the field it concerns."""

import io
import uuid
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from patrols.models import Matter, PatrolPhoto
from patrols.services import patrol_start
from points.models import Claim
from villagers.models import RosterUpload, Villager

from .factories import rule
from .test_roster_import import person, write_roster

pytestmark = pytest.mark.django_db

NOT_A_PHOTO = "这个文件不是照片。请上传 JPEG、PNG、WebP 或 GIF 格式的图片。"


@pytest.fixture(autouse=True)
def _upload_folders(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PRIVATE_FILES_ROOT = tmp_path / "private"


def jpeg(size: tuple[int, int] = (40, 30)) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", size, "green").save(buffer, format="JPEG")
    return SimpleUploadedFile("photo.jpg", buffer.getvalue(), content_type="image/jpeg")


def script_as_jpeg() -> SimpleUploadedFile:
    return SimpleUploadedFile("photo.jpg", b"<script>alert(1)</script>", content_type="image/jpeg")


def photo_rule():
    scored = rule("courtyard", 3)
    scored.self_claim, scored.photo_required = True, True
    scored.save()
    return scored


def test_claim_photo_too_large_named(world, client, settings):
    settings.UPLOAD_PHOTO_MAX_BYTES = 100
    client.force_login(world.villager_user)

    response = client.post(
        reverse("claim-self"),
        {
            "rule": photo_rule().pk,
            "act_date": "2026-11-20",
            "photo": jpeg(),
            "form_key": str(uuid.uuid4()),
        },
    )

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert list(errors) == ["photo"]
    assert errors["photo"][0].startswith("照片大小为 ")
    assert not Claim.objects.exists()


def test_claim_photo_checked_by_content(world, client):
    client.force_login(world.villager_user)

    response = client.post(
        reverse("claim-self"),
        {
            "rule": photo_rule().pk,
            "act_date": "2026-11-20",
            "photo": script_as_jpeg(),
            "form_key": str(uuid.uuid4()),
        },
    )

    assert list(response.context["form"].errors) == ["photo"]
    assert not Claim.objects.exists()


def test_problem_photo_checked_by_content(world, client):
    client.force_login(world.villager_user)

    response = client.post(
        reverse("problem-report"),
        {"description": "路灯坏了", "photo": script_as_jpeg(), "form_key": str(uuid.uuid4())},
    )

    assert response.status_code == 400
    assert response.context["form"].errors == {"photo": [NOT_A_PHOTO]}
    assert not Matter.objects.exists()


def test_patrol_photo_checked_by_content(world, client):
    patrol = patrol_start(
        actor=world.secretary_a1, district=world.district_a1, start_key=uuid.uuid4()
    )
    client.force_login(world.secretary_a1)

    response = client.post(
        reverse("patrol-photo-add", args=[patrol.pk]),
        {"photo": script_as_jpeg(), "form_key": str(uuid.uuid4())},
    )

    assert response.status_code == 400
    assert response.context["photo_form"].errors == {"photo": [NOT_A_PHOTO]}
    assert not PatrolPhoto.objects.exists()


def upload_roster(client, world, name: str, content: bytes) -> RosterUpload:
    client.force_login(world.village_admin)
    client.post(
        reverse("admin:villagers_roster_upload"),
        {"village": world.village_a.pk, "file": SimpleUploadedFile(name, content)},
    )
    return RosterUpload.objects.get()


def test_binary_file_named_csv_rejected(world, client):
    png = io.BytesIO()
    Image.new("RGB", (4, 4)).save(png, format="PNG")

    roster_upload = upload_roster(client, world, "roster.csv", png.getvalue())

    assert roster_upload.state == RosterUpload.State.FAILED
    assert roster_upload.error == (
        "文件名是 .csv，但它不是文本文件。请在 Excel 或 WPS 中把花名册另存为 .xlsx，"
        "或另存为 CSV（逗号分隔）。"
    )


def test_workbook_named_csv_read_as_workbook(world, client, tmp_path):
    path = write_roster(tmp_path / "roster.xlsx", [person("钱一", "090001")])
    assert zipfile.is_zipfile(path)

    roster_upload = upload_roster(client, world, "roster.csv", path.read_bytes())

    assert roster_upload.state == RosterUpload.State.CHECKED
    assert roster_upload.preview["counts"]["created"] == 1
    assert not Villager.objects.filter(name="钱一").exists()
