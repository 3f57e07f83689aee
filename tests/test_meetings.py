"""Tuesday meetings: the agenda, follow-ups to done, and the check for a missed Tuesday."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import translation

from notifications.models import Notification
from patrols.meetings import (
    follow_up_add,
    follow_up_done,
    last_tuesday,
    meeting_create,
    meetings_check_last_tuesday,
)
from patrols.models import FollowUp, Matter, MissedMeeting
from patrols.services import matter_move, matter_report

SHANGHAI = ZoneInfo("Asia/Shanghai")
TUESDAY = date(2026, 3, 3)


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(datetime(2026, 3, 3, 9, 0, tzinfo=SHANGHAI), tick=False)
    return time_machine


def report(world, district, title, severity="small"):
    return matter_report(
        actor=district.secretary, district=district, severity=severity, title=title
    )


def meet(world, day=TUESDAY):
    return meeting_create(
        actor=world.village_admin,
        village=world.village_a,
        date=day,
        attendees=[world.village_admin, world.secretary_a1, world.secretary_a2],
        minutes="各片区汇报",
    )


def test_agenda_lists_open_matters_by_district(world, clock):
    clock.move_to(datetime(2026, 3, 3, 7, 0, tzinfo=SHANGHAI), tick=False)
    overdue = report(world, world.district_a1, "早上的小事")
    clock.move_to(datetime(2026, 3, 3, 9, 0, tzinfo=SHANGHAI), tick=False)
    fresh = report(world, world.district_a2, "新的中事", "medium")
    settled = report(world, world.district_a1, "已解决")
    matter_move(actor=world.secretary_a1, matter_id=settled.pk, status="resolved", resolution="好")

    meeting = meet(world)

    agenda = [
        (item.matter_id, item.district_name, item.was_overdue) for item in meeting.agenda.all()
    ]
    assert sorted(agenda) == sorted(
        [(overdue.pk, world.district_a1.name, True), (fresh.pk, world.district_a2.name, False)]
    )
    assert set(meeting.attendees.all()) == {
        world.village_admin,
        world.secretary_a1,
        world.secretary_a2,
    }


def test_meeting_once_per_day(world, clock):
    meet(world)

    with translation.override("en"), pytest.raises(ValidationError) as raised:
        meet(world)

    assert raised.value.messages == ["A meeting on 2026-03-03 is already recorded."]


def test_outsider_cannot_record(world, clock):
    with translation.override("en"), pytest.raises(PermissionDenied):
        meeting_create(actor=world.outsider, village=world.village_a, date=TUESDAY, attendees=[])


def test_secretary_cannot_record(world, clock):
    with pytest.raises(PermissionDenied):
        meeting_create(
            actor=world.secretary_a1, village=world.village_a, date=TUESDAY, attendees=[]
        )


def test_follow_up_tracked_to_done(world, clock):
    meeting = meet(world)
    matter = report(world, world.district_a1, "路灯")

    follow_up = follow_up_add(
        actor=world.village_admin,
        meeting=meeting,
        decision="周五前更换路灯",
        owner=world.secretary_a1,
        due_date=TUESDAY + timedelta(days=3),
        matter=matter,
    )
    done = follow_up_done(actor=world.secretary_a1, follow_up_id=follow_up.pk)

    assert done.status == FollowUp.Status.DONE
    assert done.done_at is not None
    notification = Notification.objects.get(recipient=world.secretary_a1)
    assert notification.render("en") == (
        "The meeting of 2026-03-03 gave you a follow-up, due 2026-03-06: 周五前更换路灯"
    )


def test_follow_up_owner_from_village(world, clock):
    meeting = meet(world)

    with translation.override("en"), pytest.raises(ValidationError) as raised:
        follow_up_add(
            actor=world.village_admin,
            meeting=meeting,
            decision="x",
            owner=world.outsider,
            due_date=TUESDAY,
        )

    assert raised.value.messages == ["The owner must be staff of the meeting's village."]


def test_other_secretary_cannot_close(world, clock):
    meeting = meet(world)
    follow_up = follow_up_add(
        actor=world.village_admin,
        meeting=meeting,
        decision="清理河道",
        owner=world.secretary_a1,
        due_date=TUESDAY,
    )

    with pytest.raises(PermissionDenied):
        follow_up_done(actor=world.secretary_a2, follow_up_id=follow_up.pk)


@pytest.mark.parametrize(
    ("today", "tuesday"),
    [
        (date(2026, 3, 3), date(2026, 2, 24)),  # Tuesday itself: the day has not passed
        (date(2026, 3, 4), date(2026, 3, 3)),
        (date(2026, 3, 9), date(2026, 3, 3)),
        (date(2026, 3, 10), date(2026, 3, 3)),
    ],
)
def test_last_tuesday(today, tuesday):
    assert last_tuesday(today) == tuesday


def test_missed_tuesday_flagged_once(world, clock):
    meet(world)

    first = meetings_check_last_tuesday(today=date(2026, 3, 4))
    second = meetings_check_last_tuesday(today=date(2026, 3, 5))

    assert MissedMeeting.objects.get().village == world.village_b
    assert len(first) == 1
    assert second == []


def test_missed_tuesday_notifies_secretary(world, clock):
    meetings_check_last_tuesday(today=date(2026, 3, 4))
    meetings_check_last_tuesday(today=date(2026, 3, 4))

    notification = Notification.objects.get(recipient=world.village_admin)
    assert notification.render("en") == "No meeting of 群英村 was recorded for Tuesday 2026-03-03."


def test_admin_records_meeting(world, clock, client):
    report(world, world.district_a1, "垃圾")
    client.force_login(world.village_admin)

    response = client.post(
        reverse("admin:patrols_meeting_add"),
        {
            "village": world.village_a.pk,
            "date": "2026-03-03",
            "attendees": [world.secretary_a1.pk],
            "minutes": "例会",
            "agenda-TOTAL_FORMS": "0",
            "agenda-INITIAL_FORMS": "0",
            "follow_ups-TOTAL_FORMS": "0",
            "follow_ups-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    meeting = world.village_a.meetings.get()
    assert meeting.agenda.count() == 1
    assert meeting.created_by == world.village_admin
    assert Matter.objects.count() == 1


def test_admin_marks_follow_up_done(world, clock, client):
    meeting = meet(world)
    follow_up = follow_up_add(
        actor=world.village_admin,
        meeting=meeting,
        decision="修复路面",
        owner=world.secretary_a1,
        due_date=TUESDAY,
    )
    client.force_login(world.village_admin)

    response = client.post(
        reverse("admin:patrols_followup_changelist"),
        {"action": "mark_done", "_selected_action": [follow_up.pk]},
        HTTP_ACCEPT_LANGUAGE="en",
        follow=True,
    )

    follow_up.refresh_from_db()
    assert follow_up.status == FollowUp.Status.DONE
    assert "1 follow-up marked done." in response.content.decode()


def test_admin_hides_other_village_meetings(world, clock, client):
    meet(world)
    client.force_login(world.outsider)

    response = client.get(reverse("admin:patrols_meeting_changelist"))

    # The outsider runs village B, so the list opens, without village A's meeting.
    assert response.status_code == 200
    assert response.context["cl"].result_count == 0
