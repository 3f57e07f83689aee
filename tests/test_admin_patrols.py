"""Logging patrols and handling matters through the staff screens."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from patrols.models import Matter, Patrol

pytestmark = pytest.mark.django_db


def patrol_form(district, start, end, notes="巡查河道"):
    local_start, local_end = timezone.localtime(start), timezone.localtime(end)
    return {
        "district": district.pk,
        "started_at_0": local_start.date().isoformat(),
        "started_at_1": local_start.strftime("%H:%M:%S"),
        "ended_at_0": local_end.date().isoformat(),
        "ended_at_1": local_end.strftime("%H:%M:%S"),
        "notes": notes,
    }


def test_secretary_logs_patrol(client, world):
    client.force_login(world.secretary_a1)
    start = timezone.now().replace(microsecond=0) - timedelta(hours=3)

    response = client.post(
        reverse("admin:patrols_patrol_add"),
        patrol_form(world.district_a1, start, start + timedelta(minutes=75)),
    )

    assert response.status_code == 302
    patrol = Patrol.objects.get()
    assert patrol.secretary == world.secretary_a1
    assert patrol.duration == timedelta(minutes=75)
    assert patrol.history.first().history_user == world.secretary_a1


def test_overlapping_patrol_shows_form_error(client, world):
    client.force_login(world.secretary_a1)
    start = timezone.now().replace(microsecond=0) - timedelta(hours=3)
    form = patrol_form(world.district_a1, start, start + timedelta(hours=1))
    client.post(reverse("admin:patrols_patrol_add"), form)

    response = client.post(reverse("admin:patrols_patrol_add"), form, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    assert "This patrol overlaps another patrol of yours; check the times." in response.text
    assert Patrol.objects.count() == 1


def test_other_district_patrol_refused_in_form(client, world):
    client.force_login(world.secretary_a2)
    start = timezone.now().replace(microsecond=0) - timedelta(hours=3)

    response = client.post(
        reverse("admin:patrols_patrol_add"),
        patrol_form(world.district_a1, start, start + timedelta(hours=1)),
        HTTP_ACCEPT_LANGUAGE="en",
    )

    # The form offers a district secretary only their own districts.
    assert response.status_code == 200
    assert "Select a valid choice." in response.text
    assert not Patrol.objects.exists()


@pytest.mark.parametrize(
    ("persona", "status"), [("recorder", 403), ("approver", 403), ("villager_user", 302)]
)
def test_patrol_screen_refused(client, world, persona, status):
    # Staff without the permission get 403; a villager is sent to the admin login.
    client.force_login(getattr(world, persona))
    response = client.get(reverse("admin:patrols_patrol_add"))
    assert response.status_code == status


def test_secretary_reports_matter_with_deadline(client, world):
    client.force_login(world.secretary_a1)

    response = client.post(
        reverse("admin:patrols_matter_add"),
        {"district": world.district_a1.pk, "severity": "medium", "title": "邻里排水纠纷"},
    )

    assert response.status_code == 302
    matter = Matter.objects.get()
    assert matter.deadline - matter.reported_at == timedelta(hours=24)
    assert matter.assignee == world.secretary_a1


def test_matter_moves_through_change_form(client, world):
    client.force_login(world.secretary_a1)
    client.post(
        reverse("admin:patrols_matter_add"),
        {"district": world.district_a1.pk, "severity": "small", "title": "路灯不亮"},
    )
    matter = Matter.objects.get()
    change_url = reverse("admin:patrols_matter_change", args=[matter.pk])

    skipped = client.post(
        change_url, {"status": "verified", "resolution": ""}, HTTP_ACCEPT_LANGUAGE="en"
    )
    resolved = client.post(change_url, {"status": "resolved", "resolution": "已更换灯泡"})

    assert skipped.status_code == 200
    assert "A matter that is “Reported” cannot be moved to “Verified”." in skipped.text
    assert resolved.status_code == 302
    matter.refresh_from_db()
    assert matter.status == Matter.Status.RESOLVED
    assert matter.resolution == "已更换灯泡"


def test_outsider_sees_no_matters_of_other_village(client, world):
    client.force_login(world.secretary_a1)
    client.post(
        reverse("admin:patrols_matter_add"),
        {"district": world.district_a1.pk, "severity": "small", "title": "河道垃圾"},
    )
    outsider = Client()  # a browser of its own, without the secretary's messages
    outsider.force_login(world.outsider)

    response = outsider.get(reverse("admin:patrols_matter_changelist"))

    assert response.status_code == 200
    assert "河道垃圾" not in response.text
