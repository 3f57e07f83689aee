"""Villager logins by phone: staff-set passwords, one-time codes, limits and the reset log."""

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone

from accounts import services
from accounts.models import LoginCode, LoginReset
from villagers import roles

from .factories import VillagerFactory

PHONE = "13912345678"


@pytest.fixture
def phone_villager(world):
    """The persona villager, with a phone number of their own."""
    world.villager.phone = PHONE
    world.villager.save(update_fields=["phone"])
    return world.villager


def login(client, username, password):
    return client.post(reverse("login"), {"username": username, "password": password})


def test_phone_login_with_staff_password(client, world, phone_villager):
    services.villager_password_set(
        actor=world.village_admin, villager=phone_villager, password="Qunying-2026!"
    )

    response = login(client, "139 1234 5678", "Qunying-2026!")

    assert response.status_code == 302
    assert client.get(reverse("my-entries")).status_code == 200
    reset = LoginReset.objects.get()
    assert (reset.user, reset.reset_by, reset.kind) == (
        world.villager_user,
        world.village_admin,
        LoginReset.Kind.PASSWORD,
    )


def test_reset_log_never_holds_the_password(world, phone_villager):
    services.villager_password_set(
        actor=world.village_admin, villager=phone_villager, password="Qunying-2026!"
    )

    row = LoginReset.objects.values().get()
    assert "Qunying-2026!" not in str(row)


def test_login_code_works_once(client, world, phone_villager):
    code = services.login_code_issue(actor=world.village_admin, villager=phone_villager)

    assert len(code) == 8
    assert code.isdigit()
    stored = LoginCode.objects.get()
    assert stored.code_hash != code
    assert check_password(code, stored.code_hash)
    assert login(client, PHONE, code).status_code == 302

    client.logout()
    assert login(client, PHONE, code).status_code == 200
    assert LoginCode.objects.get().used_at is not None


def test_login_code_expires(client, world, phone_villager):
    code = services.login_code_issue(actor=world.village_admin, villager=phone_villager)

    later = timezone.now() + services.LOGIN_CODE_LIFETIME + timedelta(minutes=1)
    with time_machine.travel(later, tick=False):
        assert login(client, PHONE, code).status_code == 200


def test_new_code_cancels_the_old_one(client, world, phone_villager):
    old = services.login_code_issue(actor=world.village_admin, villager=phone_villager)
    new = services.login_code_issue(actor=world.village_admin, villager=phone_villager)

    assert login(client, PHONE, old).status_code == 200
    assert login(client, PHONE, new).status_code == 302


def test_failed_logins_are_limited_per_phone(client, world, phone_villager):
    services.villager_password_set(
        actor=world.village_admin, villager=phone_villager, password="Qunying-2026!"
    )
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert login(client, PHONE, "wrong-guess").status_code == 200
    assert login(client, PHONE, "wrong-guess").status_code == 429

    response = login(client, PHONE, "Qunying-2026!")

    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_code_creates_account_for_villager_without_one(client, world):
    villager = VillagerFactory(household=world.household_a2, name="王新", phone="13700001111")

    code = services.login_code_issue(actor=world.village_admin, villager=villager)

    villager.refresh_from_db()
    assert villager.user.groups.filter(name=roles.VILLAGER).exists()
    assert login(client, "13700001111", code).status_code == 302


@pytest.mark.parametrize("persona", ["recorder", "outsider", "villager_user"])
def test_only_the_village_secretary_resets(world, phone_villager, persona):
    with pytest.raises(PermissionDenied):
        services.login_code_issue(actor=getattr(world, persona), villager=phone_villager)


def test_staff_page_prints_code(client, world, phone_villager):
    client.force_login(world.village_admin)
    url = reverse("villager-login", args=[phone_villager.pk])

    assert client.get(url).status_code == 200
    response = client.post(url, {"action": "code"})

    assert response.status_code == 200
    code = response.context["code"]
    assert code in response.content.decode()
    assert LoginReset.objects.get().kind == LoginReset.Kind.CODE


def test_staff_page_sets_password(client, world, phone_villager):
    client.force_login(world.village_admin)
    url = reverse("villager-login", args=[phone_villager.pk])

    response = client.post(url, {"action": "password", "password": "Qunying-2026!"})

    assert response.status_code == 302
    phone_villager.refresh_from_db()
    assert phone_villager.user.check_password("Qunying-2026!")


def test_staff_page_hidden_from_other_village(client, world, phone_villager):
    client.force_login(world.outsider)

    response = client.get(reverse("villager-login", args=[phone_villager.pk]))

    assert response.status_code == 404


def test_username_login_for_staff_still_works(client, world):
    world.recorder.set_password("Staff-2026!")
    world.recorder.save()

    assert login(client, "jifenyuan", "Staff-2026!").status_code == 302


def test_code_login_sets_first_password(client, world, phone_villager):
    phone_villager.user.set_unusable_password()
    phone_villager.user.save()
    code = services.login_code_issue(actor=world.village_admin, villager=phone_villager)
    login(client, PHONE, code)

    page = client.get(reverse("password_change"))
    response = client.post(
        reverse("password_change"),
        {"new_password1": "Qunying-2027!", "new_password2": "Qunying-2027!"},
    )

    assert "old_password" not in page.context["form"].fields
    assert "<h1>设置密码</h1>" in page.content.decode()
    assert response.status_code == 302
    client.logout()
    assert login(client, PHONE, "Qunying-2027!").status_code == 302


def test_password_change_asks_old_one(client, world, phone_villager):
    phone_villager.user.set_password("Qunying-2026!")
    phone_villager.user.save()
    login(client, PHONE, "Qunying-2026!")

    response = client.post(
        reverse("password_change"),
        {"new_password1": "Qunying-2027!", "new_password2": "Qunying-2027!"},
    )

    assert response.status_code == 200
    assert "old_password" in response.context["form"].errors


def test_short_password_rejected_in_chinese(client, world, phone_villager):
    phone_villager.user.set_password("Qunying-2026!")
    phone_villager.user.save()
    login(client, PHONE, "Qunying-2026!")

    page = client.get(reverse("password_change"))
    response = client.post(
        reverse("password_change"),
        {"old_password": "Qunying-2026!", "new_password1": "123", "new_password2": "123"},
    )

    assert "密码至少需要 8 个字符。" in page.content.decode()
    assert "密码太短，至少需要 8 个字符。" in response.content.decode()
