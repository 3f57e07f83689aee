"""patrol_log: who may log a patrol, the time checks and the database constraint."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import translation

from patrols.models import Patrol
from patrols.services import patrol_log
from villagers import roles

from .factories import UserFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")
# The frozen clock of every test here: a Tuesday noon in the village's time zone.
NOW = datetime(2026, 3, 3, 12, 0, tzinfo=SHANGHAI)


@pytest.fixture
def frozen_clock(time_machine):
    time_machine.move_to(NOW, tick=False)


def at(hour: int, minute: int = 0) -> datetime:
    return NOW.replace(hour=hour, minute=minute)


def log(world, *, started_at, ended_at, actor=None, district=None):
    return patrol_log(
        actor=actor or world.secretary_a1,
        district=district or world.district_a1,
        started_at=started_at,
        ended_at=ended_at,
    )


def test_secretary_logs_own_district(world, frozen_clock):
    patrol = patrol_log(
        actor=world.secretary_a1,
        district=world.district_a1,
        started_at=at(8),
        ended_at=at(9, 30),
        notes="检查垃圾分类点",
    )

    patrol.refresh_from_db()
    assert patrol.district == world.district_a1
    assert patrol.secretary == world.secretary_a1
    assert patrol.started_at == at(8)
    assert patrol.ended_at == at(9, 30)
    assert patrol.duration == timedelta(hours=1, minutes=30)
    assert patrol.notes == "检查垃圾分类点"
    assert patrol.history.count() == 1
    assert patrol.history.get().history_user == world.secretary_a1


@pytest.mark.parametrize(
    ("started_at", "ended_at"),
    [
        pytest.param(at(9), at(8), id="end-before-start"),
        pytest.param(at(9), at(9), id="end-at-start"),
    ],
)
def test_patrol_ending_before_start_rejected(world, frozen_clock, started_at, ended_at):
    with translation.override("en"), pytest.raises(ValidationError) as raised:
        log(world, started_at=started_at, ended_at=ended_at)

    assert raised.value.messages == ["A patrol must end after it starts."]
    assert Patrol.objects.count() == 0


def test_patrol_ending_in_future_rejected(world, frozen_clock):
    with translation.override("en"), pytest.raises(ValidationError) as raised:
        log(world, started_at=at(11), ended_at=NOW + timedelta(seconds=1))

    assert raised.value.messages == ["A patrol cannot end in the future."]
    assert Patrol.objects.count() == 0


def test_patrol_ending_now_accepted(world, frozen_clock):
    patrol = log(world, started_at=at(11), ended_at=NOW)

    assert patrol.ended_at == NOW


@pytest.mark.parametrize(
    ("started_at", "ended_at"),
    [
        pytest.param(at(9), at(10), id="overlaps-end"),
        pytest.param(at(7), at(8, 30), id="overlaps-start"),
        pytest.param(at(8, 15), at(9), id="inside"),
        pytest.param(at(7), at(11), id="around"),
        pytest.param(at(8), at(9, 30), id="same-times"),
    ],
)
def test_overlapping_patrol_rejected(world, frozen_clock, started_at, ended_at):
    log(world, started_at=at(8), ended_at=at(9, 30))

    with translation.override("en"), pytest.raises(ValidationError) as raised:
        log(world, started_at=started_at, ended_at=ended_at)

    assert raised.value.messages == [
        "This patrol overlaps another patrol of yours; check the times."
    ]
    assert Patrol.objects.count() == 1


@pytest.mark.parametrize(
    ("started_at", "ended_at"),
    [
        pytest.param(at(7), at(8), id="ends-as-other-starts"),
        pytest.param(at(9, 30), at(10, 30), id="starts-as-other-ends"),
    ],
)
def test_adjacent_patrol_accepted(world, frozen_clock, started_at, ended_at):
    log(world, started_at=at(8), ended_at=at(9, 30))

    log(world, started_at=started_at, ended_at=ended_at)

    assert Patrol.objects.filter(secretary=world.secretary_a1).count() == 2


def test_other_secretary_same_time_accepted(world, frozen_clock):
    log(world, started_at=at(8), ended_at=at(9, 30))

    log(
        world,
        actor=world.secretary_a2,
        district=world.district_a2,
        started_at=at(8),
        ended_at=at(9, 30),
    )

    assert Patrol.objects.count() == 2


def test_other_district_secretary_rejected(world, frozen_clock):
    with translation.override("en"), pytest.raises(PermissionDenied) as raised:
        log(
            world,
            actor=world.secretary_a2,
            district=world.district_a1,
            started_at=at(8),
            ended_at=at(9),
        )

    assert str(raised.value) == "Only the district's secretary can log its patrols."
    assert Patrol.objects.count() == 0


@pytest.mark.parametrize(
    "persona", ["recorder", "approver", "village_admin", "outsider", "villager_user"]
)
def test_non_secretary_rejected(world, frozen_clock, persona):
    with translation.override("en"), pytest.raises(PermissionDenied) as raised:
        log(world, actor=getattr(world, persona), started_at=at(8), ended_at=at(9))

    assert str(raised.value) == "Only the district's secretary can log its patrols."
    assert Patrol.objects.count() == 0


def test_recorder_named_secretary_rejected(world, frozen_clock):
    # Being named on the district is not enough: the role must grant add_patrol.
    world.district_a1.secretary = world.recorder
    world.district_a1.save()

    with translation.override("en"), pytest.raises(PermissionDenied) as raised:
        log(world, actor=world.recorder, started_at=at(8), ended_at=at(9))

    assert str(raised.value) == "Only the district's secretary can log its patrols."
    assert Patrol.objects.count() == 0


def test_secretary_of_village_b_rejected_in_a(world, frozen_clock):
    secretary_b1 = UserFactory(
        username="pianqu_b1",
        village=world.village_b,
        is_staff=True,
        roles=[roles.DISTRICT_SECRETARY],
    )
    world.district_b1.secretary = secretary_b1
    world.district_b1.save()

    with pytest.raises(PermissionDenied):
        log(world, actor=secretary_b1, started_at=at(8), ended_at=at(9))
    log(world, actor=secretary_b1, district=world.district_b1, started_at=at(8), ended_at=at(9))

    assert list(Patrol.objects.values_list("district", flat=True)) == [world.district_b1.pk]


@pytest.mark.parametrize(
    "minutes", [pytest.param(-1, id="end-before-start"), pytest.param(0, id="end-at-start")]
)
def test_constraint_rejects_end_before_start(world, minutes):
    with pytest.raises(IntegrityError) as raised, transaction.atomic():
        Patrol.objects.create(
            district=world.district_a1,
            secretary=world.secretary_a1,
            started_at=at(9),
            ended_at=at(9) + timedelta(minutes=minutes),
        )

    assert "patrol_ends_after_start" in str(raised.value)
    assert Patrol.objects.count() == 0


def test_constraint_allows_patrol_in_progress(world):
    Patrol.objects.create(
        district=world.district_a1, secretary=world.secretary_a1, started_at=at(9), ended_at=None
    )

    assert Patrol.objects.get().duration is None
