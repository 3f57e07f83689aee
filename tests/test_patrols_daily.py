"""The morning check of each district's patrols, recorded and notified once."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from notifications.models import Notification
from patrols.daily import patrols_check_day, patrols_check_recent_days
from patrols.models import DailyPatrolCheck, Patrol, PatrolPolicy

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 3, 2)


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(datetime(2026, 3, 3, 6, 30, tzinfo=SHANGHAI), tick=False)
    return time_machine


def patrol(world, district, start_hour, minutes, day=DAY):
    started_at = datetime(day.year, day.month, day.day, start_hour, tzinfo=SHANGHAI)
    return Patrol.objects.create(
        district=district,
        secretary=district.secretary,
        started_at=started_at,
        ended_at=started_at + timedelta(minutes=minutes),
    )


def check_of(district, day=DAY) -> DailyPatrolCheck:
    return DailyPatrolCheck.objects.get(district=district, day=day)


@pytest.mark.parametrize(
    ("minutes", "kept"),
    [
        pytest.param(59, False, id="minute-short"),
        pytest.param(60, True, id="exactly-an-hour"),
        pytest.param(61, True, id="minute-over"),
    ],
)
def test_hour_boundary(world, clock, minutes, kept):
    patrol(world, world.district_a1, 9, minutes)

    patrols_check_day(day=DAY)

    assert check_of(world.district_a1).kept is kept


def test_shortfall_notifies_village_secretary_once(world, clock):
    patrol(world, world.district_a1, 9, 70)

    first = patrols_check_day(day=DAY)
    second = patrols_check_day(day=DAY)

    # District B1 is short as well, but village B has no secretary to tell.
    assert first == [check_of(world.district_a2).pk, check_of(world.district_b1).pk]
    assert second == []
    notification = Notification.objects.get(recipient=world.village_admin)
    assert notification.event_key == f"patrol-missed:{world.district_a2.pk}:2026-03-02"
    assert notification.render("en") == (
        f"On 2026-03-02, {world.district_a2.name} had 0 of the 1 patrols of at least 60 minutes "
        "that it needs every day."
    )
    assert DailyPatrolCheck.objects.filter(day=DAY).count() == 3


def test_policy_sets_count_and_minutes(world, clock):
    PatrolPolicy.objects.create(
        village=world.village_a, minimum_patrol_minutes=30, patrols_per_day=2
    )
    patrol(world, world.district_a1, 9, 30)
    patrol(world, world.district_a1, 14, 30)
    patrol(world, world.district_a2, 9, 90)

    patrols_check_day(day=DAY)

    assert check_of(world.district_a1).kept is True
    assert check_of(world.district_a1).qualifying_patrols == 2
    assert check_of(world.district_a2).kept is False


def test_patrol_counts_for_local_day(world, clock):
    # 23:30 on 1 March in Shanghai is 15:30 UTC: it belongs to 1 March, not 2 March.
    patrol(world, world.district_a1, 23, 90, day=date(2026, 3, 1))

    patrols_check_day(day=DAY)

    assert check_of(world.district_a1).kept is False


def test_recent_days_catch_up(world, clock):
    patrols_check_recent_days(today=date(2026, 3, 3))

    checked = set(DailyPatrolCheck.objects.values_list("day", flat=True))
    assert checked == {date(2026, 3, 1), date(2026, 3, 2)}


def test_batch_bounds_run(world, clock):
    first = patrols_check_day(day=DAY, limit=2)

    assert len(first) == 2
    assert DailyPatrolCheck.objects.count() == 2
    patrols_check_day(day=DAY, limit=2)
    assert DailyPatrolCheck.objects.count() == 3
