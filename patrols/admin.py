"""Staff screens for patrols, matters and escalations, written through ``patrols.services``."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from villagers.admin_scoping import (
    ReadOnlyAdmin,
    ServiceFormMixin,
    ServiceSavedAdmin,
    VillageScopedAdmin,
)

from . import services
from .models import Escalation, Matter, Patrol


class PatrolAdminForm(ServiceFormMixin):
    class Meta:
        model = Patrol
        fields = ("district", "started_at", "ended_at", "notes")

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        if not self.errors and not cleaned.get("ended_at"):
            self.add_error("ended_at", _("Enter when the patrol ended."))
        if not self.errors:
            self.instance = self.run_service(
                lambda: services.patrol_log(
                    actor=self.acting_user,
                    district=cleaned["district"],
                    started_at=cleaned["started_at"],
                    ended_at=cleaned["ended_at"],
                    notes=cleaned.get("notes", ""),
                )
            )
        return cleaned


@admin.register(Patrol)
class PatrolAdmin(ServiceSavedAdmin, VillageScopedAdmin):
    village_path = "district__village"
    form = PatrolAdminForm
    list_display = ("district", "secretary", "started_at", "ended_at", "patrol_duration")
    list_filter = ("district",)
    list_select_related = ("district", "secretary")
    date_hierarchy = "started_at"

    @admin.display(description=_("duration"))
    def patrol_duration(self, patrol: Patrol):
        return patrol.duration

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class MatterAdminForm(ServiceFormMixin):
    class Meta:
        model = Matter
        fields = (
            "district",
            "category",
            "severity",
            "title",
            "description",
            "status",
            "resolution",
        )

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        if self.errors:
            return cleaned
        if self.instance.pk is None:
            self.instance = self.run_service(
                lambda: services.matter_report(
                    actor=self.acting_user,
                    district=cleaned["district"],
                    severity=cleaned["severity"],
                    title=cleaned["title"],
                    description=cleaned.get("description", ""),
                    category=cleaned.get("category"),
                )
            )
        elif cleaned["status"] != self.initial.get("status"):
            self.instance = self.run_service(
                lambda: services.matter_move(
                    actor=self.acting_user,
                    matter_id=self.instance.pk,
                    status=cleaned["status"],
                    resolution=cleaned.get("resolution", ""),
                )
            )
        return cleaned


@admin.register(Matter)
class MatterAdmin(ServiceSavedAdmin, VillageScopedAdmin):
    form = MatterAdminForm
    list_display = (
        "title",
        "district",
        "severity",
        "status",
        "reported_at",
        "deadline",
        "overdue_at",
        "assignee",
    )
    list_filter = ("status", "severity", "district")
    search_fields = ("title",)
    list_select_related = ("district", "assignee")
    date_hierarchy = "reported_at"

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        # Once reported, only the status and resolution move, through matter_move.
        return ("district", "category", "severity", "title", "description")

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("district", "category", "severity", "title", "description")
        return super().get_fields(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Escalation)
class EscalationAdmin(ReadOnlyAdmin, VillageScopedAdmin):
    village_path = "matter__village"
    list_display = ("matter_title", "level", "escalated_at", "notified")
    list_filter = ("level",)
    list_select_related = ("notified",)
