"""Access rules: the villages whose data each user may see and change."""

from typing import TypeVar

from django.db.models import Model, QuerySet
from django.utils.translation import gettext as _

from .models import District, User, Village, Villager

# Village staff with this permission (the village party secretary, recorders,
# approvers) and township viewers see every district of their villages. Staff
# without it, such as district secretaries, see only the districts they are
# secretary of.
EVERY_DISTRICT_PERMISSION = "villagers.view_every_district"

M = TypeVar("M", bound=Model)


def villages_for(user: User) -> QuerySet[Village]:
    """Return the villages whose data ``user`` may see."""
    if not user.is_authenticated or not user.is_active:
        return Village.objects.none()
    if user.is_superuser:
        return Village.objects.all()
    if user.township_id:
        return Village.objects.filter(township_id=user.township_id)
    if user.village_id:
        return Village.objects.filter(pk=user.village_id)
    return Village.objects.none()


def sees_every_district(user: User) -> bool:
    """Return whether ``user`` sees the rows of every district of their villages."""
    return user.is_superuser or user.has_perm(EVERY_DISTRICT_PERMISSION)


def districts_for(user: User) -> QuerySet[District]:
    """Return the districts whose households, villagers, matters and patrols ``user`` may see."""
    districts = District.objects.filter(village__in=villages_for(user))
    if not sees_every_district(user):
        districts = districts.filter(secretary_id=user.pk)
    return districts


def scope_to_districts(queryset: QuerySet[M], user: User, path: str) -> QuerySet[M]:
    """Filter ``queryset`` to the districts ``user`` may see, ``path`` leading to its district.

    It filters nothing for users who see every district, so the caller must
    also scope the rows to ``villages_for(user)``.
    """
    if sees_every_district(user):
        return queryset
    return queryset.filter(**{f"{path}__in": District.objects.filter(secretary_id=user.pk)})


def can_see_district(user: User, *, district_id: int, village_id: int) -> bool:
    """Return whether ``user`` may see the rows of this district of this village.

    It queries the database only for township viewers and district secretaries,
    once the user's permissions are loaded.
    """
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    if user.township_id is not None:
        in_scope = villages_for(user).filter(pk=village_id).exists()
    else:
        in_scope = user.village_id == village_id
    if not in_scope:
        return False
    if sees_every_district(user):
        return True
    return District.objects.filter(pk=district_id, secretary_id=user.pk).exists()


def can_act_in_village(user: User, village_id: int) -> bool:
    """Return whether ``user`` is staff of this village (a superuser is staff of all)."""
    if not user.is_active or not user.is_staff:
        return False
    return user.is_superuser or user.village_id == village_id


def can_see_full_phone(user: User, villager: Villager) -> bool:
    """Return whether ``user`` may see the villager's whole phone number to call them.

    The village party secretary (through the ``view_full_phone`` permission)
    and the secretary of the villager's own district may. Other users get the
    masked number. The caller must already have scoped ``villager`` to the user's villages.
    """
    return full_phone_reason(user, villager) != ""


def full_phone_reason(user: User, villager: Villager) -> str:
    """Return the role that lets ``user`` see the villager's whole phone, or "" when none does.

    The role is the reason stored in the log of personal data accesses.
    """
    if user.has_perm("villagers.view_full_phone"):
        return _("Village party secretary: calls villagers of the village")
    if villager.household.district.secretary_id == user.pk:
        return _("District secretary: calls villagers of their own district")
    return ""
