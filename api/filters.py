"""Query filters of the list and statistics endpoints."""

from datetime import UTC

import django_filters
from django.db.models import Exists, OuterRef, QuerySet

from patrols.models import DailyPatrolCheck, FollowUp, Matter, Meeting
from points.models import Category, Claim, LedgerEntry, Objection, Rule
from villagers.models import District, Household, Villager


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    """An ISO 8601 time filter that compares in UTC.

    Python accepts UTC offsets of up to 24 hours, but PostgreSQL rejects
    offsets beyond its own range, so the value is converted before the query.
    """

    def filter(self, queryset: QuerySet, value):
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(UTC)
        return super().filter(queryset, value)


class LedgerEntryFilter(django_filters.FilterSet):
    village = django_filters.NumberFilter(field_name="village", help_text="Village id.")
    district = django_filters.NumberFilter(
        field_name="household__district", help_text="District id of the entry's household."
    )
    category = django_filters.NumberFilter(field_name="category", help_text="Governance item id.")
    date_from = django_filters.DateFilter(
        field_name="act_date", lookup_expr="gte", help_text="First day of the acts, inclusive."
    )
    date_to = django_filters.DateFilter(
        field_name="act_date", lookup_expr="lte", help_text="Last day of the acts, inclusive."
    )
    status = django_filters.ChoiceFilter(
        choices=[("posted", "posted"), ("reversed", "reversed"), ("reversal", "reversal")],
        method="filter_status",
        help_text="posted: counts in full; reversed: cancelled by a later entry; "
        "reversal: an entry that cancels another.",
    )

    class Meta:
        model = LedgerEntry
        fields = ["village", "district", "category", "date_from", "date_to", "status"]

    def filter_status(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if value == "reversal":
            return queryset.filter(reverses__isnull=False)
        reversed_later = Exists(LedgerEntry.objects.filter(reverses=OuterRef("pk")))
        queryset = queryset.filter(reverses__isnull=True)
        if value == "reversed":
            return queryset.filter(reversed_later)
        return queryset.filter(~reversed_later)


class PointsStatisticFilter(LedgerEntryFilter):
    class Meta:
        model = LedgerEntry
        fields = ["village", "district", "category", "date_from", "date_to"]

    status = None  # type: ignore[assignment]


class MatterFilter(django_filters.FilterSet):
    village = django_filters.NumberFilter(field_name="village", help_text="Village id.")
    district = django_filters.NumberFilter(field_name="district", help_text="District id.")
    category = django_filters.ModelChoiceFilter(
        queryset=Category.objects.all(), help_text="Governance item id."
    )
    severity = django_filters.ChoiceFilter(
        choices=Matter.Severity.choices, help_text="Severity under the 三不出 limits."
    )
    status = django_filters.ChoiceFilter(
        choices=Matter.Status.choices, help_text="Where the matter is in its handling."
    )
    requested_from = UtcDateTimeFilter(
        field_name="reported_at", lookup_expr="gte", help_text="Reported at or after this time."
    )
    requested_to = UtcDateTimeFilter(
        field_name="reported_at", lookup_expr="lt", help_text="Reported before this time."
    )

    class Meta:
        model = Matter
        fields = [
            "village",
            "district",
            "category",
            "severity",
            "status",
            "requested_from",
            "requested_to",
        ]


class DistrictFilter(django_filters.FilterSet):
    village = django_filters.NumberFilter(field_name="village", help_text="Village id.")

    class Meta:
        model = District
        fields = ["village"]


class CategoryFilter(django_filters.FilterSet):
    is_active = django_filters.BooleanFilter(
        help_text="true for the items the village scores now, false for switched-off ones."
    )

    class Meta:
        model = Category
        fields = ["is_active"]


class RuleFilter(django_filters.FilterSet):
    category = django_filters.NumberFilter(field_name="category", help_text="Governance item id.")

    class Meta:
        model = Rule
        fields = ["category"]


class HouseholdFilter(django_filters.FilterSet):
    village = django_filters.NumberFilter(field_name="village", help_text="Village id.")
    district = django_filters.NumberFilter(field_name="district", help_text="District id.")

    class Meta:
        model = Household
        fields = ["village", "district"]


class VillagerFilter(django_filters.FilterSet):
    village = django_filters.NumberFilter(field_name="household__village", help_text="Village id.")
    household = django_filters.NumberFilter(field_name="household", help_text="Household id.")
    status = django_filters.ChoiceFilter(
        choices=Villager.Status.choices,
        help_text="Whether the villager is active, moved out or deceased.",
    )
    population_type = django_filters.ChoiceFilter(
        choices=Villager.PopulationType.choices,
        help_text="Registered resident, new resident or company employee.",
    )

    class Meta:
        model = Villager
        fields = ["village", "household", "status", "population_type"]


class ClaimFilter(django_filters.FilterSet):
    village = django_filters.NumberFilter(
        field_name="villager__household__village", help_text="Village id."
    )
    district = django_filters.NumberFilter(
        field_name="villager__household__district", help_text="District id of the household."
    )
    status = django_filters.ChoiceFilter(choices=Claim.Status.choices, help_text="Claim state.")
    date_from = django_filters.DateFilter(
        field_name="act_date", lookup_expr="gte", help_text="First day of the acts, inclusive."
    )
    date_to = django_filters.DateFilter(
        field_name="act_date", lookup_expr="lte", help_text="Last day of the acts, inclusive."
    )
    notice_ends_after = UtcDateTimeFilter(
        field_name="notice_ends_at",
        lookup_expr="gt",
        help_text="Only claims whose public notice ends after this time.",
    )

    class Meta:
        model = Claim
        fields = ["village", "district", "status", "date_from", "date_to", "notice_ends_after"]


class ObjectionFilter(django_filters.FilterSet):
    village = django_filters.NumberFilter(
        field_name="claim__villager__household__village", help_text="Village id."
    )
    claim = django_filters.NumberFilter(field_name="claim", help_text="Claim id.")
    status = django_filters.ChoiceFilter(
        choices=Objection.Status.choices, help_text="Objection state."
    )

    class Meta:
        model = Objection
        fields = ["village", "claim", "status"]


class PatrolComplianceFilter(django_filters.FilterSet):
    village = django_filters.NumberFilter(field_name="district__village", help_text="Village id.")
    district = django_filters.NumberFilter(field_name="district", help_text="District id.")
    date_from = django_filters.DateFilter(
        field_name="day", lookup_expr="gte", help_text="First checked day, inclusive."
    )
    date_to = django_filters.DateFilter(
        field_name="day", lookup_expr="lte", help_text="Last checked day, inclusive."
    )

    class Meta:
        model = DailyPatrolCheck
        fields = ["village", "district", "date_from", "date_to"]


class MeetingFilter(django_filters.FilterSet):
    village = django_filters.NumberFilter(field_name="village", help_text="Village id.")
    date_from = django_filters.DateFilter(
        field_name="date", lookup_expr="gte", help_text="First meeting day, inclusive."
    )
    date_to = django_filters.DateFilter(
        field_name="date", lookup_expr="lte", help_text="Last meeting day, inclusive."
    )

    class Meta:
        model = Meeting
        fields = ["village", "date_from", "date_to"]


class FollowUpFilter(django_filters.FilterSet):
    village = django_filters.NumberFilter(field_name="meeting__village", help_text="Village id.")
    meeting = django_filters.NumberFilter(field_name="meeting", help_text="Meeting id.")
    status = django_filters.ChoiceFilter(choices=FollowUp.Status.choices, help_text="open or done.")

    class Meta:
        model = FollowUp
        fields = ["village", "meeting", "status"]
