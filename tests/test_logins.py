"""Logins: Argon2 hashes, lockout per account and address, idle staff sessions, password changes."""

import re
from datetime import timedelta

import pytest
import time_machine
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from accounts import services
from accounts.lockout import client_ip
from nengliangbang import settings as project_settings

from .factories import UserFactory

PHONE = "13912345678"
PASSWORD = "Qunying-2026!"
NEW_PASSWORD = "Yinong-2027?"
STAFF_PASSWORD = "Staff-2026!"
ADDRESS_A = "10.0.0.1"
ADDRESS_B = "10.0.0.2"
CSRF_FIELD = re.compile(r'<input type="hidden" name="csrfmiddlewaretoken" value="[^"]*">')


@pytest.fixture
def phone_villager(world):
    """The persona villager, with a phone number and a password set by the village secretary."""
    world.villager.phone = PHONE
    world.villager.save(update_fields=["phone"])
    services.villager_password_set(
        actor=world.village_admin, villager=world.villager, password=PASSWORD
    )
    world.villager_user.refresh_from_db()
    return world.villager


@pytest.fixture
def staff_password(world):
    world.recorder.set_password(STAFF_PASSWORD)
    world.recorder.save()
    return STAFF_PASSWORD


def login(client, username, password, address=ADDRESS_A, url=None):
    return client.post(
        url or reverse("login"),
        {"username": username, "password": password},
        REMOTE_ADDR=address,
    )


def fail(client, username, times, address=ADDRESS_A):
    for _ in range(times):
        login(client, username, "wrong-guess", address)


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_argon2_hashes_new_passwords(settings):
    settings.PASSWORD_HASHERS = project_settings.PASSWORD_HASHERS

    assert project_settings.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")
    assert make_password("any-password").startswith("argon2$")


def test_lockout_after_limit_per_pair(client, phone_villager):
    fail(client, PHONE, settings.AXES_FAILURE_LIMIT - 1)

    response = login(client, PHONE, "wrong-guess")

    assert response.status_code == 429
    assert login(client, PHONE, PASSWORD).status_code == 429
    assert not logged_in(client)


def test_lockout_spares_other_addresses(client, phone_villager):
    fail(client, PHONE, settings.AXES_FAILURE_LIMIT, address=ADDRESS_A)

    response = login(client, PHONE, PASSWORD, address=ADDRESS_B)

    assert response.status_code == 302
    assert logged_in(client)


def test_lockout_spares_other_accounts_on_address(client, phone_villager, staff_password):
    fail(client, PHONE, settings.AXES_FAILURE_LIMIT, address=ADDRESS_A)

    response = login(client, "jifenyuan", staff_password, address=ADDRESS_A)

    assert response.status_code == 302


def test_lockout_per_account_across_addresses(client, settings, phone_villager):
    settings.LOGIN_ACCOUNT_FAILURE_LIMIT = 2 * (settings.AXES_FAILURE_LIMIT - 1)
    fail(client, PHONE, settings.AXES_FAILURE_LIMIT - 1, address=ADDRESS_A)
    fail(client, PHONE, settings.AXES_FAILURE_LIMIT - 1, address=ADDRESS_B)

    response = login(client, PHONE, PASSWORD, address="10.0.0.3")

    assert response.status_code == 429
    assert not logged_in(client)


def test_locked_phone_locks_username(client, world, phone_villager):
    fail(client, PHONE, settings.AXES_FAILURE_LIMIT)

    response = login(client, world.villager_user.username, PASSWORD)

    assert response.status_code == 429
    assert not logged_in(client)


def test_locked_username_locks_phone(client, world, phone_villager):
    fail(client, world.villager_user.username, settings.AXES_FAILURE_LIMIT)

    response = login(client, PHONE, PASSWORD)

    assert response.status_code == 429
    assert not logged_in(client)


def test_admin_login_locks_site_login(client, world, staff_password):
    admin_login = reverse("admin:login")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert login(client, "jifenyuan", "wrong-guess", url=admin_login).status_code == 200

    assert login(client, "jifenyuan", "wrong-guess", url=admin_login).status_code == 429
    assert login(client, "jifenyuan", staff_password).status_code == 429
    assert login(client, "jifenyuan", staff_password, url=admin_login).status_code == 429


def page_text(response, name: str) -> str:
    """Return the page without its CSRF tokens and with the typed name, which the form repeats, blanked."""
    return CSRF_FIELD.sub("", response.content.decode()).replace(name, "NAME")


@time_machine.travel("2026-05-12 09:30:00 +0800", tick=False)
def test_lockout_page_same_for_unknown_name(client, world, phone_villager, staff_password):
    pages = {}
    for name in ["jifenyuan", PHONE, "no-such-user", "13800000000"]:
        other = Client()
        failures = [login(other, name, "wrong-guess") for _ in range(settings.AXES_FAILURE_LIMIT)]
        pages[name] = [page_text(response, name) for response in failures]

    assert "登录失败次数过多" in pages["no-such-user"][-1]
    assert pages["no-such-user"] == pages["jifenyuan"]
    assert pages["13800000000"] == pages[PHONE]


@time_machine.travel("2026-05-12 09:30:00 +0800", tick=False)
def test_lockout_page_says_when_in_chinese(client, phone_villager):
    fail(client, PHONE, settings.AXES_FAILURE_LIMIT - 1)

    response = login(client, PHONE, "wrong-guess")

    text = response.content.decode()
    assert "登录失败次数过多" in text
    assert "09:45" in text
    assert "村委会" in text


def test_lockout_ends_after_cool_off(client, phone_villager):
    fail(client, PHONE, settings.AXES_FAILURE_LIMIT)
    later = timezone.now() + settings.AXES_COOLOFF_TIME + timedelta(minutes=1)

    with time_machine.travel(later):
        response = login(client, PHONE, PASSWORD)

    assert response.status_code == 302


def test_staff_reset_lifts_lockout(client, world, phone_villager):
    fail(client, PHONE, settings.AXES_FAILURE_LIMIT)

    services.villager_password_set(
        actor=world.village_admin, villager=phone_villager, password=NEW_PASSWORD
    )

    assert login(client, PHONE, NEW_PASSWORD).status_code == 302


def test_printed_code_lifts_lockout(client, world, phone_villager):
    fail(client, PHONE, settings.AXES_FAILURE_LIMIT)

    code = services.login_code_issue(actor=world.village_admin, villager=phone_villager)

    assert login(client, PHONE, code).status_code == 302


def test_lockout_records_hold_no_phone(client, phone_villager):
    fail(client, PHONE, 2)
    fail(client, "330106199001011234", 1)

    rows = list(AccessAttempt.objects.values("username", "get_data", "post_data"))
    assert rows
    for row in rows:
        assert PHONE not in str(row)
        assert "330106199001011234" not in str(row)


def test_client_ip_reads_forwarded_only_behind_proxy(settings):
    request = RequestFactory().get(
        "/", REMOTE_ADDR="172.16.0.9", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.7"
    )

    settings.TRUSTED_PROXY_COUNT = 0
    assert client_ip(request) == "172.16.0.9"
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip(request) == "203.0.113.7"
    settings.TRUSTED_PROXY_COUNT = 3
    assert client_ip(request) == "172.16.0.9"


def test_phone_login_lands_on_my_points(client, phone_villager):
    response = login(client, PHONE, PASSWORD)

    assert response.status_code == 302
    assert response.url == reverse("my-entries")


def test_village_staff_login_lands_on_workbench(client, staff_password):
    response = login(client, "jifenyuan", staff_password)

    assert response.url == reverse("workbench")


def test_township_login_lands_on_home(client, world):
    world.township_viewer.set_password("Zhenjie-2026!")
    world.township_viewer.save()

    response = login(client, "zhenjie", "Zhenjie-2026!")

    assert response.url == reverse("home")


def test_login_keeps_next(client, phone_villager):
    target = reverse("claim-self")
    response = client.post(
        reverse("login"), {"username": PHONE, "password": PASSWORD, "next": target}
    )

    assert response.url == target


def test_staff_session_ends_when_idle(client, staff_password):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        login(client, "jifenyuan", staff_password)
    idle = timedelta(minutes=settings.STAFF_SESSION_IDLE_MINUTES)

    with time_machine.travel(start + idle * 2 / 3, tick=False):
        assert client.get(reverse("workbench")).status_code == 200
    with time_machine.travel(start + idle * 4 / 3, tick=False):
        assert client.get(reverse("workbench")).status_code == 200
    with time_machine.travel(start + idle * 3, tick=False):
        response = client.get(reverse("workbench"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_villager_session_outlives_staff_idle(client, phone_villager):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        login(client, PHONE, PASSWORD)

    with time_machine.travel(start + timedelta(days=1), tick=False):
        assert client.get(reverse("my-entries")).status_code == 200
    later = start + timedelta(days=settings.VILLAGER_SESSION_DAYS, hours=1)
    with time_machine.travel(later, tick=False):
        assert client.get(reverse("my-entries")).status_code == 302


def two_sessions(username, password):
    first, second = Client(), Client()
    assert login(first, username, password).status_code == 302
    assert login(second, username, password, address=ADDRESS_B).status_code == 302
    return first, second


def test_admin_password_change_ends_other_sessions(world, staff_password):
    here, elsewhere = two_sessions("jifenyuan", staff_password)

    response = here.post(
        reverse("admin:password_change"),
        {
            "old_password": staff_password,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )

    assert response.status_code == 302
    assert here.get(reverse("admin:index")).status_code == 200
    assert elsewhere.get(reverse("admin:index")).status_code == 302


def test_site_password_change_ends_other_sessions(phone_villager):
    here, elsewhere = two_sessions(PHONE, PASSWORD)

    response = here.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert response.status_code == 302
    assert response.url == reverse("password_change_done")
    assert here.get(reverse("my-entries")).status_code == 200
    assert elsewhere.get(reverse("my-entries")).status_code == 302


def test_site_password_change_page_in_chinese(client, phone_villager):
    login(client, PHONE, PASSWORD)

    response = client.get(reverse("password_change"))

    assert response.status_code == 200
    assert "修改密码" in response.content.decode()


def test_staff_reset_ends_villager_sessions(client, world, phone_villager):
    villager_client = Client()
    login(villager_client, PHONE, PASSWORD)
    client.force_login(world.village_admin)

    response = client.post(
        reverse("villager-login", args=[phone_villager.pk]),
        {"action": "password", "password": NEW_PASSWORD},
    )

    assert response.status_code == 302
    assert villager_client.get(reverse("my-entries")).status_code == 302
    assert client.get(reverse("villager-login", args=[phone_villager.pk])).status_code == 200


def test_reset_page_uses_chinese_full_stop(client, world, phone_villager):
    client.force_login(world.village_admin)

    response = client.get(reverse("villager-login", args=[phone_villager.pk]))

    assert "户号 010001。" in response.content.decode()


def test_admin_reset_ends_staff_sessions(client, world, staff_password):
    superuser = UserFactory(username="guanliyuan", is_staff=True, is_superuser=True)
    staff_client = Client()
    login(staff_client, "jifenyuan", staff_password)
    client.force_login(superuser)

    response = client.post(
        reverse("admin:auth_user_password_change", args=[world.recorder.pk]),
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )

    assert response.status_code == 302
    assert staff_client.get(reverse("workbench")).status_code == 302
    assert client.get(reverse("admin:index")).status_code == 200
