"""The matters board and the on-time rate per village and district."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from patrols.models import Matter
from patrols.selectors import on_time_rates
from patrols.services import matter_move, matter_report, matters_sweep_overdue
from villagers.models import Village

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 3, 3, 9, 0, tzinfo=SHANGHAI)


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(T0, tick=False)
    return time_machine


def report(world, district, severity="small", title="事项"):
    return matter_report(
        actor=district.secretary, district=district, severity=severity, title=title
    )


def resolve(world, matter):
    return matter_move(
        actor=world.village_admin, matter_id=matter.pk, status="resolved", resolution="已处理"
    )


@pytest.fixture
def march(world, clock):
    """District A1: 2 closed on time, 1 closed late, 1 open overdue. District A2: 1 open overdue."""
    on_time = [report(world, world.district_a1, title=f"准时 {n}") for n in range(2)]
    late = report(world, world.district_a1, title="超时解决")
    open_late = report(world, world.district_a1, title="仍未解决")
    a2_open = report(world, world.district_a2, title="A2 未解决")
    not_due = report(world, world.district_a2, "big", title="未到期")
    clock.move_to(T0 + timedelta(minutes=30), tick=False)
    for matter in on_time:
        resolve(world, matter)
    clock.move_to(T0 + timedelta(hours=2), tick=False)
    resolve(world, late)
    matters_sweep_overdue(now=T0 + timedelta(hours=2))
    return locals()


def rates(by, now=T0 + timedelta(hours=2)):
    villages = Village.objects.filter(name="群英村")
    return {
        rate.name: (rate.closed, rate.closed_on_time, rate.open_overdue, rate.rate)
        for rate in on_time_rates(villages=villages, month=date(2026, 3, 1), now=now, by=by)
    }


def test_rate_per_district(world, march):
    by_district = rates("district")

    assert by_district[world.district_a1.name] == (3, 2, 1, 0.5)
    # The big matter is due next week: not counted until then.
    assert by_district[world.district_a2.name] == (0, 0, 1, 0.0)


def test_rate_per_village(world, march):
    assert rates("village") == {"群英村": (3, 2, 2, 0.4)}


def test_rate_other_month_empty(world, march):
    villages = Village.objects.all()

    assert on_time_rates(villages=villages, month=date(2026, 2, 1), now=T0, by="village") == []


def test_open_not_due_has_no_rate(world, clock):
    report(world, world.district_a1)

    assert rates("district", now=T0) == {world.district_a1.name: (0, 0, 0, None)}


def test_board_shows_urgency_in_words(world, march, client):
    client.force_login(world.village_admin)

    response = client.get(reverse("matter-board"), HTTP_ACCEPT_LANGUAGE="en")

    rows = {row.matter.title: row for row in response.context["rows"]}
    assert set(rows) == {"仍未解决", "A2 未解决", "未到期"}
    assert rows["仍未解决"].urgency == "overdue"
    assert rows["仍未解决"].time_left_text == "1 h 0 min"
    assert rows["未到期"].urgency == "ok"
    page = response.content.decode()
    assert "Overdue" in page
    assert "1 h 0 min late" in page


def test_board_filters(world, march, client):
    client.force_login(world.village_admin)

    by_district = client.get(reverse("matter-board"), {"district": world.district_a2.pk})
    by_severity = client.get(reverse("matter-board"), {"severity": "big"})

    assert {row.matter.title for row in by_district.context["rows"]} == {"A2 未解决", "未到期"}
    assert [row.matter.title for row in by_severity.context["rows"]] == ["未到期"]


def test_board_waiting_paused(world, clock, client):
    matter = report(world, world.district_a1)
    matter_move(actor=world.village_admin, matter_id=matter.pk, status="waiting")
    clock.move_to(T0 + timedelta(hours=5), tick=False)
    client.force_login(world.village_admin)

    response = client.get(reverse("matter-board"))

    [row] = response.context["rows"]
    assert row.urgency == "paused"
    assert row.time_left == timedelta(hours=1)


@pytest.mark.parametrize(
    ("viewer", "visible"),
    [("village_admin", 6), ("township_viewer", 6), ("outsider", 0), ("other_township_viewer", 0)],
)
def test_board_scoped(world, march, client, viewer, visible):
    client.force_login(getattr(world, viewer))

    response = client.get(reverse("matter-board"))

    assert response.status_code == 200
    open_count = Matter.objects.filter(status__in=Matter.OPEN_STATUSES).count()
    assert len(response.context["rows"]) == min(visible, open_count)


def test_board_refuses_villager(world, client):
    client.force_login(world.villager_user)

    assert client.get(reverse("matter-board")).status_code == 403
