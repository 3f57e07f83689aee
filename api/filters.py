"""Query filters of the list and statistics endpoints."""

import django_filters
from django.db.models import Exists, OuterRef, QuerySet

from patrols.models import Matter
from points.models import Category, LedgerEntry


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
    severity = django_filters.ChoiceFilter(choices=Matter.Severity.choices)
    status = django_filters.ChoiceFilter(choices=Matter.Status.choices)
    requested_from = django_filters.IsoDateTimeFilter(
        field_name="reported_at", lookup_expr="gte", help_text="Reported at or after this time."
    )
    requested_to = django_filters.IsoDateTimeFilter(
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
