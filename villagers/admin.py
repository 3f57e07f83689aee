from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from .admin_scoping import VillageScopedAdmin
from .identity import mask_phone
from .models import District, Household, Township, User, Village, Villager

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


@admin.register(Villager)
class VillagerAdmin(VillageScopedAdmin):
    village_path = "household__village"
    list_display = (
        "name",
        "household",
        "relation_to_head",
        "sex",
        "birth_date",
        "id_number_masked",
        "masked_phone",
        "status",
        "population_type",
    )
    list_filter = ("status", "population_type", "sex", "is_party_member", "household__district")
    search_fields = ("name", "household__number")
    list_select_related = ("household",)
    autocomplete_fields = ("household",)
    readonly_fields = ("id_number_masked",)
    exclude = ("phone", "user")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("household")

    def get_search_results(self, request, queryset, search_term):
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        # The villager picker of other forms offers only people who can still
        # get points; the villager list itself shows everyone.
        if request.path.endswith("/autocomplete/"):
            queryset = queryset.filter(status=Villager.Status.ACTIVE)
        return queryset, may_have_duplicates

    @admin.display(description=_("phone"))
    def masked_phone(self, villager: Villager) -> str:
        return mask_phone(villager.phone) if villager.phone else ""
