from collections import Counter

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin
from simple_history.template_utils import HistoricalRecordContextHelper

from .access import full_phone_reason
from .admin_roster import RosterAdminMixin
from .admin_scoping import ReadOnlyAdmin, VillageScopedAdmin
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
    fieldsets = (
        *(DjangoUserAdmin.fieldsets or ()),
        (_("Scope"), {"fields": ("village", "township")}),
    )
    list_display = ("username", "first_name", "last_name", "village", "township", "is_staff")
    list_filter = ("is_staff", "is_active", "groups", "village")


@admin.register(Township)
class TownshipAdmin(SimpleHistoryAdmin):
    list_display = ("name",)
    search_fields = ("name",)


@admin.register(Village)
class VillageAdmin(VillageScopedAdmin):
    village_path = "pk"
    list_display = ("name", "township", "secretary")
    search_fields = ("name",)


@admin.register(District)
class DistrictAdmin(VillageScopedAdmin):
    list_display = ("name", "village", "secretary")
    list_filter = ("village",)
    search_fields = ("name",)


@admin.register(Household)
class HouseholdAdmin(VillageScopedAdmin):
    list_display = ("number", "village_group", "district", "address")
    list_filter = ("district",)
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
    list_filter = ("status", "population_type", "sex", "is_party_member", "household__district")
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
    list_filter = ("unmasked", "village")


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
    list_filter = ("kind", "village")
    search_fields = ("viewer_name", "reason")
    list_select_related = ("village",)
