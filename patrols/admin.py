"""Staff screens for patrols, matters and escalations, written through ``patrols.services``."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from villagers.access import villages_for
from villagers.admin_scoping import (
    ReadOnlyAdmin,
    ServiceFormMixin,
    ServiceSavedAdmin,
    VillageScopedAdmin,
)

from . import meetings, services
from .models import (
    AgendaItem,
    DailyPatrolCheck,
    Escalation,
    FollowUp,
    Matter,
    Meeting,
    MissedMeeting,
    Patrol,
    PatrolPolicy,
)


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
    district_path = "district"
    form = PatrolAdminForm
    list_display = ("district", "secretary", "started_at", "ended_at", "patrol_duration")
    list_filter = (("district", admin.RelatedOnlyFieldListFilter),)
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
    district_path = "district"
    form = MatterAdminForm
    list_display = (
        "title",
        "district",
        "severity",
        "status",
        "reported_at",
        "deadline",
        "overdue_at",
        "township_escalated_at",
        "assignee",
    )
    list_filter = ("status", "severity", ("district", admin.RelatedOnlyFieldListFilter))
    search_fields = ("title",)
    list_select_related = ("district", "assignee")
    date_hierarchy = "reported_at"

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        # Once reported, only the status and resolution move, through matter_move.
        return ("district", "category", "severity", "title", "description", "photos")

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("district", "category", "severity", "title", "description")
        return super().get_fields(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("photos"))
    def photos(self, matter: Matter) -> str:
        """Show the matter's photos through the view that checks who may see them."""
        links = [
            format_html(
                '<a href="{0}"><img src="{0}" alt="{1}" width="160"></a>',
                reverse("matter-photo", args=[photo.pk]),
                photo,
            )
            for photo in matter.photos.all()
        ]
        return format_html_join(" ", "{}", ((link,) for link in links)) or "-"


@admin.register(Escalation)
class EscalationAdmin(ReadOnlyAdmin, VillageScopedAdmin):
    village_path = "matter__village"
    district_path = "matter__district"
    list_display = ("matter_title", "level", "escalated_at", "notified")
    list_filter = ("level",)
    list_select_related = ("notified",)


@admin.register(PatrolPolicy)
class PatrolPolicyAdmin(VillageScopedAdmin):
    list_display = ("village", "minimum_patrol_minutes", "patrols_per_day", "reminder_lead")
    list_select_related = ("village",)


@admin.register(DailyPatrolCheck)
class DailyPatrolCheckAdmin(ReadOnlyAdmin, VillageScopedAdmin):
    village_path = "district__village"
    district_path = "district"
    list_display = ("day", "district", "secretary", "qualifying_patrols", "kept")
    list_filter = ("kept", ("district", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("district", "secretary")
    date_hierarchy = "day"


@admin.register(MissedMeeting)
class MissedMeetingAdmin(ReadOnlyAdmin, VillageScopedAdmin):
    list_display = ("date", "village", "flagged_at")
    list_select_related = ("village",)


class MeetingAdminForm(ServiceFormMixin):
    class Meta:
        model = Meeting
        fields = ("village", "date", "attendees", "minutes")

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        if not self.errors and self.instance.pk is None:
            self.instance = self.run_service(
                lambda: meetings.meeting_create(
                    actor=self.acting_user,
                    village=cleaned["village"],
                    date=cleaned["date"],
                    attendees=list(cleaned.get("attendees") or []),
                    minutes=cleaned.get("minutes", ""),
                )
            )
        return cleaned


class AgendaInline(admin.TabularInline):
    model = AgendaItem
    fields = ("district_name", "matter_title", "was_overdue", "matter")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class FollowUpInline(admin.TabularInline):
    model = FollowUp
    fields = ("decision", "owner", "due_date", "status", "done_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Meeting)
class MeetingAdmin(ServiceSavedAdmin, VillageScopedAdmin):
    """Meetings are recorded once; their agenda is built by ``meeting_create``."""

    form = MeetingAdminForm
    list_display = ("date", "village", "created_by")
    list_select_related = ("village", "created_by")
    date_hierarchy = "date"
    filter_horizontal = ("attendees",)

    def get_inlines(self, request, obj):
        # The agenda and follow-ups exist only once meeting_create has saved the meeting.
        return () if obj is None else (AgendaInline, FollowUpInline)

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else ("village", "date", "attendees", "minutes")

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "attendees" and not request.user.is_superuser:
            kwargs["queryset"] = db_field.related_model._default_manager.filter(
                village__in=villages_for(request.user), is_staff=True
            )
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def has_delete_permission(self, request, obj=None):
        return False


class FollowUpAdminForm(ServiceFormMixin):
    class Meta:
        model = FollowUp
        fields = ("meeting", "matter", "decision", "owner", "due_date")

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        if not self.errors and self.instance.pk is None:
            self.instance = self.run_service(
                lambda: meetings.follow_up_add(
                    actor=self.acting_user,
                    meeting=cleaned["meeting"],
                    decision=cleaned["decision"],
                    owner=cleaned["owner"],
                    due_date=cleaned["due_date"],
                    matter=cleaned.get("matter"),
                )
            )
        return cleaned


@admin.register(FollowUp)
class FollowUpAdmin(ServiceSavedAdmin, VillageScopedAdmin):
    village_path = "meeting__village"
    form = FollowUpAdminForm
    list_display = ("decision", "owner", "due_date", "status", "done_at")
    list_filter = ("status",)
    list_select_related = ("owner",)
    actions = ("mark_done",)

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return ("meeting", "matter", "decision", "owner", "due_date", "status", "done_at")

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Mark the selected follow-ups done"), permissions=["change"])
    def mark_done(self, request, queryset):
        done = 0
        for follow_up in queryset:
            try:
                meetings.follow_up_done(actor=request.user, follow_up_id=follow_up.pk)
            except (PermissionDenied, ValidationError) as error:
                self.message_user(request, str(error), messages.ERROR)
                continue
            done += 1
        self.message_user(
            request,
            ngettext("%(count)d follow-up marked done.", "%(count)d follow-ups marked done.", done)
            % {"count": done},
        )
