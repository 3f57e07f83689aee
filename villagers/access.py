"""Access rules: the villages whose data each user may see and change."""

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from .models import User, Village, Villager


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
