"""Every URL of the URLconf, requested as every persona: who gets in, and what they see.

``TABLE`` contains one row per URL pattern: the personas whose GET (and, for
URLs that take writes, POST) gets through. A URL that takes an id is filled
with a row of village A (district A1 where rows belong to a district) and
again with the matching row of village B; the personas allowed on B's row
follow from those allowed on A's (see ``Row.allowed_on_b``). Every response
is searched for the marker strings of ``MARKERS`` the persona may not see.
"""

import uuid
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, resolve

from nengliangbang.celery import app as celery_app

from .access_matrix_world import (
    ANONYMOUS,
    APPROVER,
    MARKERS,
    OTHER_TOWNSHIP,
    PERSONA_USERS,
    RECORDER,
    SECRETARY_A1,
    SECRETARY_A2,
    TOWNSHIP,
    VILLAGE_ADMIN,
    VILLAGE_B,
    VILLAGER,
    build_matrix_world,
)
from .api_fixtures import ACT_DATE, client_for, token_for

PERSONAS = list(PERSONA_USERS)

ALL = frozenset(PERSONAS)
NOBODY: frozenset[str] = frozenset()
SIGNED_IN = ALL - {ANONYMOUS}
STAFF = SIGNED_IN - {VILLAGER}
VILLAGE_STAFF = STAFF - {TOWNSHIP, OTHER_TOWNSHIP}


def only(*personas: str) -> frozenset[str]:
    return frozenset(personas)


# Readers of whole lists by role permission.
MATTER_READERS = only(
    VILLAGE_ADMIN, SECRETARY_A1, SECRETARY_A2, VILLAGE_B, TOWNSHIP, OTHER_TOWNSHIP
)
ROSTER_READERS = only(VILLAGE_ADMIN, SECRETARY_A1, RECORDER, APPROVER, SECRETARY_A2, VILLAGE_B)
# Readers of a row of household A1 (or of its villagers, claims and entries).
A1_ROSTER_READERS = only(VILLAGE_ADMIN, SECRETARY_A1, RECORDER, APPROVER)
A1_POINTS_READERS = A1_ROSTER_READERS | {TOWNSHIP}
A1_MATTER_READERS = only(VILLAGE_ADMIN, SECRETARY_A1, TOWNSHIP)
MEETING_READERS = only(VILLAGE_ADMIN, SECRETARY_A1, SECRETARY_A2, TOWNSHIP)
VILLAGE_A_PUBLIC = only(VILLAGER, VILLAGE_ADMIN, SECRETARY_A1, RECORDER, APPROVER, SECRETARY_A2)


@dataclass(frozen=True)
class Row:
    """Who may request one URL pattern.

    ``get`` and ``post`` name the personas whose request gets through, with
    village A's row where the URL takes an id. ``post`` is None for URLs not
    written to. ``args`` names the world's rows of village A and village B
    filled into the path (None for B: no B variant). ``query`` is appended,
    with ``{pk}`` standing for the row's id. ``body`` builds the POST data.
    """

    get: frozenset[str]
    post: frozenset[str] | None = None
    args: tuple[str, str | None] | None = None
    query: str = ""
    body: str | None = None
    format: str = "csv"
    same_on_b: bool = False

    def allowed_on_b(self, allowed: frozenset[str]) -> frozenset[str]:
        """Return who may reach village B's row, given who may reach village A's.

        A public URL, or one with ``same_on_b``, lets the same personas in. Otherwise village B's user (its party
        secretary and recorder) gets in where A's party secretary or recorder
        does, and the viewer of B's township where the viewer of A's does.
        """
        if ANONYMOUS in allowed or self.same_on_b:
            return allowed
        mirrored = set()
        if allowed & {VILLAGE_ADMIN, RECORDER}:
            mirrored.add(VILLAGE_B)
        if TOWNSHIP in allowed:
            mirrored.add(OTHER_TOWNSHIP)
        return frozenset(mirrored)


def admin_rows(
    model: str,
    *,
    listed: frozenset[str],
    shown: frozenset[str],
    args: tuple[str | None, str | None] = (None, None),
    added: frozenset[str] = NOBODY,
    changed: frozenset[str] = NOBODY,
    deleted: frozenset[str] = NOBODY,
    history: str = "none",
) -> dict[str, Row]:
    """Return the rows of one model's admin URLs.

    ``listed`` may open the list, and ``shown`` may open village A's row (or
    the only row of a model shared by all villages). ``history`` is "rows"
    for a model whose admin has simple-history's page of one past version,
    "empty" where that page exists but the model keeps no history, and
    "none" where the admin has no such page.
    """
    base = f"admin/{model}/"
    # A model no role may open is requested with an id that matches no row.
    object_args = (args[0] or "missing", args[1])
    rows = {
        base: Row(get=listed),
        f"{base}add/": Row(get=added, post=added),
        f"{base}<path:object_id>/history/": Row(get=shown, args=object_args),
        f"{base}<path:object_id>/delete/": Row(get=deleted, args=object_args),
        f"{base}<path:object_id>/change/": Row(get=shown, post=changed, args=object_args),
        # Only a redirect to the change page, for any staff member.
        f"{base}<path:object_id>/": Row(get=STAFF, args=object_args, same_on_b=True),
    }
    if history != "none":
        # Past versions are read-only: a posted revert is refused to everyone.
        shown_versions = shown if history == "rows" else NOBODY
        rows[f"{base}([^/]+)/history/([^/]+)/"] = Row(
            get=shown_versions, post=NOBODY, args=object_args
        )
    return rows


def api_rows(
    name: str,
    *,
    listed: frozenset[str],
    shown: frozenset[str],
    args: tuple[str, str | None],
    created: frozenset[str] | None = None,
    body: str | None = None,
) -> dict[str, Row]:
    """Return the rows of one router endpoint: its list and detail, each with a format suffix."""
    base = f"api/v1/{name}"
    detail = Row(get=shown, args=args, format="json")
    return {
        f"{base}/": Row(get=listed, post=created, body=body),
        f"{base}\\.(?P<format>[a-z0-9]+)/?": Row(get=listed),
        f"{base}/(?P<pk>[^/.]+)/": detail,
        f"{base}/(?P<pk>[^/.]+)\\.(?P<format>[a-z0-9]+)/?": detail,
    }


def statistic_rows(name: str, row: Row) -> dict[str, Row]:
    """Return the rows of one statistics endpoint, with and without a format suffix."""
    base = f"api/v1/statistics/{name}"
    return {f"{base}/": row, f"{base}<drf_format_suffix_json_csv_xlsx:format>": row}


PAGES = {
    "": Row(get=ALL),
    "i18n/setlang/": Row(get=ALL, post=ALL),
    "villages/<int:village_id>/rankings/": Row(get=ALL, args=("village_a", "village_b")),
    "villages/<int:village_id>/notice/": Row(
        get=VILLAGE_A_PUBLIC | {TOWNSHIP}, args=("village_a", "village_b")
    ),
    "me/": Row(get=SIGNED_IN),
    "me/claim/": Row(get=SIGNED_IN, post=SIGNED_IN),
    "points/batch/": Row(
        get=only(VILLAGE_ADMIN, SECRETARY_A1, RECORDER, SECRETARY_A2, VILLAGE_B),
        post=only(VILLAGE_ADMIN, SECRETARY_A1, RECORDER, SECRETARY_A2, VILLAGE_B),
    ),
    "claims/<int:claim_id>/object/": Row(
        get=NOBODY, post=only(VILLAGER), args=("claim_notice", "claim_b")
    ),
    "claims/<int:claim_id>/photo/": Row(
        get=A1_POINTS_READERS | {VILLAGER}, args=("photo_claim_a", "photo_claim_b")
    ),
    "villagers/<int:villager_id>/entries/": Row(
        get=A1_POINTS_READERS, args=("villager", "villager_b")
    ),
    "villagers/<int:villager_id>/explanation/": Row(
        get=A1_POINTS_READERS | {VILLAGER}, args=("villager", "villager_b")
    ),
    "households/<int:household_id>/explanation/": Row(
        get=A1_POINTS_READERS | {VILLAGER}, args=("household_a1", "household_b1")
    ),
    "workbench/": Row(get=VILLAGE_STAFF),
    "workbench/claims/<int:claim_id>/": Row(
        get=NOBODY, post=only(VILLAGE_ADMIN, APPROVER), args=("claim_waiting_a", "claim_b")
    ),
    "households/<int:household_id>/": Row(get=ALL, args=("household_a1", "household_b1")),
    "districts/<int:district_id>/plaques/": Row(
        get=A1_ROSTER_READERS, args=("district_a1", "district_b1")
    ),
    "api/v1/points/villagers/(?P<villager_id>-?\\d+)/explanation/": Row(
        get=A1_POINTS_READERS | {VILLAGER}, args=("villager", "villager_b")
    ),
    "api/v1/points/households/(?P<household_id>-?\\d+)/explanation/": Row(
        get=A1_POINTS_READERS | {VILLAGER}, args=("household_a1", "household_b1")
    ),
    "accounts/login/": Row(get=ALL, post=ALL),
    "accounts/text-size/": Row(get=NOBODY, post=ALL),
    "accounts/villagers/<int:villager_id>/login/": Row(
        get=only(VILLAGE_ADMIN), post=only(VILLAGE_ADMIN), args=("villager", "villager_b")
    ),
    "accounts/logout/": Row(get=NOBODY, post=ALL),
    # An empty POST changes no password: it only shows the form's errors.
    "accounts/password/": Row(get=SIGNED_IN, post=SIGNED_IN),
    "accounts/password/done/": Row(get=SIGNED_IN),
    "health/": Row(get=ALL),
    "health/worker/": Row(get=STAFF),
    "patrols/": Row(get=STAFF),
    "patrols/start/": Row(get=NOBODY, post=only(SECRETARY_A1), body="patrol_start"),
    "patrols/<int:patrol_id>/stop/": Row(
        get=NOBODY, post=only(SECRETARY_A1), args=("patrol_a", "patrol_b")
    ),
    "patrols/<int:patrol_id>/notes/": Row(
        get=NOBODY, post=only(SECRETARY_A1), args=("patrol_a", "patrol_b")
    ),
    # The photo form is posted without a file: every persona is refused or
    # gets the form back, and the service's check is tested on its own.
    "patrols/<int:patrol_id>/photos/": Row(get=NOBODY, post=NOBODY, args=("patrol_a", "patrol_b")),
    "patrols/<int:patrol_id>/findings/": Row(
        get=NOBODY, post=only(SECRETARY_A1), args=("patrol_a", "patrol_b"), body="finding"
    ),
    "patrols/photos/<int:photo_id>/": Row(
        get=A1_MATTER_READERS, args=("patrol_photo_a", "patrol_photo_b")
    ),
    "patrols/calendar/<int:user_id>/": Row(
        get=A1_MATTER_READERS, args=("secretary_a1", "secretary_b1")
    ),
    "patrols/matters/": Row(get=MATTER_READERS),
    "patrols/report/": Row(get=SIGNED_IN, post=SIGNED_IN),
    "patrols/reports/": Row(get=SIGNED_IN),
    "patrols/matter-photos/<int:photo_id>/": Row(
        get=A1_MATTER_READERS, args=("matter_photo_a", "matter_photo_b")
    ),
    "notifications/": Row(get=SIGNED_IN),
    "notifications/read/": Row(get=NOBODY, post=SIGNED_IN),
}

API = {
    "api/schema/": Row(get=ALL),
    "api/docs/": Row(get=ALL),
    **api_rows(
        "townships",
        listed=only(VILLAGE_ADMIN, VILLAGE_B, TOWNSHIP, OTHER_TOWNSHIP),
        shown=only(VILLAGE_ADMIN, TOWNSHIP),
        args=("township", "other_township"),
    ),
    **api_rows(
        "villages",
        listed=only(VILLAGE_ADMIN, VILLAGE_B, TOWNSHIP, OTHER_TOWNSHIP),
        shown=only(VILLAGE_ADMIN, TOWNSHIP),
        args=("village_a", "village_b"),
    ),
    **api_rows(
        "districts",
        listed=MATTER_READERS,
        shown=MEETING_READERS,
        args=("district_a1", "district_b1"),
    ),
    **api_rows("governance-items", listed=STAFF, shown=STAFF, args=("category", None)),
    **api_rows("rules", listed=STAFF, shown=STAFF, args=("rule", None)),
    **api_rows(
        "households", listed=STAFF, shown=A1_POINTS_READERS, args=("household_a1", "household_b1")
    ),
    **api_rows("villagers", listed=STAFF, shown=A1_POINTS_READERS, args=("villager", "villager_b")),
    **api_rows(
        "ledger-entries", listed=STAFF, shown=A1_POINTS_READERS, args=("entry_a", "entry_b")
    ),
    **api_rows(
        "matters",
        listed=MATTER_READERS,
        shown=A1_MATTER_READERS,
        args=("matter_a1", "matter_b"),
        created=only(VILLAGE_ADMIN, SECRETARY_A1),
        body="api_matter",
    ),
    **api_rows(
        "claims",
        listed=STAFF,
        shown=A1_POINTS_READERS,
        args=("photo_claim_a", "photo_claim_b"),
        created=only(VILLAGE_ADMIN, SECRETARY_A1, RECORDER),
        body="api_claim",
    ),
    **api_rows(
        "objections", listed=STAFF, shown=A1_POINTS_READERS, args=("objection", "objection_b")
    ),
    **api_rows(
        "meetings", listed=MATTER_READERS, shown=MEETING_READERS, args=("meeting_a", "meeting_b")
    ),
    **api_rows(
        "follow-ups",
        listed=MATTER_READERS,
        shown=MEETING_READERS,
        args=("follow_up_a", "follow_up_b"),
    ),
    **statistic_rows("points", Row(get=STAFF)),
    **statistic_rows(
        "household-ranking",
        Row(
            get=VILLAGE_A_PUBLIC - {VILLAGER} | {TOWNSHIP},
            args=("village_a", "village_b"),
            query="?village={pk}",
        ),
    ),
    **statistic_rows(
        "villager-ranking",
        Row(
            get=VILLAGE_A_PUBLIC - {VILLAGER} | {TOWNSHIP},
            args=("village_a", "village_b"),
            query="?village={pk}",
        ),
    ),
    **statistic_rows("on-time-rate", Row(get=MATTER_READERS)),
    **statistic_rows("star-households", Row(get=STAFF, query="?year=2026")),
    **statistic_rows("patrol-compliance", Row(get=MATTER_READERS)),
}

ADMIN = {
    "admin/": Row(get=STAFF),
    "admin/login/": Row(get=ALL, post=ALL),
    # Logging out takes a POST, so a GET is refused. The admin, however, sends
    # visitors who are not staff to its index (and so to its login page).
    "admin/logout/": Row(get=only(ANONYMOUS, VILLAGER), post=ALL),
    "admin/password_change/": Row(get=STAFF, post=STAFF),
    "admin/password_change/done/": Row(get=STAFF),
    "admin/autocomplete/": Row(
        get=ROSTER_READERS,
        query="?app_label=points&model_name=claim&field_name=villager&term=",
    ),
    "admin/jsi18n/": Row(get=STAFF),
    # Models here have no page of their own, so the shortcut finds nothing.
    "admin/r/<path:content_type_id>/<path:object_id>/": Row(
        get=NOBODY, args=("villager", "villager_b")
    ),
    "admin/(?P<app_label>auth|django_celery_beat|villagers|points|patrols|notifications|api)/": (
        Row(get=STAFF)
    ),
    "admin/(?P<url>.*)": Row(get=NOBODY),
    # Models only a superuser manages.
    **admin_rows("auth/group", listed=NOBODY, shown=NOBODY),
    **admin_rows("django_celery_beat/periodictask", listed=NOBODY, shown=NOBODY),
    **admin_rows("django_celery_beat/clockedschedule", listed=NOBODY, shown=NOBODY),
    **admin_rows("django_celery_beat/crontabschedule", listed=NOBODY, shown=NOBODY),
    **admin_rows("django_celery_beat/solarschedule", listed=NOBODY, shown=NOBODY),
    **admin_rows("django_celery_beat/intervalschedule", listed=NOBODY, shown=NOBODY),
    **admin_rows(
        "villagers/township",
        listed=NOBODY,
        shown=NOBODY,
        args=("township", "other_township"),
        history="rows",
    ),
    **admin_rows("points/reconciliationrun", listed=NOBODY, shown=NOBODY),
    **admin_rows("notifications/notification", listed=NOBODY, shown=NOBODY),
    **admin_rows("api/apitoken", listed=NOBODY, shown=NOBODY),
    **admin_rows("api/idempotencyrecord", listed=NOBODY, shown=NOBODY),
    # The village party secretary manages the logins of the village.
    **admin_rows(
        "villagers/user",
        listed=only(VILLAGE_ADMIN, VILLAGE_B),
        shown=only(VILLAGE_ADMIN),
        args=("recorder", "approver_b"),
        added=only(VILLAGE_ADMIN, VILLAGE_B),
        changed=only(VILLAGE_ADMIN),
    ),
    # The password of a villager's login; staff passwords are a superuser's.
    "admin/villagers/user/<id>/password/": Row(
        get=only(VILLAGE_ADMIN),
        post=only(VILLAGE_ADMIN),
        args=("villager_user", "villager_user_b"),
    ),
    **admin_rows(
        "villagers/village",
        listed=only(VILLAGE_ADMIN, VILLAGE_B, TOWNSHIP, OTHER_TOWNSHIP),
        shown=only(VILLAGE_ADMIN, TOWNSHIP),
        args=("village_a", "village_b"),
        changed=only(VILLAGE_ADMIN),
        history="rows",
    ),
    **admin_rows(
        "villagers/district",
        listed=MATTER_READERS,
        shown=MEETING_READERS,
        args=("district_a1", "district_b1"),
        changed=only(VILLAGE_ADMIN),
        history="rows",
    ),
    **admin_rows(
        "villagers/household",
        listed=ROSTER_READERS,
        shown=A1_ROSTER_READERS,
        args=("household_a1", "household_b1"),
        changed=only(VILLAGE_ADMIN),
        history="rows",
    ),
    **admin_rows(
        "villagers/villager",
        listed=ROSTER_READERS,
        shown=A1_ROSTER_READERS,
        args=("villager", "villager_b"),
        changed=only(VILLAGE_ADMIN),
        history="rows",
    ),
    "admin/villagers/villager/roster/upload/": Row(
        get=only(VILLAGE_ADMIN, VILLAGE_B), post=only(VILLAGE_ADMIN, VILLAGE_B)
    ),
    "admin/villagers/villager/roster/upload/<int:pk>/": Row(
        get=only(VILLAGE_ADMIN),
        post=only(VILLAGE_ADMIN),
        args=("roster_upload_a", "roster_upload_b"),
    ),
    "admin/villagers/villager/roster/export/": Row(
        get=only(VILLAGE_ADMIN, VILLAGE_B), post=only(VILLAGE_ADMIN, VILLAGE_B)
    ),
    **admin_rows(
        "villagers/rosterexport",
        listed=only(VILLAGE_ADMIN, VILLAGE_B),
        shown=only(VILLAGE_ADMIN),
        args=("roster_export_a", "roster_export_b"),
        history="empty",
    ),
    **admin_rows(
        "villagers/personaldataaccess",
        listed=only(VILLAGE_ADMIN, VILLAGE_B),
        shown=only(VILLAGE_ADMIN),
        args=("data_access_a", "data_access_b"),
        history="empty",
    ),
    **admin_rows(
        "points/category", listed=STAFF, shown=STAFF, args=("category", None), history="rows"
    ),
    **admin_rows(
        "points/rule",
        listed=STAFF,
        shown=STAFF,
        args=("rule", None),
        added=only(VILLAGE_ADMIN, VILLAGE_B),
        history="rows",
    ),
    **admin_rows(
        "points/claim",
        listed=ROSTER_READERS,
        shown=A1_ROSTER_READERS,
        args=("photo_claim_a", "photo_claim_b"),
        added=only(VILLAGE_ADMIN, SECRETARY_A1, RECORDER, SECRETARY_A2, VILLAGE_B),
        history="rows",
    ),
    **admin_rows(
        "points/ledgerentry",
        listed=STAFF,
        shown=A1_POINTS_READERS,
        args=("entry_a", "entry_b"),
        history="rows",
    ),
    **admin_rows(
        "points/balance",
        listed=only(VILLAGE_ADMIN, VILLAGE_B),
        shown=only(VILLAGE_ADMIN),
        args=("balance_a", "balance_b"),
        history="empty",
    ),
    **admin_rows(
        "points/objection",
        listed=only(VILLAGE_ADMIN, APPROVER, VILLAGE_B),
        shown=only(VILLAGE_ADMIN, APPROVER),
        args=("objection", "objection_b"),
        history="rows",
    ),
    **admin_rows(
        "points/pointspolicy",
        listed=only(VILLAGE_ADMIN, VILLAGE_B),
        shown=only(VILLAGE_ADMIN),
        args=("points_policy_a", "points_policy_b"),
        changed=only(VILLAGE_ADMIN),
        history="rows",
    ),
    **admin_rows(
        "points/starthreshold",
        listed=only(VILLAGE_ADMIN, VILLAGE_B),
        shown=only(VILLAGE_ADMIN),
        args=("star_threshold_a", "star_threshold_b"),
        added=only(VILLAGE_ADMIN, VILLAGE_B),
        changed=only(VILLAGE_ADMIN),
        deleted=only(VILLAGE_ADMIN),
        history="rows",
    ),
    **admin_rows(
        "patrols/patrol",
        listed=MATTER_READERS,
        shown=A1_MATTER_READERS,
        args=("patrol_a", "patrol_b"),
        added=only(SECRETARY_A1, SECRETARY_A2),
        history="rows",
    ),
    **admin_rows(
        "patrols/matter",
        listed=MATTER_READERS,
        shown=A1_MATTER_READERS,
        args=("matter_a1", "matter_b"),
        added=only(VILLAGE_ADMIN, SECRETARY_A1, SECRETARY_A2, VILLAGE_B),
        changed=only(VILLAGE_ADMIN, SECRETARY_A1),
        history="rows",
    ),
    **admin_rows(
        "patrols/escalation",
        listed=only(VILLAGE_ADMIN, VILLAGE_B),
        shown=only(VILLAGE_ADMIN),
        args=("escalation_a", "escalation_b"),
        history="empty",
    ),
    **admin_rows(
        "patrols/patrolpolicy",
        listed=only(VILLAGE_ADMIN, VILLAGE_B),
        shown=only(VILLAGE_ADMIN),
        args=("patrol_policy_a", "patrol_policy_b"),
        added=only(VILLAGE_ADMIN, VILLAGE_B),
        changed=only(VILLAGE_ADMIN),
        history="rows",
    ),
    **admin_rows(
        "patrols/dailypatrolcheck",
        listed=MATTER_READERS,
        shown=A1_MATTER_READERS,
        args=("check_a", "check_b"),
        history="empty",
    ),
    **admin_rows(
        "patrols/missedmeeting",
        listed=only(VILLAGE_ADMIN, VILLAGE_B),
        shown=only(VILLAGE_ADMIN),
        args=("missed_meeting_a", "missed_meeting_b"),
        history="empty",
    ),
    **admin_rows(
        "patrols/meeting",
        listed=MATTER_READERS,
        shown=MEETING_READERS,
        args=("meeting_a", "meeting_b"),
        added=only(VILLAGE_ADMIN, VILLAGE_B),
        changed=only(VILLAGE_ADMIN),
        history="rows",
    ),
    **admin_rows(
        "patrols/followup",
        listed=only(VILLAGE_ADMIN, SECRETARY_A1, SECRETARY_A2, VILLAGE_B),
        shown=only(VILLAGE_ADMIN, SECRETARY_A1, SECRETARY_A2),
        args=("follow_up_a", "follow_up_b"),
        added=only(VILLAGE_ADMIN, VILLAGE_B),
        changed=only(VILLAGE_ADMIN),
        history="rows",
    ),
}

TABLE: dict[str, Row] = {**PAGES, **API, **ADMIN}


# The URLconf ------------------------------------------------------------------------


def strip_anchors(route: str) -> str:
    return route.removeprefix("^").removesuffix("$")


def route_keys(resolver=None, prefix: str = ""):
    """Yield the full route of every URL pattern, regular expressions without ^ and $."""
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        route = prefix + strip_anchors(str(pattern.pattern))
        if isinstance(pattern, URLResolver):
            yield from route_keys(pattern, route)
        else:
            assert isinstance(pattern, URLPattern)
            yield route


def test_every_url_is_in_the_table():
    routes = set(route_keys())
    assert sorted(routes - set(TABLE)) == [], "URLs missing from the access matrix"
    assert sorted(set(TABLE) - routes) == [], "matrix rows for URLs that no longer exist"


# Requests -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def matrix(django_db_setup, django_db_blocker, tmp_path_factory):
    """Build the world once per module, in a transaction rolled back at the end.

    Each test, and each persona in it, runs in a savepoint inside it, so what
    one posts is gone before the next.
    """
    media = tmp_path_factory.mktemp("matrix-media")
    hashers = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with (
        django_db_blocker.unblock(),
        override_settings(MEDIA_ROOT=media, PASSWORD_HASHERS=hashers),
    ):
        with transaction.atomic():
            world = build_matrix_world()
            world.session_cookies = log_in_personas(world)
            world.write_tokens = issue_write_tokens(world)
            yield world
            transaction.set_rollback(True)


def issue_write_tokens(world) -> dict[str, str]:
    """Return a write token of each signed-in persona: API writes take no session."""
    return {
        persona: token_for(getattr(world, attribute), write=True)
        for persona, attribute in PERSONA_USERS.items()
        if attribute is not None
    }


def log_in_personas(world) -> dict[str, str]:
    """Return each signed-in persona's session cookie, so that requests need no new login."""
    cookies = {}
    for persona, attribute in PERSONA_USERS.items():
        if attribute is not None:
            client = Client()
            client.force_login(getattr(world, attribute))
            cookies[persona] = client.cookies[settings.SESSION_COOKIE_NAME].value
    return cookies


REFUSED = "refused"
ALLOWED = "allowed"
INVALID = "invalid"


def outcome(response, *, object_url: bool) -> str:
    """Classify a response as refused, allowed, or invalid input (a 400)."""
    status = response.status_code
    if status in (401, 403, 404, 405):
        return REFUSED
    if status in (301, 302, 303):
        location = response["Location"]
        # The admin sends a row it does not show back to its index.
        if "/login/" in location or (object_url and location == "/admin/"):
            return REFUSED
        return ALLOWED
    if status == 400:
        return INVALID
    assert status < 300, f"status {status}"
    return ALLOWED


def concrete_url(key: str, row: Row, world, obj) -> str:
    """Fill the route's parameters with ``obj`` (a row of the world) and return the path."""
    url = key
    if obj is not None and "<path:content_type_id>" in url:
        content_type = ContentType.objects.get_for_model(obj)
        url = url.replace("<path:content_type_id>", str(content_type.pk))
    if obj is not None and "([^/]+)/history/([^/]+)" in url:
        version = obj.history.first().history_id if hasattr(obj, "history") else 1
        url = url.replace("([^/]+)/history/([^/]+)", f"{obj.pk}/history/{version}")
    url = url.replace("([^/]+)/history/([^/]+)", "999999/history/1")
    pk = str(obj.pk) if obj is not None else "999999"
    for parameter in (
        "<path:object_id>",
        "<int:village_id>",
        "<int:villager_id>",
        "<int:household_id>",
        "<int:claim_id>",
        "<int:district_id>",
        "<int:patrol_id>",
        "<int:photo_id>",
        "<int:user_id>",
        "<int:pk>",
        "<id>",
        "(?P<pk>[^/.]+)",
        "(?P<villager_id>-?\\d+)",
        "(?P<household_id>-?\\d+)",
    ):
        url = url.replace(parameter, pk)
    url = url.replace("\\.(?P<format>[a-z0-9]+)/?", f".{row.format}")
    url = url.replace("<drf_format_suffix_json_csv_xlsx:format>", f".{row.format}")
    url = url.replace(
        "(?P<app_label>auth|django_celery_beat|villagers|points|patrols|notifications|api)",
        "villagers",
    )
    url = url.replace("(?P<url>.*)", "no-such-page/")
    query = row.query.format(pk=pk) if obj is not None else row.query
    return "/" + url + query


def post_body(name: str | None, world) -> dict:
    if name == "patrol_start":
        return {"district": world.district_a1.pk, "start_key": str(uuid.uuid4())}
    if name == "finding":
        return {"severity": "small", "title": "新发现", "form_key": str(uuid.uuid4())}
    if name == "api_claim":
        return {
            "villager": world.villager.pk,
            "rule": world.rule.pk,
            "act_date": (ACT_DATE + timedelta(days=2)).isoformat(),
        }
    if name == "api_matter":
        return {"district": world.district_a1.pk, "severity": "small", "title": "井盖"}
    return {}


def targets(row: Row, world):
    """Yield (target name, row of the world, personas allowed to GET, to POST) per variant."""
    if row.args is None:
        yield "", None, row.get, row.post
        return
    a_name, b_name = row.args
    yield "A", getattr(world, a_name, None), row.get, row.post
    if b_name is not None:
        post = None if row.post is None else row.allowed_on_b(row.post)
        yield "B", getattr(world, b_name), row.allowed_on_b(row.get), post


def resolved_route(url: str) -> str:
    """Return the route that ``url`` resolves to, written as the table's keys are."""
    return strip_anchors(resolve(url.split("?")[0]).route)


def client_as(persona: str, world) -> Client:
    client = Client()
    cookie = world.session_cookies.get(persona)
    if cookie is not None:
        client.cookies[settings.SESSION_COOKIE_NAME] = cookie
    return client


def api_writer(persona: str, world) -> Client:
    """Return a client that writes to the API with the persona's write token."""
    secret = world.write_tokens.get(persona)
    return Client() if secret is None else client_for(secret)


def forbidden_markers(persona: str) -> list[str]:
    return [marker for marker, readers in MARKERS.items() if persona not in readers]


def body_text(response) -> str:
    if response.streaming:
        return b"".join(response.streaming_content).decode(errors="replace")
    return response.content.decode(errors="replace")


def request_as(persona: str, key: str, row: Row, world) -> list[str]:
    """Send the row's requests as ``persona``; return each way the responses break the table."""
    problems = []
    client = client_as(persona, world)
    object_url = row.args is not None
    for target, obj, may_get, may_post in targets(row, world):
        url = concrete_url(key, row, world, obj)
        requests = [("GET", may_get)]
        if may_post is not None:
            requests.append(("POST", may_post))
        for method, allowed in requests:
            if method == "GET":
                response = client.get(url)
            elif key.startswith("api/"):
                body = post_body(row.body, world)
                response = api_writer(persona, world).post(
                    url, body, content_type="application/json"
                )
            else:
                response = client.post(url, post_body(row.body, world))
            result = outcome(response, object_url=object_url)
            where = f"{persona}: {method} {url} ({target or 'no id'})"
            # A refused or invalid POST is fine for those not allowed, and an
            # invalid one for those allowed, because the table's POSTs carry
            # no valid form for most URLs.
            if method == "GET":
                wrong = result != (ALLOWED if persona in allowed else REFUSED)
            else:
                wrong = result == (REFUSED if persona in allowed else ALLOWED)
            if wrong:
                problems.append(f"{where}: got {response.status_code} ({result})")
            text = body_text(response)
            problems += [
                f"{where}: shows {marker!r}"
                for marker in forbidden_markers(persona)
                if marker in text
            ]
    return problems


@pytest.fixture
def eager_celery():
    """Run the health check's ping task in the test, since no worker runs."""
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


@pytest.mark.parametrize("key", list(TABLE))
def test_url_for_every_persona(matrix, db, eager_celery, key):
    row = TABLE[key]
    for _, obj, _, _ in targets(row, matrix):
        url = concrete_url(key, row, matrix, obj)
        assert resolved_route(url) == key, f"{url} does not reach {key}"

    problems = []
    for persona in PERSONAS:
        # Each persona starts from the same rows, whatever the one before posted.
        with transaction.atomic():
            problems += request_as(persona, key, row, matrix)
            transaction.set_rollback(True)
    assert not problems, "\n".join(problems)


# Each marker shows to a persona allowed to see it, so its absence elsewhere means something.
MARKER_PAGES = [
    (VILLAGE_ADMIN, "/admin/villagers/villager/", ["李小红", "王大力"]),
    (VILLAGE_ADMIN, "/admin/villagers/household/", ["幸福路甲一号", "和平路甲二号"]),
    (VILLAGE_ADMIN, "/patrols/matters/", ["甲一井盖丢失", "甲二水管漏水"]),
    (VILLAGE_B, "/admin/villagers/villager/", ["赵外村"]),
    (VILLAGE_B, "/admin/villagers/household/", ["新围路乙一号"]),
    (VILLAGE_B, "/patrols/matters/", ["外村事项"]),
    (VILLAGE_B, "/api/v1/follow-ups/", ["外村决定"]),
    (VILLAGE_B, "/admin/villagers/user/", ["waicun"]),
]


def test_markers_cover_every_marker():
    shown = {marker for _, _, markers in MARKER_PAGES for marker in markers}

    assert shown == set(MARKERS)


@pytest.mark.parametrize(("persona", "url", "markers"), MARKER_PAGES)
def test_markers_show_to_their_readers(matrix, db, persona, url, markers):
    text = body_text(client_as(persona, matrix).get(url))

    for marker in markers:
        assert persona in MARKERS[marker]
        assert marker in text, marker
