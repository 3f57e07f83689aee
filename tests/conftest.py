"""Personas shared by the suite: one user per role of village A, plus outsiders."""

import pytest
from django.conf import settings as django_settings
from django.utils import translation

from .personas import build_world


@pytest.fixture(autouse=True)
def _test_settings(settings):
    # Argon2 is slow on purpose; the personas need no strong hashes.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # The manifest storage of production needs collectstatic; tests skip it.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _default_language():
    """Start every test in the site's default language.

    A request that activates another language (an English Accept-Language,
    or a user's own language) leaves it active in the worker's thread, and a
    later test that renders text outside a request would read it.
    """
    translation.activate(django_settings.LANGUAGE_CODE)
    yield
    translation.activate(django_settings.LANGUAGE_CODE)


@pytest.fixture
def world(db):
    """Village A (districts A1 and A2) in township T, and village B in township U."""
    return build_world()


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
