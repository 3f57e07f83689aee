"""Notifications: once per event, in the recipient's language, SMS through the backend."""

import logging

import pytest
from django.urls import reverse

from notifications.models import Notification
from notifications.services import notification_send, notification_sms_send
from notifications.sms import LoggingBackend, mask_phone
from patrols import messages
from villagers import roles

from .factories import UserFactory, VillagerFactory

PARAMS = {"village": "群英村", "date": "2026-03-03"}


def send(user, event_key="meeting-missed:1:2026-03-03"):
    return notification_send(
        recipient=user, event_key=event_key, msgid=messages.MEETING_MISSED, params=PARAMS
    )


def test_same_event_notifies_once(world):
    first = send(world.village_admin)
    second = send(world.village_admin)

    assert first is not None
    assert second is None
    assert Notification.objects.filter(recipient=world.village_admin).count() == 1


def test_same_event_other_recipient(world):
    send(world.village_admin)
    send(world.secretary_a1)

    assert Notification.objects.count() == 2


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("en", "No meeting of 群英村 was recorded for Tuesday 2026-03-03."),
        ("zh-hans", "群英村 2026-03-03（周二）没有例会记录。"),
    ],
)
def test_rendered_in_recipient_language(world, language, text):
    world.village_admin.language = language
    world.village_admin.save()

    notification = send(world.village_admin)

    assert notification.render() == text


def test_mask_phone_hides_middle():
    assert mask_phone("13812345678") == "138******78"
    assert mask_phone("1234") == "****"


def test_logging_backend_never_logs_number(caplog):
    with caplog.at_level(logging.INFO, logger="notifications.sms"):
        LoggingBackend().send(phone="13812345678", text="测试")

    assert "13812345678" not in caplog.text
    assert "138******78" in caplog.text


@pytest.fixture
def staff_with_phone(world):
    user = UserFactory(
        username="pianqu_phone",
        village=world.village_a,
        is_staff=True,
        roles=[roles.DISTRICT_SECRETARY],
    )
    VillagerFactory(household=world.household_a1, name="钱书记", user=user, phone="13912345678")
    return user


class RecordingBackend:
    sent: list[tuple[str, str]] = []

    def send(self, *, phone: str, text: str) -> None:
        RecordingBackend.sent.append((phone, text))


def test_sms_sent_once(world, staff_with_phone, settings):
    settings.SMS_BACKEND = "tests.test_notifications.RecordingBackend"
    RecordingBackend.sent = []
    notification = send(staff_with_phone)

    first = notification_sms_send(notification_id=notification.pk)
    second = notification_sms_send(notification_id=notification.pk)

    assert (first, second) == (True, False)
    assert RecordingBackend.sent == [("13912345678", "群英村 2026-03-03（周二）没有例会记录。")]
    notification.refresh_from_db()
    assert notification.sms_sent_at is not None


def test_sms_queued_after_commit(world, staff_with_phone, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        send(staff_with_phone)
        send(world.village_admin, event_key="other")

    # The village admin has no linked villager record, so no phone and no SMS.
    assert len(callbacks) == 1


def test_list_page_and_unread_count(world, client):
    send(world.village_admin)
    send(world.village_admin, event_key="second")
    client.force_login(world.village_admin)

    response = client.get(reverse("notifications"))

    assert response.status_code == 200
    assert response.context["unread_notifications"] == 2
    assert "群英村 2026-03-03（周二）没有例会记录。" in response.content.decode()


def test_list_in_page_language(world, client):
    send(world.village_admin)
    client.force_login(world.village_admin)

    response = client.get(reverse("notifications"), HTTP_ACCEPT_LANGUAGE="en")

    assert "No meeting of 群英村 was recorded for Tuesday 2026-03-03." in response.content.decode()


def test_mark_all_read(world, client):
    send(world.village_admin)
    send(world.secretary_a1)
    client.force_login(world.village_admin)

    response = client.post(reverse("notifications-read"))

    assert response.status_code == 302
    assert not Notification.objects.filter(recipient=world.village_admin, read_at=None).exists()
    assert Notification.objects.filter(recipient=world.secretary_a1, read_at=None).exists()


def test_list_shows_only_own(world, client):
    send(world.village_admin)
    client.force_login(world.secretary_a1)

    response = client.get(reverse("notifications"))

    assert list(response.context["page"]) == []
    assert response.context["unread_notifications"] == 0


def test_list_needs_login(client):
    response = client.get(reverse("notifications"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_admin_list_shows_message(world, client):
    send(world.village_admin)
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))

    response = client.get(reverse("admin:notifications_notification_changelist"))

    assert response.status_code == 200
    assert "群英村 2026-03-03（周二）没有例会记录。" in response.content.decode()
    assert "meeting-missed:1:2026-03-03" not in response.content.decode()
