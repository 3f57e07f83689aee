"""Personas shared by the suite: one user per role of village A, plus outsiders."""

from types import SimpleNamespace

import pytest

from villagers import roles

from .factories import (
    DistrictFactory,
    HouseholdFactory,
    TownshipFactory,
    UserFactory,
    VillageFactory,
    VillagerFactory,
)


@pytest.fixture(autouse=True)
def _test_settings(settings):
    # Argon2 is slow on purpose; the personas need no strong hashes.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # The manifest storage of production needs collectstatic; tests skip it.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def world(db):
    """Village A (districts A1 and A2) in township T, and village B in township U."""
    township = TownshipFactory(name="益农镇")
    other_township = TownshipFactory(name="党湾镇")
    village_a = VillageFactory(township=township, name="群英村")
    village_b = VillageFactory(township=other_township, name="新围村")
    district_a1 = DistrictFactory(village=village_a, name="第一片区")
    district_a2 = DistrictFactory(village=village_a, name="第二片区")
    district_b1 = DistrictFactory(village=village_b, name="第一片区")

    def staff(username, village, role_names, **extra):
        return UserFactory(
            username=username, village=village, is_staff=True, roles=role_names, **extra
        )

    village_admin = staff("cunshuji", village_a, [roles.VILLAGE_ADMIN])
    village_a.secretary = village_admin
    village_a.save()
    secretary_a1 = staff("pianqu1", village_a, [roles.DISTRICT_SECRETARY])
    secretary_a2 = staff("pianqu2", village_a, [roles.DISTRICT_SECRETARY])
    district_a1.secretary = secretary_a1
    district_a1.save()
    district_a2.secretary = secretary_a2
    district_a2.save()
    recorder = staff("jifenyuan", village_a, [roles.RECORDER])
    approver = staff("shenheyuan", village_a, [roles.APPROVER])
    second_approver = staff("shenheyuan2", village_a, [roles.APPROVER])
    outsider = staff("waicun", village_b, [roles.VILLAGE_ADMIN, roles.RECORDER])
    township_viewer = UserFactory(
        username="zhenjie", township=township, is_staff=True, roles=[roles.TOWNSHIP_VIEWER]
    )
    other_township_viewer = UserFactory(
        username="zhenjie2", township=other_township, is_staff=True, roles=[roles.TOWNSHIP_VIEWER]
    )

    household_a1 = HouseholdFactory(district=district_a1, number="010001")
    household_a2 = HouseholdFactory(district=district_a2, number="020001")
    household_b1 = HouseholdFactory(district=district_b1, number="010001")
    villager_user = UserFactory(username="cunmin", village=village_a, roles=[roles.VILLAGER])
    villager = VillagerFactory(household=household_a1, name="张小明", user=villager_user)
    spouse = VillagerFactory(
        household=household_a1, name="李小红", relation_to_head="配偶", sex="female"
    )
    neighbour = VillagerFactory(household=household_a2, name="王大力")
    villager_b = VillagerFactory(household=household_b1, name="赵外村")

    return SimpleNamespace(**locals())


def pytest_collection_modifyitems(items):
    """Refuse transactional tests that would leave the next test an empty database.

    Flushing after a transactional test removes the rows migrations seed (roles,
    governance items, rules, the beat schedule). Only serialized_rollback puts
    them back for the tests that follow.
    """
    for item in items:
        marker = item.get_closest_marker("django_db")
        if (
            marker
            and marker.kwargs.get("transaction")
            and not marker.kwargs.get("serialized_rollback")
        ):
            raise pytest.UsageError(
                f"{item.nodeid}: use @pytest.mark.django_db(transaction=True, serialized_rollback=True)"
            )


@pytest.fixture(autouse=True)
def _allow_ledger_flush(request, _django_db_marker):
    """Let the flush after a transactional test empty the append-only ledger.

    On PostgreSQL a trigger refuses TRUNCATE on the ledger unless the session
    set nengliangbang.test_flush to 'on' and the database is a test database.
    This fixture is set up after the database fixture, so its teardown runs
    just before Django's flush. It clears the setting when each database test
    starts, so tests meet the trigger as production does.
    """
    marker = request.node.get_closest_marker("django_db")
    if marker is None:
        yield
        return
    from django.db import connection

    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('nengliangbang.test_flush', 'off', false)")
    yield
    if marker.kwargs.get("transaction"):
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('nengliangbang.test_flush', 'on', false)")
