from .models import Notification


def unread_notifications(request) -> dict:
    """Add the signed-in user's unread count, shown in the navigation bar."""
    user = getattr(request, "user", None)
    # Only staff receive notifications, so villagers' pages skip the query.
    if user is None or not user.is_authenticated or not user.is_staff:
        return {}
    return {
        "unread_notifications": Notification.objects.filter(
            recipient=user, read_at__isnull=True
        ).count()
    }
