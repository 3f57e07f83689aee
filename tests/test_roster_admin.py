"""The admin's roster upload: preview, confirm once, progress, access by role, Celery worker."""

import os
import shutil
import stat
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from villagers.models import RosterUpload, Villager
from villagers.roster import uploads
from villagers.tasks import purge_roster_uploads

from . import test_celery_worker as celery_tests
from .celery_helpers import wait_until
from .test_roster_import import SAMPLE_ROSTER, person, write_roster

# The worker fixtures, under their own names so pytest finds them in this module.
redis_db = celery_tests.redis_db
start_celery = celery_tests.start_celery


@pytest.fixture(autouse=True)
def private_files(settings, tmp_path):
    settings.PRIVATE_FILES_ROOT = tmp_path / "private"
    return settings.PRIVATE_FILES_ROOT


def upload(client, path, village):
    with path.open("rb") as handle:
        return client.post(
            reverse("admin:villagers_roster_upload"), {"village": village.pk, "file": handle}
        )


def small_roster(tmp_path):
    rows = [
        person("张一", "090009"),
        person("李二", "090009", "配偶", male=False),
        person("王三", "090009", "子", 联系电话="12"),
    ]
    return write_roster(tmp_path / "roster.xlsx", rows)


@pytest.mark.django_db
def test_upload_previews_without_writing(client, world, tmp_path):
    client.force_login(world.village_admin)

    response = upload(client, small_roster(tmp_path), world.village_a)

    roster_upload = RosterUpload.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "admin:villagers_roster_upload_detail", args=[roster_upload.pk]
    )
    assert roster_upload.state == RosterUpload.State.CHECKED
    assert roster_upload.preview["counts"]["created"] == 2
    assert roster_upload.preview["counts"]["rejected"] == 1
    assert roster_upload.preview["counts"]["moved_out"] == 3
    assert not Villager.objects.filter(name="张一").exists()
    page = client.get(response["Location"])
    content = page.content.decode()
    assert "第 6 行" not in content  # rows are listed in the table, not as sentences
    assert [row[1] for row in page.context["rows"]] == ["张一", "李二", "王三"]
    assert page.context["rows"][2][4].startswith("联系电话“12”既不是")
    assert 'name="token"' in content
    assert 'http-equiv="refresh"' not in content


@pytest.mark.django_db
def test_confirm_imports_once(client, world, tmp_path, django_capture_on_commit_callbacks):
    client.force_login(world.village_admin)
    upload(client, small_roster(tmp_path), world.village_a)
    roster_upload = RosterUpload.objects.get()
    detail = reverse("admin:villagers_roster_upload_detail", args=[roster_upload.pk])

    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(detail, {"token": str(roster_upload.token)})
        second = client.post(detail, {"token": str(roster_upload.token)}, follow=True)

    assert first.status_code == 302
    roster_upload.refresh_from_db()
    assert roster_upload.state == RosterUpload.State.DONE
    assert roster_upload.result["counts"]["created"] == 2
    assert Villager.objects.filter(name="张一").count() == 1
    assert Villager.objects.get(name="张一").history.get().history_user == world.village_admin
    assert [str(message) for message in second.context["messages"]] == ["这份花名册已经确认过了。"]
    assert not roster_upload.file.storage.exists(roster_upload.file.name)


@pytest.mark.django_db
def test_confirm_with_wrong_token_refused(client, world, tmp_path):
    client.force_login(world.village_admin)
    upload(client, small_roster(tmp_path), world.village_a)
    roster_upload = RosterUpload.objects.get()

    client.post(
        reverse("admin:villagers_roster_upload_detail", args=[roster_upload.pk]),
        {"token": "00000000-0000-0000-0000-000000000000"},
    )

    roster_upload.refresh_from_db()
    assert roster_upload.state == RosterUpload.State.CHECKED
    assert not Villager.objects.filter(name="张一").exists()


@pytest.mark.django_db
def test_unreadable_upload_fails_with_message(client, world, tmp_path):
    client.force_login(world.village_admin)
    path = tmp_path / "roster.xlsx"
    path.write_bytes(b"not a workbook")

    response = upload(client, path, world.village_a)

    roster_upload = RosterUpload.objects.get()
    assert roster_upload.state == RosterUpload.State.FAILED
    page = client.get(response["Location"]).content.decode()
    message = "文件不是 .xlsx 工作簿，或已损坏。请用 Excel 或 WPS 打开后另存为 .xlsx 或 CSV（逗号分隔）格式。"
    assert roster_upload.error == message
    assert message in page


@pytest.mark.django_db
def test_preview_paginated_and_filtered(client, world):
    client.force_login(world.village_admin)
    upload(client, SAMPLE_ROSTER, world.village_a)
    roster_upload = RosterUpload.objects.get()
    detail = reverse("admin:villagers_roster_upload_detail", args=[roster_upload.pk])

    first_page = client.get(detail)
    last_new = client.get(detail, {"status": "new", "page": 21})

    assert first_page.context["counts"]["created"] == 2033
    assert len(first_page.context["rows"]) == 100
    assert first_page.context["page"].paginator.num_pages == 21
    assert len(last_new.context["rows"]) == 33
    assert {row[3] for row in last_new.context["rows"]} == {"new"}


@pytest.mark.django_db
@pytest.mark.parametrize(("persona", "status"), [("secretary_a1", 403), ("recorder", 403)])
def test_upload_refused_without_permission(client, world, persona, status):
    client.force_login(getattr(world, persona))

    response = client.get(reverse("admin:villagers_roster_upload"))

    assert response.status_code == status


@pytest.mark.django_db
def test_other_village_upload_hidden(client, world, tmp_path):
    client.force_login(world.village_admin)
    upload(client, small_roster(tmp_path), world.village_a)
    roster_upload = RosterUpload.objects.get()
    client.force_login(world.outsider)

    detail = reverse("admin:villagers_roster_upload_detail", args=[roster_upload.pk])
    page = client.get(detail)
    confirm = client.post(detail, {"token": str(roster_upload.token)})

    assert page.status_code == 404
    assert confirm.status_code == 404
    roster_upload.refresh_from_db()
    assert roster_upload.state == RosterUpload.State.CHECKED


@pytest.mark.django_db
def test_upload_into_other_village_refused(client, world, tmp_path):
    client.force_login(world.outsider)

    response = upload(client, small_roster(tmp_path), world.village_a)

    assert response.status_code == 200
    assert "village" in response.context["form"].errors
    assert not RosterUpload.objects.exists()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_large_upload_runs_on_worker(client, world, tmp_path, monkeypatch, request, private_files):
    """Every file counts as large here, so the check and the import both run on a real worker."""
    monkeypatch.setattr(uploads, "INLINE_MAX_BYTES", 0)
    start = request.getfixturevalue("start_celery")
    client.force_login(world.village_admin)
    roster = tmp_path / "large.xlsx"
    shutil.copy(SAMPLE_ROSTER, roster)

    # The check is queued; with no worker yet, the page shows it running.
    response = upload(client, roster, world.village_a)
    roster_upload = RosterUpload.objects.get()
    waiting = client.get(response["Location"]).content.decode()
    assert roster_upload.state == RosterUpload.State.CHECKING
    assert '<meta http-equiv="refresh" content="2">' in waiting
    assert 'id="roster-progress"' in waiting

    worker = start("worker", env={"PRIVATE_FILES_ROOT": str(private_files)})

    def state_is(state):
        return lambda: RosterUpload.objects.get(pk=roster_upload.pk).state == state

    wait_until(
        state_is(RosterUpload.State.CHECKED),
        timeout=120,
        description="the upload is checked",
        processes=(worker,),
    )
    assert Villager.objects.filter(household__village=world.village_a).count() == 3
    roster_upload.refresh_from_db()
    assert roster_upload.rows_total == 2033
    client.post(response["Location"], {"token": str(roster_upload.token)})
    wait_until(
        state_is(RosterUpload.State.DONE),
        timeout=180,
        description="the upload is imported",
        processes=(worker,),
    )

    roster_upload.refresh_from_db()
    assert roster_upload.result["counts"]["created"] == 2033
    assert roster_upload.result["counts"]["moved_out"] == 3
    assert roster_upload.rows_read == 2033
    active = Villager.objects.filter(household__village=world.village_a, status="active")
    assert active.count() == 2033
    assert os.listdir(private_files / "rosters") == []
    done = client.get(response["Location"]).content.decode()
    assert 'http-equiv="refresh"' not in done


@pytest.mark.django_db
def test_preview_stores_no_masked_id_number(client, world, tmp_path):
    client.force_login(world.village_admin)

    response = upload(client, small_roster(tmp_path), world.village_a)

    # The villager table stores birth dates, which a masked number hides, so
    # the stored report names moved-out villagers by id and the page masks.
    roster_upload = RosterUpload.objects.get()
    moved_out = roster_upload.preview["moved_out"]
    assert len(moved_out) == 3
    assert all("id_number_masked" not in person for person in moved_out)
    page = client.get(response["Location"]).content.decode()
    for villager in Villager.objects.filter(household__village=world.village_a):
        assert villager.id_number_masked in page


# Unconfirmed uploads: private file modes, cancelling, deleting old files


@pytest.mark.django_db
def test_upload_file_private_to_owner(client, world, tmp_path, private_files):
    client.force_login(world.village_admin)

    upload(client, small_roster(tmp_path), world.village_a)

    roster_upload = RosterUpload.objects.get()
    assert stat.S_IMODE(os.stat(roster_upload.file.path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(private_files / "rosters").st_mode) == 0o700


@pytest.mark.django_db
def test_cancel_deletes_file(client, world, tmp_path, django_capture_on_commit_callbacks):
    client.force_login(world.village_admin)
    response = upload(client, small_roster(tmp_path), world.village_a)
    roster_upload = RosterUpload.objects.get()
    path = roster_upload.file.path
    assert 'name="cancel"' in client.get(response["Location"]).content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        client.post(response["Location"], {"token": str(roster_upload.token), "cancel": "1"})
    confirm = client.post(response["Location"], {"token": str(roster_upload.token)}, follow=True)

    roster_upload.refresh_from_db()
    assert roster_upload.state == RosterUpload.State.CANCELLED
    assert not roster_upload.file
    assert not os.path.exists(path)
    assert [str(message) for message in confirm.context["messages"]] == ["这份花名册已经确认过了。"]
    assert not Villager.objects.filter(name="张一").exists()


@pytest.mark.django_db
def test_cancel_after_confirm_refused(client, world, tmp_path, django_capture_on_commit_callbacks):
    client.force_login(world.village_admin)
    response = upload(client, small_roster(tmp_path), world.village_a)
    roster_upload = RosterUpload.objects.get()

    with django_capture_on_commit_callbacks(execute=True):
        client.post(response["Location"], {"token": str(roster_upload.token)})
    cancel = client.post(
        response["Location"], {"token": str(roster_upload.token), "cancel": "1"}, follow=True
    )

    roster_upload.refresh_from_db()
    assert roster_upload.state == RosterUpload.State.DONE
    assert [str(message) for message in cancel.context["messages"]] == ["这份花名册已无法取消。"]


@pytest.mark.django_db
def test_purge_deletes_old_unconfirmed_files(client, world, tmp_path, settings):
    settings.ROSTER_UPLOAD_KEEP_HOURS = 24
    client.force_login(world.village_admin)
    upload(client, small_roster(tmp_path), world.village_a)
    upload(client, small_roster(tmp_path), world.village_a)
    old, recent = RosterUpload.objects.order_by("pk")
    RosterUpload.objects.filter(pk=old.pk).update(uploaded_at=timezone.now() - timedelta(hours=25))

    purged = uploads.roster_uploads_purge(now=timezone.now())

    old.refresh_from_db()
    recent.refresh_from_db()
    assert purged == 1
    assert old.state == RosterUpload.State.CANCELLED
    assert not old.file
    assert old.error == "24 小时内未确认，文件已删除。"
    assert recent.state == RosterUpload.State.CHECKED
    assert os.path.exists(recent.file.path)
    assert uploads.roster_uploads_purge(now=timezone.now()) == 0


@pytest.mark.django_db
def test_purge_scheduled_hourly():
    task = PeriodicTask.objects.get(task="villagers.tasks.purge_roster_uploads")

    assert task.enabled
    assert (task.interval.every, task.interval.period) == (1, "hours")


@pytest.mark.worker
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_purge_task_runs_on_worker(client, world, tmp_path, request, private_files):
    client.force_login(world.village_admin)
    upload(client, small_roster(tmp_path), world.village_a)
    roster_upload = RosterUpload.objects.get()
    path = roster_upload.file.path
    RosterUpload.objects.update(uploaded_at=timezone.now() - timedelta(days=2))
    worker = request.getfixturevalue("start_celery")(
        "worker", env={"PRIVATE_FILES_ROOT": str(private_files)}
    )

    purge_roster_uploads.delay()

    wait_until(
        lambda: RosterUpload.objects.get(pk=roster_upload.pk).file == "",
        timeout=60,
        description="the old upload's file is deleted",
        processes=(worker,),
    )
    assert not os.path.exists(path)
    assert RosterUpload.objects.get().state == RosterUpload.State.CANCELLED


# Row outcomes in a table


@pytest.mark.django_db
def test_preview_rows_stored_in_table(client, world, tmp_path, monkeypatch):
    monkeypatch.setattr(uploads, "ROW_BATCH_SIZE", 2)  # three rows take two INSERTs
    client.force_login(world.village_admin)

    response = upload(client, small_roster(tmp_path), world.village_a)

    roster_upload = RosterUpload.objects.get()
    assert "rows" not in roster_upload.preview
    stored = list(roster_upload.rows.values_list("row_number", "name", "status"))
    assert stored == [(4, "张一", "new"), (5, "李二", "new"), (6, "王三", "rejected")]
    rejected = client.get(response["Location"], {"status": "rejected"})
    assert [row[1] for row in rejected.context["rows"]] == ["王三"]


@pytest.mark.django_db
def test_import_replaces_preview_rows(client, world, tmp_path, django_capture_on_commit_callbacks):
    client.force_login(world.village_admin)
    response = upload(client, small_roster(tmp_path), world.village_a)
    roster_upload = RosterUpload.objects.get()

    with django_capture_on_commit_callbacks(execute=True):
        client.post(response["Location"], {"token": str(roster_upload.token)})

    roster_upload.refresh_from_db()
    assert roster_upload.state == RosterUpload.State.DONE
    assert "rows" not in roster_upload.result
    assert roster_upload.rows.count() == 3
    assert list(roster_upload.rows.values_list("status", flat=True)) == ["new", "new", "rejected"]
