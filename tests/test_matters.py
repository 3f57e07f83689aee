"""Matters: 三不出 deadlines, the deadline sweep, status moves and who may act."""

import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone, translation

from patrols import services
from patrols.models import Escalation, Matter
from patrols.services import matter_move, matter_report, matters_sweep_overdue
from patrols.tasks import sweep_matter_deadlines
from villagers import roles

from .factories import UserFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")
# When the matters of a test are reported: a Tuesday morning in the village's time zone.
T0 = datetime(2026, 3, 3, 9, 0, tzinfo=SHANGHAI)
SECOND = timedelta(seconds=1)

# 三不出: a small matter within the hour, a medium one within the day, a big one within the week.
DEFAULT_LIMITS = {
    "small": timedelta(hours=1),
    "medium": timedelta(hours=24),
    "big": timedelta(days=7),
}
SEVERITIES = list(DEFAULT_LIMITS)


@pytest.fixture
def clock(time_machine):
    """The test's clock, frozen at T0 until a test moves it."""
    time_machine.move_to(T0, tick=False)
    return time_machine


@pytest.fixture
def secretary_b1(world):
    """The district secretary of village B: allowed to report matters, but only in B."""
    user = UserFactory(
        username="pianqu_b1",
        village=world.village_b,
        is_staff=True,
        roles=[roles.DISTRICT_SECRETARY],
    )
    world.district_b1.secretary = user
    world.district_b1.save()
    return user


def report(world, severity="small", *, actor=None, district=None, title="垃圾桶满溢") -> Matter:
    return matter_report(
        actor=actor or world.secretary_a1,
        district=district or world.district_a1,
        severity=severity,
        title=title,
    )


def escalation_counts(matters, level=Escalation.Level.VILLAGE) -> list[int]:
    """Count each matter's escalations to ``level``, the village secretary by default."""
    return [Escalation.objects.filter(matter=matter, level=level).count() for matter in matters]


# Deadlines


@pytest.mark.parametrize("severity", SEVERITIES)
def test_deadline_follows_default_limits(world, clock, severity):
    matter = report(world, severity)

    matter.refresh_from_db()
    assert matter.reported_at == T0
    assert matter.deadline == T0 + DEFAULT_LIMITS[severity]
    assert matter.status == Matter.Status.REPORTED
    assert matter.assignee == world.secretary_a1
    assert matter.overdue_at is None


@pytest.mark.parametrize(
    ("severity", "changed_limit"),
    [
        ("small", timedelta(minutes=30)),
        ("medium", timedelta(hours=4)),
        ("big", timedelta(days=3)),
    ],
)
def test_deadline_follows_changed_limits(world, clock, secretary_b1, severity, changed_limit):
    world.village_a.small_matter_limit = timedelta(minutes=30)
    world.village_a.medium_matter_limit = timedelta(hours=4)
    world.village_a.big_matter_limit = timedelta(days=3)
    world.village_a.save()

    in_a = report(world, severity)
    in_b = report(world, severity, actor=secretary_b1, district=world.district_b1)

    assert in_a.deadline == T0 + changed_limit
    assert in_b.deadline == T0 + DEFAULT_LIMITS[severity]


# The deadline sweep


@pytest.mark.parametrize("severity", SEVERITIES)
@pytest.mark.parametrize(
    ("offset", "escalates"),
    [
        pytest.param(-SECOND, False, id="second-before"),
        pytest.param(timedelta(0), True, id="at-deadline"),
        pytest.param(SECOND, True, id="second-after"),
    ],
)
def test_sweep_at_deadline_boundary(world, clock, severity, offset, escalates):
    matter = report(world, severity)
    run_at = T0 + DEFAULT_LIMITS[severity] + offset
    clock.move_to(run_at, tick=False)

    escalated = sweep_matter_deadlines()

    matter.refresh_from_db()
    if escalates:
        assert escalated == [matter.pk]
        assert matter.overdue_at == run_at
        assert escalation_counts([matter]) == [1]
    else:
        assert escalated == []
        assert matter.overdue_at is None
        assert escalation_counts([matter]) == [0]


def test_sweep_twice_escalates_once(world, clock, secretary_b1):
    world.village_b.secretary = world.outsider
    world.village_b.save()
    in_a = [report(world, severity, title=f"A {severity}") for severity in SEVERITIES]
    in_b = report(world, "small", actor=secretary_b1, district=world.district_b1, title="B small")
    run_at = T0 + timedelta(days=8)
    clock.move_to(run_at, tick=False)

    first = sweep_matter_deadlines()
    second = sweep_matter_deadlines()

    # Ordered by deadline: the two small matters (reported together) before medium and big.
    assert sorted(first[:2]) == sorted([in_a[0].pk, in_b.pk])
    assert first[2:] == [in_a[1].pk, in_a[2].pk]
    assert second == []
    assert Escalation.objects.filter(level=Escalation.Level.VILLAGE).count() == 4
    for matter, secretary in [*((m, world.village_admin) for m in in_a), (in_b, world.outsider)]:
        escalation = Escalation.objects.get(matter=matter, level=Escalation.Level.VILLAGE)
        assert escalation.level == Escalation.Level.VILLAGE
        assert escalation.notified == secretary
        assert escalation.escalated_at == run_at
        assert escalation.matter_title == matter.title
        matter.refresh_from_db()
        assert matter.overdue_at == run_at


def test_escalation_recorded_once_per_level(world, clock):
    matter = report(world)
    clock.move_to(T0 + timedelta(hours=2), tick=False)
    sweep_matter_deadlines()
    # Staff clearing the overdue mark (in the admin, say) lets the sweep claim the
    # matter again, but the unique constraint still keeps one escalation per level.
    Matter.objects.filter(pk=matter.pk).update(overdue_at=None)

    again = sweep_matter_deadlines()

    assert again == []
    assert escalation_counts([matter]) == [1]
    with pytest.raises(IntegrityError), transaction.atomic():
        Escalation.objects.create(
            matter=matter,
            level=Escalation.Level.VILLAGE,
            escalated_at=timezone.now(),
            matter_title=matter.title,
        )


@pytest.mark.parametrize(
    ("moves", "escalates"),
    [
        pytest.param([], True, id="reported"),
        pytest.param(["accepted"], True, id="accepted"),
        pytest.param(["in_progress"], True, id="in_progress"),
        pytest.param(["resolved"], False, id="resolved"),
        pytest.param(["resolved", "verified"], False, id="verified"),
        pytest.param(["resolved", "in_progress"], True, id="reopened"),
    ],
)
def test_sweep_escalates_only_open_matters(world, clock, moves, escalates):
    matter = report(world, "medium")
    for status in moves:
        matter_move(
            actor=world.village_admin, matter_id=matter.pk, status=status, resolution="已清运"
        )
    clock.move_to(T0 + timedelta(days=30), tick=False)

    escalated = sweep_matter_deadlines()

    matter.refresh_from_db()
    assert escalated == ([matter.pk] if escalates else [])
    assert escalation_counts([matter]) == [1 if escalates else 0]
    assert (matter.overdue_at is not None) is escalates


def test_missed_run_catches_up(world, clock):
    small = []
    for minutes in (0, 10, 20):
        clock.move_to(T0 + timedelta(minutes=minutes), tick=False)
        small.append(report(world, "small", title=f"小事 {minutes}"))
    medium = report(world, "medium", title="中事")
    # No sweep ran for five hours (broker down, say): every small deadline passed.
    run_at = T0 + timedelta(hours=5)
    clock.move_to(run_at, tick=False)

    escalated = sweep_matter_deadlines()

    assert escalated == [matter.pk for matter in small]
    assert escalation_counts(small) == [1, 1, 1]
    assert escalation_counts([medium]) == [0]
    for matter in small:
        matter.refresh_from_db()
        assert matter.overdue_at == run_at


def test_batch_limit_bounds_run(world, clock, settings):
    settings.MATTER_SWEEP_BATCH = 2
    matters = []
    for minutes in range(5):
        clock.move_to(T0 + timedelta(minutes=minutes), tick=False)
        matters.append(report(world, "small", title=f"小事 {minutes}"))
    clock.move_to(T0 + timedelta(hours=2), tick=False)
    ids = [matter.pk for matter in matters]

    runs = [sweep_matter_deadlines() for _ in range(4)]

    assert runs == [ids[0:2], ids[2:4], ids[4:5], []]
    assert escalation_counts(matters) == [1, 1, 1, 1, 1]


def test_explicit_limit_overrides_batch(world, clock):
    matters = [report(world, "small", title=f"小事 {n}") for n in range(3)]
    run_at = T0 + timedelta(hours=2)

    first = matters_sweep_overdue(now=run_at, limit=1)
    rest = matters_sweep_overdue(now=run_at)

    assert len(first) == 1
    assert sorted(first + rest) == sorted(matter.pk for matter in matters)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_sweeps_escalate_once(world, monkeypatch):
    matters = [report(world, "small", title=f"小事 {n}") for n in range(30)]
    run_at = timezone.now() + timedelta(hours=2)

    # Hold each sweep at its first claim until both have listed their candidates,
    # so the two runs race over the same rows instead of running one after the other.
    both_listed = threading.Barrier(2, timeout=30)
    original_escalate = services.matter_escalate_overdue
    thread_state = threading.local()

    def escalate_after_both_listed(**kwargs):
        if not getattr(thread_state, "waited", False):
            thread_state.waited = True
            both_listed.wait()
        return original_escalate(**kwargs)

    monkeypatch.setattr(services, "matter_escalate_overdue", escalate_after_both_listed)
    results: dict[str, list[int]] = {}
    errors: list[Exception] = []

    def sweep(name: str) -> None:
        try:
            results[name] = matters_sweep_overdue(now=run_at)
        except Exception as error:  # reported by the assertion below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep, args=(name,)) for name in ("first", "second")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert not any(thread.is_alive() for thread in threads)
    first, second = results["first"], results["second"]
    assert set(first).isdisjoint(second)
    assert sorted(first + second) == sorted(matter.pk for matter in matters)
    assert escalation_counts(matters) == [1] * len(matters)
    assert Escalation.objects.count() == len(matters)


def test_history_records_overdue_change(world, clock):
    matter = report(world)
    run_at = T0 + timedelta(hours=1, minutes=5)
    clock.move_to(run_at, tick=False)

    sweep_matter_deadlines()

    # The reminder is claimed in the same sweep, just before the overdue mark.
    created, reminded, changed = matter.history.order_by("history_date", "history_id")
    assert reminded.reminded_at == run_at
    assert created.history_type == "+"
    assert created.history_user == world.secretary_a1
    assert created.overdue_at is None
    assert changed.history_type == "~"
    assert changed.history_date == run_at
    assert changed.history_user is None
    assert changed.overdue_at == run_at
    assert changed.diff_against(reminded).changed_fields == ["overdue_at"]


# Status moves

# The moves a matter may make from each status. Every other move is rejected.
ALLOWED_MOVES = {
    "reported": {"accepted", "in_progress", "waiting", "resolved"},
    "accepted": {"in_progress", "waiting", "resolved"},
    "in_progress": {"waiting", "resolved"},
    "waiting": {"in_progress", "resolved"},
    "resolved": {"verified", "in_progress"},
    "verified": {"in_progress"},
}
# The moves that bring a new matter to each status.
PATH_TO = {
    "reported": [],
    "accepted": ["accepted"],
    "in_progress": ["in_progress"],
    "waiting": ["waiting"],
    "resolved": ["resolved"],
    "verified": ["resolved", "verified"],
}
STATUS_LABELS = {
    "reported": "Reported",
    "accepted": "Accepted",
    "in_progress": "In progress",
    "waiting": "Waiting on the villager",
    "resolved": "Resolved",
    "verified": "Verified",
}


def matter_at(world, status: str) -> Matter:
    matter = report(world, "medium")
    for step in PATH_TO[status]:
        matter = matter_move(
            actor=world.village_admin, matter_id=matter.pk, status=step, resolution="已清运"
        )
    assert matter.status == status
    return matter


@pytest.mark.parametrize("target", list(STATUS_LABELS))
@pytest.mark.parametrize("current", list(STATUS_LABELS))
def test_matter_move_transitions(world, clock, current, target):
    matter = matter_at(world, current)

    if target in ALLOWED_MOVES[current]:
        moved = matter_move(
            actor=world.village_admin, matter_id=matter.pk, status=target, resolution="已清运"
        )
        moved.refresh_from_db()
        assert moved.status == target
        assert moved.history.first().history_user == world.village_admin
    else:
        with translation.override("en"), pytest.raises(ValidationError) as raised:
            matter_move(
                actor=world.village_admin, matter_id=matter.pk, status=target, resolution="已清运"
            )
        assert raised.value.messages == [
            f"A matter that is “{STATUS_LABELS[current]}” cannot be moved to “{STATUS_LABELS[target]}”."
        ]
        matter.refresh_from_db()
        assert matter.status == current


def test_move_unknown_status_rejected(world, clock):
    matter = report(world)

    with translation.override("en"), pytest.raises(ValidationError) as raised:
        matter_move(actor=world.secretary_a1, matter_id=matter.pk, status="closed")

    assert raised.value.messages == ["A matter that is “Reported” cannot be moved to “closed”."]
    matter.refresh_from_db()
    assert matter.status == Matter.Status.REPORTED


@pytest.mark.parametrize("resolution", ["", "   "])
def test_resolve_needs_resolution(world, clock, resolution):
    matter = report(world)

    with translation.override("en"), pytest.raises(ValidationError) as raised:
        matter_move(
            actor=world.secretary_a1, matter_id=matter.pk, status="resolved", resolution=resolution
        )

    assert raised.value.messages == ["Describe how the matter was settled."]
    matter.refresh_from_db()
    assert matter.status == Matter.Status.REPORTED
    assert matter.resolved_at is None


def test_resolve_then_reopen(world, clock):
    matter = report(world)
    resolved_at = T0 + timedelta(minutes=40)
    clock.move_to(resolved_at, tick=False)

    resolved = matter_move(
        actor=world.secretary_a1, matter_id=matter.pk, status="resolved", resolution="  已清运  "
    )
    reopened = matter_move(actor=world.village_admin, matter_id=matter.pk, status="in_progress")

    assert resolved.resolution == "已清运"
    assert resolved.resolved_at == resolved_at
    assert reopened.status == Matter.Status.IN_PROGRESS
    assert reopened.resolved_at is None
    assert reopened.history.first().history_user == world.village_admin


# Who may report and move matters


def test_report_checks_severity_and_title(world, clock):
    with translation.override("en"):
        with pytest.raises(ValidationError) as bad_severity:
            report(world, "urgent")
        with pytest.raises(ValidationError) as blank_title:
            report(world, "small", title="   ")

    assert bad_severity.value.messages == ["Choose a severity: small, medium or big."]
    assert blank_title.value.messages == ["Give the matter a title."]
    assert Matter.objects.count() == 0


@pytest.mark.parametrize(
    "persona",
    ["villager_user", "outsider", "secretary_b1", "recorder", "approver", "township_viewer"],
)
def test_report_rejected_for(world, clock, secretary_b1, persona):
    actor = secretary_b1 if persona == "secretary_b1" else getattr(world, persona)

    with translation.override("en"), pytest.raises(PermissionDenied) as raised:
        report(world, actor=actor)

    assert str(raised.value) == "You may not report matters in this village."
    assert Matter.objects.count() == 0


def test_secretary_b1_reports_in_own_village(world, clock, secretary_b1):
    matter = report(world, actor=secretary_b1, district=world.district_b1)

    assert matter.village == world.village_b
    assert matter.assignee == secretary_b1


@pytest.mark.parametrize(
    "persona",
    ["villager_user", "outsider", "secretary_b1", "recorder", "approver", "township_viewer"],
)
def test_move_rejected_for(world, clock, secretary_b1, persona):
    actor = secretary_b1 if persona == "secretary_b1" else getattr(world, persona)
    matter = report(world)

    with translation.override("en"), pytest.raises(PermissionDenied) as raised:
        matter_move(actor=actor, matter_id=matter.pk, status="accepted")

    assert str(raised.value) == "You may not change matters in this village."
    matter.refresh_from_db()
    assert matter.status == Matter.Status.REPORTED
    assert matter.history.count() == 1


def test_other_district_secretary_refused(world, clock):
    matter = report(world)

    with translation.override("en"), pytest.raises(PermissionDenied) as moving:
        matter_move(actor=world.secretary_a2, matter_id=matter.pk, status="accepted")
    with translation.override("en"), pytest.raises(PermissionDenied) as reporting:
        report(world, actor=world.secretary_a2, district=world.district_a1)

    assert str(moving.value) == "Matters of 第一片区 are handled by its own district secretary."
    assert str(reporting.value) == "Matters of 第一片区 are handled by its own district secretary."
    matter.refresh_from_db()
    assert matter.status == Matter.Status.REPORTED


@pytest.mark.parametrize("target", ["verified", "in_progress"])
def test_secretary_cannot_verify_own_settlement(world, clock, target):
    matter = report(world)
    matter_move(
        actor=world.secretary_a1, matter_id=matter.pk, status="resolved", resolution="已清运"
    )

    with translation.override("en"), pytest.raises(PermissionDenied) as raised:
        matter_move(actor=world.secretary_a1, matter_id=matter.pk, status=target)

    assert str(raised.value) == (
        "A settled matter is verified or reopened by the village party secretary."
    )
    verified = matter_move(actor=world.village_admin, matter_id=matter.pk, status="verified")
    assert verified.status == Matter.Status.VERIFIED


@pytest.mark.parametrize("persona", ["secretary_a1", "village_admin"])
def test_move_allowed_for_village_staff(world, clock, persona):
    matter = report(world)

    moved = matter_move(actor=getattr(world, persona), matter_id=matter.pk, status="accepted")

    assert moved.status == Matter.Status.ACCEPTED
