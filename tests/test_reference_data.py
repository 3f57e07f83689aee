"""Seeded reference data and the history every domain model keeps."""

import pytest
from django.apps import apps
from django_celery_beat.models import PeriodicTask

from points.models import Category, Rule
from villagers import roles
from villagers.models import Household

TRACKED_MODELS = [
    "villagers.Township",
    "villagers.Village",
    "villagers.District",
    "villagers.Household",
    "villagers.Villager",
    "points.Category",
    "points.Rule",
    "points.Claim",
    "points.LedgerEntry",
    "patrols.Patrol",
    "patrols.Matter",
]


def test_seeded_items_and_rules(db):
    assert list(Category.objects.values_list("code", flat=True)) == [
        "courtyard",
        "waste",
        "customs",
        "filial",
        "neighbour",
        "safety",
        "volunteer",
        "law",
        "affairs",
        "party",
        "enterprise",
    ]
    assert Rule.objects.count() == 34
    assert Rule.objects.filter(points__lt=0).count() == 6


def test_seeded_roles_and_schedule(db):
    from django.contrib.auth.models import Group

    assert set(Group.objects.values_list("name", flat=True)) == set(roles.PERMISSIONS)
    approver = Group.objects.get(name=roles.APPROVER)
    assert approver.permissions.filter(codename="approve_claim").exists()
    secretary = Group.objects.get(name=roles.DISTRICT_SECRETARY)
    assert not secretary.permissions.filter(codename="approve_claim").exists()
    sweep = PeriodicTask.objects.get(task="patrols.tasks.sweep_matter_deadlines")
    assert (sweep.interval.every, sweep.interval.period) == (1, "minutes")
    assert sweep.enabled


@pytest.mark.parametrize("label", TRACKED_MODELS)
def test_model_keeps_history(label):
    model = apps.get_model(label)
    assert hasattr(model, "history"), f"{label} is not tracked by simple-history"


def test_history_names_the_user(world):
    household = Household.objects.get(pk=world.household_a1.pk)
    household.address = "群英村1组200号"
    household._history_user = world.village_admin
    household.save()
    latest = household.history.first()
    assert latest.history_user == world.village_admin
    assert latest.address == "群英村1组200号"
