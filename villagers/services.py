"""Operations on villages, users and roles."""

import logging

from django.contrib.auth.models import Group, Permission
from django.utils import timezone

from . import roles
from .models import PersonalDataAccess, User

logger = logging.getLogger(__name__)


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


def personal_data_access_record(
    *,
    actor: User,
    village_id: int,
    kind: str,
    reason: str,
    villager_count: int,
    path: str = "",
) -> PersonalDataAccess:
    """Log that ``actor`` was shown full ID numbers or phones of ``villager_count`` villagers."""
    access = PersonalDataAccess.objects.create(
        village_id=village_id,
        viewed_by=actor,
        viewer_name=actor.get_username(),
        viewed_at=timezone.now(),
        kind=kind,
        reason=reason[:200],
        villager_count=villager_count,
        path=path[:200],
    )
    logger.info(
        "personal data access %s: user %s, village %s, %s, %s villagers",
        access.pk,
        actor.pk,
        village_id,
        kind,
        villager_count,
    )
    return access
