from django.contrib import admin

from villagers.admin_scoping import ReadOnlyAdmin

from .models import Notification


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ("recipient", "event_key", "created_at", "read_at", "sms_sent_at")
    list_select_related = ("recipient",)
    search_fields = ("event_key",)

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        return queryset if request.user.is_superuser else queryset.filter(recipient=request.user)
