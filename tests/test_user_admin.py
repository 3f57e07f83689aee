"""Roles in the admin: which groups carry which permissions, and who may give them to whom."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from villagers import roles
from villagers.access import EVERY_DISTRICT_PERMISSION

from .factories import UserFactory


def change_form(user, **fields) -> dict:
    """Return the user admin's change form data for ``user``, with ``fields`` replaced."""
    data = {
        "username": user.username,
        "first_name": "",
        "last_name": "",
        "email": "",
        "language": "zh-hans",
        "is_active": "on",
        "is_staff": "on",
        "groups": [group.pk for group in user.groups.all()],
    }
    data.update(fields)
    return data


def group(name: str) -> Group:
    return Group.objects.get(name=name)


# Roles and their permissions


@pytest.mark.django_db
@pytest.mark.parametrize("role", sorted(roles.PERMISSIONS))
def test_role_group_has_exactly_its_permissions(role):
    granted = {
        f"{app}.{codename}"
        for app, codename in group(role).permissions.values_list(
            "content_type__app_label", "codename"
        )
    }

    assert granted == set(roles.PERMISSIONS[role])


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "sees_all"),
    [
        (roles.VILLAGE_ADMIN, True),
        (roles.RECORDER, True),
        (roles.APPROVER, True),
        (roles.TOWNSHIP_VIEWER, True),
        (roles.DISTRICT_SECRETARY, False),
        (roles.VILLAGER, False),
    ],
)
def test_every_district_only_for_village_wide_roles(role, sees_all):
    assert (EVERY_DISTRICT_PERMISSION in roles.PERMISSIONS[role]) is sees_all


def test_only_village_admin_manages_logins():
    managers = {
        role
        for role, codenames in roles.PERMISSIONS.items()
        if "villagers.change_user" in codenames
    }

    assert managers == {roles.VILLAGE_ADMIN}


# Giving roles in the admin


def test_village_admin_gives_a_village_role(client, world):
    client.force_login(world.village_admin)

    response = client.post(
        reverse("admin:villagers_user_change", args=[world.recorder.pk]),
        change_form(world.recorder, groups=[group(roles.APPROVER).pk]),
    )

    assert response.status_code == 302
    assert list(world.recorder.groups.values_list("name", flat=True)) == [roles.APPROVER]


def test_village_admin_cannot_escalate(client, world):
    client.force_login(world.village_admin)
    permission = Permission.objects.get(codename="change_user")

    client.post(
        reverse("admin:villagers_user_change", args=[world.recorder.pk]),
        change_form(
            world.recorder,
            is_superuser="on",
            user_permissions=[permission.pk],
            village=world.village_b.pk,
            township=world.township.pk,
        ),
    )

    world.recorder.refresh_from_db()
    assert world.recorder.is_superuser is False
    assert list(world.recorder.user_permissions.all()) == []
    assert world.recorder.village_id == world.village_a.pk
    assert world.recorder.township_id is None


def test_village_admin_cannot_give_township_role(client, world):
    client.force_login(world.village_admin)

    response = client.post(
        reverse("admin:villagers_user_change", args=[world.recorder.pk]),
        change_form(world.recorder, groups=[group(roles.TOWNSHIP_VIEWER).pk]),
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert response.status_code == 200
    assert "Select a valid choice." in response.text
    assert list(world.recorder.groups.values_list("name", flat=True)) == [roles.RECORDER]


def test_village_admin_group_choices(client, world):
    Group.objects.create(name="自建分组")
    client.force_login(world.village_admin)

    response = client.get(reverse("admin:villagers_user_change", args=[world.recorder.pk]))

    choices = set(
        response.context["adminform"].form.fields["groups"].queryset.values_list("name", flat=True)
    )
    assert choices == set(roles.VILLAGE_ROLES)


def test_village_admin_form_has_no_superuser_fields(client, world):
    client.force_login(world.village_admin)

    response = client.get(reverse("admin:villagers_user_change", args=[world.recorder.pk]))

    fields = set(response.context["adminform"].form.fields)
    assert "is_superuser" not in fields
    assert "user_permissions" not in fields
    assert "village" not in fields
    assert "township" not in fields


def test_added_user_joins_admins_village(client, world):
    client.force_login(world.village_admin)

    response = client.post(
        reverse("admin:villagers_user_add"),
        {
            "username": "xinren",
            "usable_password": "true",
            "password1": "a-long-enough-password-9",
            "password2": "a-long-enough-password-9",
        },
    )

    assert response.status_code == 302
    added = world.village_admin.__class__.objects.get(username="xinren")
    assert added.village_id == world.village_a.pk
    assert added.is_superuser is False


@pytest.mark.parametrize("username", ["chaoji", "zhenjie", "waicun"])
def test_village_admin_cannot_open_others(client, world, username):
    UserFactory(username="chaoji", village=world.village_a, is_superuser=True, is_staff=True)
    client.force_login(world.village_admin)
    target = world.village_admin.__class__.objects.get(username=username)

    change = client.get(reverse("admin:villagers_user_change", args=[target.pk]))
    password = client.get(reverse("admin:auth_user_password_change", args=[target.pk]))

    # The admin sends a row it does not show back to its index.
    assert change.status_code == 302
    assert change["Location"] == reverse("admin:index")
    assert password.status_code == 404


@pytest.mark.parametrize(("persona", "status"), [("recorder", 403), ("villager_user", 200)])
def test_village_admin_sets_only_villager_passwords(client, world, persona, status):
    client.force_login(world.village_admin)
    target = getattr(world, persona)

    response = client.get(reverse("admin:auth_user_password_change", args=[target.pk]))

    assert response.status_code == status


def test_township_is_read_only_for_village_admin(client, world):
    client.force_login(world.village_admin)

    response = client.get(reverse("admin:villagers_village_change", args=[world.village_a.pk]))

    assert "township" not in response.context["adminform"].form.fields


def test_village_secretary_choices_only_own_village(client, world):
    client.force_login(world.village_admin)

    response = client.get(reverse("admin:villagers_village_change", args=[world.village_a.pk]))

    secretaries = response.context["adminform"].form.fields["secretary"].queryset
    assert world.outsider not in secretaries
    assert world.recorder in secretaries
