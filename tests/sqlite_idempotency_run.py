"""Post one claim three times with one Idempotency-Key on a new SQLite database.

Run by test_sqlite_idempotency in a process of its own, because the demo's
embedded database is SQLite while the test suite runs on PostgreSQL. Prints
each response's status and whether it was replayed, then its body.
"""

import json

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402

from api.services import token_issue  # noqa: E402
from points.models import Rule  # noqa: E402
from tests.factories import (  # noqa: E402
    DistrictFactory,
    HouseholdFactory,
    TownshipFactory,
    UserFactory,
    VillageFactory,
    VillagerFactory,
)
from villagers import roles  # noqa: E402

call_command("migrate", verbosity=0)
village = VillageFactory(township=TownshipFactory(name="益农镇"), name="群英村")
household = HouseholdFactory(district=DistrictFactory(village=village), number="010001")
villager = VillagerFactory(household=household, name="张小明")
recorder = UserFactory(username="jifenyuan", village=village, is_staff=True, roles=[roles.RECORDER])
secret = token_issue(actor=None, user=recorder, days=1, can_write=True)[1]
rule = Rule.objects.filter(points__gt=0, cap__isnull=True, photo_required=False).first()
body = {"villager": villager.pk, "rule": rule.pk, "act_date": "2026-12-01"}

client = Client(HTTP_AUTHORIZATION=f"Token {secret}")
for sent in (body, body, {**body, "act_date": "2026-11-30"}):
    response = client.post(
        "/api/v1/claims/", sent, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    replayed = response.get("Idempotent-Replayed", "false")
    print(response.status_code, replayed, json.dumps(response.json(), ensure_ascii=False))
