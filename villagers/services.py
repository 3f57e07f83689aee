"""Operations on villages, users and roles."""

from django.contrib.auth.models import Group, Permission

from . import roles


def roles_sync() -> None:
    """Create each role's group and give it exactly the permissions in ``roles.PERMISSIONS``."""
    for name, codenames in roles.PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=name)
        permissions = []
        for dotted in codenames:
            app_label, codename = dotted.split(".")
            permissions.append(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
        group.permissions.set(permissions)
