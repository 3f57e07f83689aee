from collections import Counter

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from simple_history.template_utils import HistoricalRecordContextHelper

from . import roles
from .access import full_phone_reason
from .admin_roster import RosterAdminMixin
from .admin_scoping import HistoryAdmin, ReadOnlyAdmin, VillageScopedAdmin
from .identity import mask_phone
from .models import (
    District,
    Household,
    PersonalDataAccess,
    RosterExport,
    Township,
    User,
    Village,
    Villager,
    VillagerMove,
)
from .roster.exporting import FULL_DATA_PERMISSION
from .services import personal_data_access_record

admin.site.site_header = _("Energy Points administration")
admin.site.site_title = _("Energy Points")
admin.site.index_title = _("Village office")


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """Logins. A superuser manages all of them, and a village party secretary those of their village.

    The village party secretary (with the user permissions of the village
    admin role) may give only the village roles, and never superuser status,
    single permissions or another scope, so no one gains rights beyond theirs.
    """

    fieldsets = (
        *(DjangoUserAdmin.fieldsets or ()),
        (_("Scope"), {"fields": ("village", "township")}),
    )
    village_fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Personal info"), {"fields": ("first_name", "last_name", "email", "language")}),
        (_("Permissions"), {"fields": ("is_active", "is_staff", "groups")}),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    list_display = ("username", "first_name", "last_name", "village", "township", "is_staff")
    list_filter = (
        "is_staff",
        "is_active",
        "groups",
        ("village", admin.RelatedOnlyFieldListFilter),
    )

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        if request.user.village_id is None:
            return queryset.none()
        return queryset.filter(village_id=request.user.village_id, is_superuser=False)

    def get_fieldsets(self, request, obj=None):
        if obj is None or request.user.is_superuser:
            return super().get_fieldsets(request, obj)
        return self.village_fieldsets

    def get_readonly_fields(self, request, obj=None):
        if request.user.is_superuser:
            return super().get_readonly_fields(request, obj)
        return ("last_login", "date_joined")

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "groups" and not request.user.is_superuser:
            kwargs["queryset"] = Group.objects.filter(name__in=roles.VILLAGE_ROLES)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def user_change_password(self, request, id, form_url=""):
        # Setting another staff member's password would let the village
        # party secretary act as them, for example as the second approver.
        target = self.get_object(request, id)
        if not request.user.is_superuser and target is not None:
            if target.is_staff and target.pk != request.user.pk:
                raise PermissionDenied
        return super().user_change_password(request, id, form_url)

    def save_model(self, request, obj, form, change):
        if not request.user.is_superuser:
            # The form has no such fields; set them again so that no other
            # path through the form can widen the login's scope.
            obj.village_id = request.user.village_id
            obj.township = None
            obj.is_superuser = False
        super().save_model(request, obj, form, change)


@admin.register(Township)
class TownshipAdmin(HistoryAdmin):
    list_display = ("name",)
    search_fields = ("name",)


@admin.register(Village)
class VillageAdmin(VillageScopedAdmin):
    village_path = "pk"
    list_display = ("name", "township", "secretary")
    search_fields = ("name",)

    def get_readonly_fields(self, request, obj=None):
        # Moving a village to another township would hand its data to that
        # township's viewers, so only a superuser may.
        if request.user.is_superuser:
            return super().get_readonly_fields(request, obj)
        return ("township",)


@admin.register(District)
class DistrictAdmin(VillageScopedAdmin):
    list_display = ("name", "village", "secretary")
    list_filter = (("village", admin.RelatedOnlyFieldListFilter),)
    search_fields = ("name",)


@admin.register(Household)
class HouseholdAdmin(VillageScopedAdmin):
    district_path = "district"
    list_display = ("number", "village_group", "district", "address")
    list_filter = (("district", admin.RelatedOnlyFieldListFilter),)
    search_fields = ("number", "address")
    list_select_related = ("district",)


class VillagerMoveInline(admin.TabularInline):
    model = VillagerMove
    fields = (
        "moved_on",
        "kind",
        "from_household",
        "to_household",
        "from_district",
        "to_district",
        "recorded_by",
        "source",
    )
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Villager)
class VillagerAdmin(RosterAdminMixin, VillageScopedAdmin):
    village_path = "household__village"
    district_path = "household__district"
    list_display = (
        "name",
        "household",
        "relation_to_head",
        "sex",
        "birth_year",
        "masked_id_number",
        "masked_phone",
        "status",
        "population_type",
    )
    list_filter = (
        "status",
        "population_type",
        "sex",
        "is_party_member",
        ("household__district", admin.RelatedOnlyFieldListFilter),
    )
    search_fields = ("name", "household__number")
    list_select_related = ("household__district",)
    autocomplete_fields = ("household",)
    readonly_fields = ("masked_id_number", "birth_year", "moved_out_on")
    exclude = ("phone", "user", "birth_date")
    inlines = [VillagerMoveInline]

    def get_queryset(self, request):
        # The phone column reads the district's secretary of each row.
        return super().get_queryset(request).select_related("household__district")

    def get_search_results(self, request, queryset, search_term):
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        # The villager picker of other forms offers only people who can still
        # get points; the villager list itself shows everyone.
        if request.path.endswith("/autocomplete/"):
            queryset = queryset.filter(status=Villager.Status.ACTIVE)
        return queryset, may_have_duplicates

    def get_list_display(self, request):
        # The phone column depends on who looks, so it is built per request.
        # It counts the full phones it shows in ``request.full_phones_shown``.
        # Django calls this more than once per page, so every column gets the same counter.
        columns = list(super().get_list_display(request))
        if not hasattr(request, "full_phones_shown"):
            request.full_phones_shown = Counter()
        columns[columns.index("masked_phone")] = phone_column(
            request.user, request.full_phones_shown
        )
        return columns

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        # Rows are rendered after this returns, so the full phones are counted
        # and logged once the page is rendered.
        if hasattr(response, "add_post_render_callback"):
            response.add_post_render_callback(lambda rendered: _log_full_phones(request))
        return response

    def get_exclude(self, request, obj=None):
        # The full birth date is characters 7 to 14 of the ID number, which
        # the masked number hides, so only staff allowed the full ID number
        # see a stored one. Everyone else sees the birth year. The add form
        # keeps the field, because a new villager needs a birth date.
        excluded = list(super().get_exclude(request, obj) or ())
        if obj is None or request.user.has_perm(FULL_DATA_PERMISSION):
            excluded.remove("birth_date")
        return excluded

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        _log_full_id_number_view(request, object_id, response)
        return response

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        response = super().history_form_view(request, object_id, version_id, extra_context)
        _log_full_id_number_view(request, object_id, response)
        return response

    def get_historical_record_context_helper(self, request, historical_record):
        return MaskedHistoryHelper(
            self.model,
            historical_record,
            full_birth_date=request.user.has_perm(FULL_DATA_PERMISSION),
        )

    @admin.display(description=_("ID number"))
    def masked_id_number(self, villager: Villager) -> str:
        return villager.id_number_masked

    @admin.display(description=_("birth year"))
    def birth_year(self, villager: Villager) -> int:
        return villager.birth_year

    @admin.display(description=_("phone"))
    def masked_phone(self, villager: Villager) -> str:
        return mask_phone(villager.phone) if villager.phone else ""


class MaskedHistoryHelper(HistoricalRecordContextHelper):
    """Show a villager's changes on the history page with phones masked.

    The birth date, which is characters 7 to 14 of the ID number, shows as its
    year unless ``full_birth_date``, as on the change page.
    """

    def __init__(self, *args, full_birth_date: bool, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.full_birth_date = full_birth_date

    def prepare_delta_change_value(self, change, value):
        if change.field == "phone" and value:
            return mask_phone(value)
        if change.field == "birth_date" and value and not self.full_birth_date:
            return value.year
        return super().prepare_delta_change_value(change, value)


def phone_column(user: User, shown: Counter):
    """Return a list column showing phones in full to those who call villagers, masked to others.

    Each full phone shown is counted in ``shown`` under (village id, reason).
    """

    @admin.display(description=_("phone"))
    def phone(villager: Villager) -> str:
        if not villager.phone:
            return ""
        reason = full_phone_reason(user, villager)
        if not reason:
            return mask_phone(villager.phone)
        shown[(villager.household.village_id, reason)] += 1
        return villager.phone

    return phone


def _log_full_id_number_view(request, object_id, response) -> None:
    """Log a villager page that shows the full birth date beside the masked ID number.

    The two together are the whole ID number, so users with the full-data
    permission are logged as if they had seen it. Only pages shown (200) count.
    """
    if request.method != "GET" or response.status_code != 200:
        return
    if not request.user.has_perm(FULL_DATA_PERMISSION):
        return
    villager = (
        Villager.objects.filter(pk=object_id)
        .exclude(id_number_encrypted="")
        .values("household__village_id")
        .first()
    )
    if villager is None:
        return
    personal_data_access_record(
        actor=request.user,
        village_id=villager["household__village_id"],
        kind=PersonalDataAccess.Kind.VILLAGER_PAGE,
        reason=gettext("Village party secretary: may see full personal data"),
        villager_count=1,
        path=request.get_full_path(),
    )


def _log_full_phones(request) -> None:
    shown: Counter = getattr(request, "full_phones_shown", None) or Counter()
    for (village_id, reason), count in shown.items():
        personal_data_access_record(
            actor=request.user,
            village_id=village_id,
            kind=PersonalDataAccess.Kind.PHONE_LIST,
            reason=reason,
            villager_count=count,
            path=request.get_full_path(),
        )


@admin.register(RosterExport)
class RosterExportAdmin(ReadOnlyAdmin, VillageScopedAdmin):
    list_display = ("exported_at", "village", "exported_by", "unmasked", "reason", "row_count")
    list_filter = ("unmasked", ("village", admin.RelatedOnlyFieldListFilter))


@admin.register(PersonalDataAccess)
class PersonalDataAccessAdmin(ReadOnlyAdmin, VillageScopedAdmin):
    list_display = (
        "viewed_at",
        "village",
        "viewer_name",
        "kind",
        "reason",
        "villager_count",
        "path",
    )
    list_filter = ("kind", ("village", admin.RelatedOnlyFieldListFilter))
    search_fields = ("viewer_name", "reason")
    list_select_related = ("village",)
