"""Access rules: the villages whose data each user may see and change."""

from django.db.models import QuerySet

from .models import User, Village


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
