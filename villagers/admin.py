from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _

from . import roles
from .access import can_see_full_phone
from .admin_roster import RosterAdminMixin
from .admin_scoping import HistoryAdmin, ReadOnlyAdmin, VillageScopedAdmin
from .identity import mask_phone
from .models import (
    District,
    Household,
    RosterExport,
    Township,
    User,
    Village,
    Villager,
    VillagerMove,
)
from .roster.exporting import FULL_DATA_PERMISSION

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
        columns = list(super().get_list_display(request))
        columns[columns.index("masked_phone")] = phone_column(request.user)
        return columns

    def get_exclude(self, request, obj=None):
        # The full birth date is characters 7 to 14 of the ID number, which
        # the masked number hides, so only staff allowed the full ID number
        # see a stored one. Everyone else sees the birth year. The add form
        # keeps the field, because a new villager needs a birth date.
        excluded = list(super().get_exclude(request, obj) or ())
        if obj is None or request.user.has_perm(FULL_DATA_PERMISSION):
            excluded.remove("birth_date")
        return excluded

    @admin.display(description=_("ID number"))
    def masked_id_number(self, villager: Villager) -> str:
        return villager.id_number_masked

    @admin.display(description=_("birth year"))
    def birth_year(self, villager: Villager) -> int:
        return villager.birth_year

    @admin.display(description=_("phone"))
    def masked_phone(self, villager: Villager) -> str:
        return mask_phone(villager.phone) if villager.phone else ""


def phone_column(user: User):
    """Return a list column showing phones in full to those who call villagers, masked to others."""

    @admin.display(description=_("phone"))
    def phone(villager: Villager) -> str:
        if not villager.phone:
            return ""
        if can_see_full_phone(user, villager):
            return villager.phone
        return mask_phone(villager.phone)

    return phone


@admin.register(RosterExport)
class RosterExportAdmin(ReadOnlyAdmin, VillageScopedAdmin):
    list_display = ("exported_at", "village", "exported_by", "unmasked", "reason", "row_count")
    list_filter = ("unmasked", ("village", admin.RelatedOnlyFieldListFilter))
