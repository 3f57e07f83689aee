"""The matter clock: waiting on the villager, reminders, township escalation and reopening."""

import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.utils import timezone, translation

from notifications.models import Notification
from patrols import services
from patrols.models import Escalation, Matter, PatrolPolicy
from patrols.services import matter_move, matter_report, matters_sweep_township
from patrols.tasks import sweep_matter_deadlines

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 3, 3, 9, 0, tzinfo=SHANGHAI)
SECOND = timedelta(seconds=1)
LIMITS = {"small": timedelta(hours=1), "medium": timedelta(hours=24), "big": timedelta(days=7)}
PAUSE = timedelta(minutes=20)


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(T0, tick=False)
    return time_machine


def report(world, severity="small", title="井盖缺失") -> Matter:
    return matter_report(
        actor=world.secretary_a1, district=world.district_a1, severity=severity, title=title
    )


def move(world, matter, status, resolution="已处理") -> Matter:
    return matter_move(
        actor=world.village_admin, matter_id=matter.pk, status=status, resolution=resolution
    )


def levels(matter) -> list[str]:
    return sorted(Escalation.objects.filter(matter=matter).values_list("level", flat=True))


def events(user) -> list[str]:
    return sorted(Notification.objects.filter(recipient=user).values_list("event_key", flat=True))


# Waiting on the villager pauses the clock


@pytest.mark.parametrize("severity", list(LIMITS))
@pytest.mark.parametrize(
    ("offset", "escalates"),
    [
        pytest.param(-SECOND, False, id="second-before"),
        pytest.param(timedelta(0), True, id="at-deadline"),
        pytest.param(SECOND, True, id="second-after"),
    ],
)
def test_paused_deadline_boundary(world, clock, severity, offset, escalates):
    matter = report(world, severity)
    clock.move_to(T0 + timedelta(minutes=10), tick=False)
    move(world, matter, "waiting")
    clock.move_to(T0 + timedelta(minutes=10) + PAUSE, tick=False)
    move(world, matter, "in_progress")
    run_at = T0 + LIMITS[severity] + PAUSE + offset
    clock.move_to(run_at, tick=False)

    escalated = sweep_matter_deadlines()

    matter.refresh_from_db()
    assert matter.deadline == T0 + LIMITS[severity] + PAUSE
    assert matter.paused_seconds == PAUSE.total_seconds()
    assert matter.paused_at is None
    assert escalated == ([matter.pk] if escalates else [])
    assert (matter.overdue_at == run_at) if escalates else (matter.overdue_at is None)


def test_waiting_matter_never_escalates(world, clock):
    matter = report(world, "big")
    move(world, matter, "waiting")
    clock.move_to(T0 + timedelta(days=30), tick=False)

    escalated = sweep_matter_deadlines()

    matter.refresh_from_db()
    assert escalated == []
    assert levels(matter) == []
    assert matter.reminded_at is None
    assert matter.status == Matter.Status.WAITING
    assert matter.paused_at == T0


def test_pause_shifts_every_due_time(world, clock):
    matter = report(world, "medium")
    before = (matter.deadline, matter.remind_at, matter.township_due_at)
    move(world, matter, "waiting")
    clock.move_to(T0 + timedelta(hours=5), tick=False)

    resumed = move(world, matter, "in_progress")

    shift = timedelta(hours=5)
    assert (resumed.deadline, resumed.remind_at, resumed.township_due_at) == tuple(
        due + shift for due in before
    )
    assert resumed.paused_seconds == 5 * 3600


def test_pauses_add_up(world, clock):
    matter = report(world)
    for start_minutes in (5, 30):
        clock.move_to(T0 + timedelta(minutes=start_minutes), tick=False)
        move(world, matter, "waiting")
        clock.move_to(T0 + timedelta(minutes=start_minutes + 10), tick=False)
        matter = move(world, matter, "in_progress")

    assert matter.paused_seconds == 20 * 60
    assert matter.deadline == T0 + timedelta(minutes=80)


def test_resolved_while_waiting_is_on_time(world, clock):
    matter = report(world)
    move(world, matter, "waiting")
    clock.move_to(T0 + timedelta(hours=3), tick=False)

    resolved = move(world, matter, "resolved")

    assert resolved.deadline == T0 + timedelta(hours=4)
    assert resolved.resolved_at <= resolved.deadline


# Reminders


@pytest.mark.parametrize(
    ("offset", "reminds"),
    [
        pytest.param(-SECOND, False, id="second-before"),
        pytest.param(timedelta(0), True, id="at-reminder"),
        pytest.param(SECOND, True, id="second-after"),
    ],
)
def test_reminder_boundary(world, clock, offset, reminds):
    matter = report(world, "medium")
    # The default lead is 15 minutes before the deadline.
    clock.move_to(T0 + LIMITS["medium"] - timedelta(minutes=15) + offset, tick=False)

    sweep_matter_deadlines()
    sweep_matter_deadlines()

    expected = [f"matter:{matter.pk}:reminder"] if reminds else []
    assert events(world.secretary_a1) == expected


def test_reminder_lead_capped_at_half_limit(world, clock):
    PatrolPolicy.objects.create(village=world.village_a, reminder_lead=timedelta(hours=2))

    small = report(world, "small")
    big = report(world, "big", title="大事")

    assert small.remind_at == small.deadline - timedelta(minutes=30)
    assert big.remind_at == big.deadline - timedelta(hours=2)


def test_late_sweep_skips_stale_reminder(world, clock):
    matter = report(world)
    clock.move_to(T0 + timedelta(hours=1, minutes=5), tick=False)

    sweep_matter_deadlines()

    matter.refresh_from_db()
    assert matter.reminded_at == T0 + timedelta(hours=1, minutes=5)
    assert events(world.secretary_a1) == []
    assert events(world.village_admin) == [f"matter:{matter.pk}:village"]


def test_reminder_text_in_recipient_language(world, clock):
    world.secretary_a1.language = "en"
    world.secretary_a1.save()
    matter = report(world, "small", title="路灯不亮")
    clock.move_to(T0 + timedelta(minutes=45), tick=False)

    sweep_matter_deadlines()

    notification = Notification.objects.get(recipient=world.secretary_a1)
    assert notification.render() == (
        f"Reminder: the matter “路灯不亮” in {world.district_a1.name} is due at 2026-03-03 10:00."
    )
    assert notification.render("zh-hans") == (
        f"提醒：{world.district_a1.name}的事项“路灯不亮”将于 2026-03-03 10:00 到期。"
    )
    assert notification.event_key == f"matter:{matter.pk}:reminder"


# Township escalation


@pytest.mark.parametrize(
    ("severity", "township_after"),
    [
        ("small", timedelta(hours=2)),
        ("medium", timedelta(hours=48)),
        ("big", timedelta(days=7)),
    ],
)
@pytest.mark.parametrize(
    ("offset", "escalates"),
    [
        pytest.param(-SECOND, False, id="second-before"),
        pytest.param(timedelta(0), True, id="at-limit"),
        pytest.param(SECOND, True, id="second-after"),
    ],
)
def test_township_boundary(world, clock, severity, township_after, offset, escalates):
    matter = report(world, severity)
    clock.move_to(T0 + township_after + offset, tick=False)

    sweep_matter_deadlines()
    sweep_matter_deadlines()

    assert (Escalation.Level.TOWNSHIP in levels(matter)) is escalates
    expected = [f"matter:{matter.pk}:township"] if escalates else []
    assert events(world.township_viewer) == expected
    # The viewer of another township hears nothing of this village.
    assert events(world.other_township_viewer) == []


def test_big_matter_escalates_both_levels_at_deadline(world, clock):
    matter = report(world, "big")
    clock.move_to(T0 + LIMITS["big"], tick=False)

    sweep_matter_deadlines()

    assert levels(matter) == ["township", "village"]
    assert Escalation.objects.get(matter=matter, level="township").notified is None


def test_each_level_recorded_once(world, clock):
    matters = [report(world, severity, title=severity) for severity in LIMITS]
    clock.move_to(T0 + timedelta(days=30), tick=False)

    for _ in range(3):
        sweep_matter_deadlines()

    assert [levels(matter) for matter in matters] == [["township", "village"]] * 3
    assert Notification.objects.filter(recipient=world.village_admin).count() == 3
    assert Notification.objects.filter(recipient=world.township_viewer).count() == 3


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_township_sweeps_once(world):
    matters = [report(world, "small", title=f"小事 {n}") for n in range(20)]
    run_at = timezone.now() + timedelta(hours=3)
    results: dict[str, list[int]] = {}
    start = threading.Barrier(2, timeout=30)

    def sweep(name: str) -> None:
        try:
            start.wait()
            results[name] = matters_sweep_township(now=run_at)
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep, args=(name,)) for name in ("first", "second")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert set(results["first"]).isdisjoint(results["second"])
    assert sorted(results["first"] + results["second"]) == sorted(m.pk for m in matters)
    assert Escalation.objects.filter(level="township").count() == 20
    assert Notification.objects.filter(recipient=world.township_viewer).count() == 20


# Reopening


def test_reopen_verified_matter(world, clock):
    matter = report(world)
    move(world, matter, "resolved")
    move(world, matter, "verified")

    reopened = move(world, matter, "in_progress")

    assert reopened.status == Matter.Status.IN_PROGRESS
    assert reopened.resolved_at is None


def test_reopened_after_deadline_escalates(world, clock):
    matter = report(world)
    move(world, matter, "resolved")
    clock.move_to(T0 + timedelta(hours=2), tick=False)
    move(world, matter, "in_progress")

    escalated = sweep_matter_deadlines()

    assert escalated == [matter.pk]


def test_secretary_cannot_reopen(world, clock):
    matter = report(world)
    move(world, matter, "resolved")

    with translation.override("en"), pytest.raises(services.PermissionDenied) as raised:
        matter_move(actor=world.secretary_a1, matter_id=matter.pk, status="in_progress")

    assert str(raised.value) == (
        "A settled matter is verified or reopened by the village party secretary."
    )
