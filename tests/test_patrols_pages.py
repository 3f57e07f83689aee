"""Phone pages of a patrol: start, notes, photos, findings, stop, and the calendar."""

import io
import uuid
from datetime import date, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from patrols.models import DailyPatrolCheck, Matter, Patrol, PatrolPhoto


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def secretary(client, world):
    client.force_login(world.secretary_a1)
    return world.secretary_a1


def start(client, world, key=None):
    return client.post(
        reverse("patrol-start"),
        {"district": world.district_a1.pk, "start_key": str(key or uuid.uuid4())},
    )


def jpeg() -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), "green").save(buffer, format="JPEG")
    return SimpleUploadedFile("road.jpg", buffer.getvalue(), content_type="image/jpeg")


def test_home_offers_start(client, world, secretary):
    response = client.get(reverse("patrol-home"))

    assert response.status_code == 200
    assert f"开始巡查{world.district_a1.name}" in response.content.decode()


def test_double_tap_starts_once(client, world, secretary):
    key = uuid.uuid4()

    first = start(client, world, key)
    second = start(client, world, key)

    assert first.status_code == second.status_code == 302
    assert Patrol.objects.filter(secretary=secretary).count() == 1


def test_second_patrol_refused_while_running(client, world, secretary):
    start(client, world)

    response = start(client, world)
    page = client.get(reverse("patrol-home"), HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 302
    assert Patrol.objects.filter(secretary=secretary).count() == 1
    assert page.status_code == 200


def test_other_district_refused(client, world, secretary):
    response = client.post(
        reverse("patrol-start"),
        {"district": world.district_a2.pk, "start_key": str(uuid.uuid4())},
    )

    assert response.status_code == 403
    assert not Patrol.objects.exists()


def test_finding_reported_once(client, world, secretary):
    start(client, world)
    patrol = Patrol.objects.get()
    data = {
        "severity": "small",
        "title": "垃圾堆放",
        "description": "",
        "form_key": str(uuid.uuid4()),
    }

    for _ in range(2):
        response = client.post(reverse("patrol-finding-add", args=[patrol.pk]), data)
        assert response.status_code == 302

    matter = Matter.objects.get()
    assert matter.patrol == patrol
    assert matter.district == world.district_a1
    assert matter.title == "垃圾堆放"


def test_finding_needs_title(client, world, secretary):
    start(client, world)
    patrol = Patrol.objects.get()

    response = client.post(
        reverse("patrol-finding-add", args=[patrol.pk]),
        {"severity": "small", "title": "", "form_key": str(uuid.uuid4())},
    )

    assert response.status_code == 400
    assert not Matter.objects.exists()


def test_photo_added_once_and_served(client, world, secretary):
    start(client, world)
    patrol = Patrol.objects.get()
    key = str(uuid.uuid4())

    for _ in range(2):
        client.post(
            reverse("patrol-photo-add", args=[patrol.pk]), {"photo": jpeg(), "form_key": key}
        )
    photo = PatrolPhoto.objects.get()
    own = client.get(reverse("patrol-photo", args=[photo.pk]))
    client.force_login(world.outsider)
    outsider = client.get(reverse("patrol-photo", args=[photo.pk]))
    client.force_login(world.village_admin)
    admin = client.get(reverse("patrol-photo", args=[photo.pk]))

    assert own.status_code == 200
    assert own["Content-Type"] == "image/jpeg"
    assert outsider.status_code == 404
    assert admin.status_code == 200


def test_photo_rejects_non_image(client, world, secretary):
    start(client, world)
    patrol = Patrol.objects.get()
    text = SimpleUploadedFile("note.jpg", b"not an image", content_type="image/jpeg")

    response = client.post(
        reverse("patrol-photo-add", args=[patrol.pk]),
        {"photo": text, "form_key": str(uuid.uuid4())},
    )

    assert response.status_code == 400
    assert not PatrolPhoto.objects.exists()


def test_stop_measures_duration(client, world, secretary, time_machine):
    began = timezone.now()
    time_machine.move_to(began, tick=False)
    start(client, world)
    patrol = Patrol.objects.get()
    client.post(reverse("patrol-notes", args=[patrol.pk]), {"notes": "道路通畅"})
    time_machine.move_to(began + timedelta(minutes=75), tick=False)

    # The running patrol kept the session past STAFF_SESSION_IDLE_MINUTES.
    response = client.post(reverse("patrol-stop", args=[patrol.pk]), {})

    patrol.refresh_from_db()
    assert response.status_code == 302
    assert response.url == reverse("patrol-home")
    assert patrol.duration == timedelta(minutes=75)
    assert patrol.notes == "道路通畅"


def test_session_idle_again_after_stop(client, world, secretary, time_machine, settings):
    began = timezone.now()
    time_machine.move_to(began, tick=False)
    start(client, world)
    stopped_at = began + timedelta(minutes=70)
    time_machine.move_to(stopped_at, tick=False)
    stopped = client.post(reverse("patrol-stop", args=[Patrol.objects.get().pk]), {})
    assert stopped.status_code == 302

    idle = timedelta(minutes=settings.STAFF_SESSION_IDLE_MINUTES, seconds=1)
    time_machine.move_to(stopped_at + idle, tick=False)
    response = client.get(reverse("patrol-home"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_patrol_hold_ends_after_limit(client, world, secretary, time_machine, settings):
    began = timezone.now()
    time_machine.move_to(began, tick=False)
    start(client, world)

    held = timedelta(hours=settings.STAFF_PATROL_SESSION_HOURS, seconds=1)
    time_machine.move_to(began + held, tick=False)
    response = client.get(reverse("patrol-home"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_stop_twice_refused(client, world, secretary):
    start(client, world)
    patrol = Patrol.objects.get()
    client.post(reverse("patrol-stop", args=[patrol.pk]), {})

    response = client.post(reverse("patrol-stop", args=[patrol.pk]), {}, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 400
    assert "This patrol has already stopped." in response.content.decode()


def test_stop_before_start_refused(client, world, secretary):
    start(client, world)
    patrol = Patrol.objects.get()
    before = timezone.localtime(patrol.started_at - timedelta(minutes=5))

    response = client.post(
        reverse("patrol-stop", args=[patrol.pk]),
        {"ended_at": before.strftime("%Y-%m-%dT%H:%M")},
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert response.status_code == 400
    assert "A patrol must end after it starts." in response.content.decode()
    patrol.refresh_from_db()
    assert patrol.ended_at is None


def test_other_secretary_cannot_stop(client, world, secretary):
    start(client, world)
    patrol = Patrol.objects.get()
    client.force_login(world.secretary_a2)

    response = client.post(reverse("patrol-stop", args=[patrol.pk]), {})

    assert response.status_code == 403


def test_villager_refused(client, world):
    client.force_login(world.villager_user)

    assert client.get(reverse("patrol-home")).status_code == 403


def test_calendar_shows_kept_and_missed(client, world, secretary):
    for day, kept in [(date(2026, 3, 2), True), (date(2026, 3, 3), False)]:
        DailyPatrolCheck.objects.create(
            district=world.district_a1,
            day=day,
            secretary=secretary,
            qualifying_patrols=int(kept),
            kept=kept,
            checked_at=timezone.now(),
        )

    response = client.get(reverse("patrol-calendar", args=[secretary.pk]), {"month": "2026-03"})

    days = {cell.day: cell.state for week in response.context["weeks"] for cell in week if cell}
    assert days[date(2026, 3, 2)] == "kept"
    assert days[date(2026, 3, 3)] == "missed"
    assert days[date(2026, 3, 4)] == "unchecked"
    assert len(days) == 31


@pytest.mark.parametrize(
    ("viewer", "status"),
    [
        ("secretary_a1", 200),
        ("village_admin", 200),
        ("township_viewer", 200),
        ("secretary_a2", 404),
        ("outsider", 404),
        ("other_township_viewer", 404),
    ],
)
def test_calendar_access(client, world, viewer, status):
    client.force_login(getattr(world, viewer))

    response = client.get(reverse("patrol-calendar", args=[world.secretary_a1.pk]))

    assert response.status_code == status
