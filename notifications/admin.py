from django.contrib import admin
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from villagers.admin_scoping import ReadOnlyAdmin

from .models import Notification


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ("recipient", "text", "created_at", "read_at", "sms_sent_at")
    list_select_related = ("recipient",)
    search_fields = ("event_key",)

    @admin.display(description=_("message"))
    def text(self, notification: Notification) -> str:
        """Show the message in the reader's language, not the internal event key."""
        return notification.render(get_language())

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        return queryset if request.user.is_superuser else queryset.filter(recipient=request.user)
