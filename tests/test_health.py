"""Health checks serve monitoring, and strangers cannot make them load the queue."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_health_reports_database_ok(client):
    response = client.get(reverse("health"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.parametrize("persona", [None, "villager_user"])
def test_worker_check_refused_to_non_staff(client, world, persona):
    if persona:
        client.force_login(getattr(world, persona))
    response = client.get(reverse("health-worker"))
    assert response.status_code == 403
    assert response.json() == {"status": "forbidden"}
