"""API endpoints. Each one scopes its rows to the villages the user may see
(``villages_for``) and, for users who do not see every district, to their own
districts (``in_districts``), then filters, paginates or exports them.
"""

from datetime import date

from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from drf_spectacular.views import SpectacularAPIView
from rest_framework import serializers, status, viewsets
from rest_framework.generics import GenericAPIView
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from patrols import selectors as patrols_selectors
from patrols.models import DailyPatrolCheck, Matter
from patrols.services import matter_report
from points import selectors as points_selectors
from points.models import Balance, Category, Rule
from points.services import claim_submit
from villagers.access import districts_for, scope_to_districts, sees_every_district, villages_for
from villagers.models import District, Household, Township, Villager

from . import selectors
from . import serializers as api_serializers
from .exports import export_response
from .filters import (
    CategoryFilter,
    ClaimFilter,
    DistrictFilter,
    FollowUpFilter,
    HouseholdFilter,
    LedgerEntryFilter,
    MatterFilter,
    MeetingFilter,
    ObjectionFilter,
    PatrolComplianceFilter,
    PointsStatisticFilter,
    RuleFilter,
    VillagerFilter,
)
from .idempotency import HEADER, idempotent_response
from .schema import FORMAT_PARAMETER

EXPORT_FORMATS = ("csv", "xlsx")


class ApiView(GenericAPIView):
    """Base of every endpoint: the user's villages, and CSV and XLSX downloads."""

    required_permissions: tuple[str, ...] = ()
    write_permissions: tuple[str, ...] = ()
    # File name of CSV and XLSX downloads, without the extension.
    export_name = "export"

    def villages(self):
        return villages_for(self.request.user)

    def in_districts(self, queryset: QuerySet, path: str) -> QuerySet:
        """Narrow ``queryset`` to the user's own districts if they do not see every district."""
        return scope_to_districts(queryset, self.request.user, path)

    def get_renderers(self):
        # Writes respond in JSON only, because CSV and XLSX are for reading.
        if self.request is not None and self.request.method == "POST":
            return [JSONRenderer()]
        return super().get_renderers()

    def export_columns(self) -> list[tuple[str, str]]:
        fields = self.get_serializer().fields
        return [(name, field.label or name) for name, field in fields.items()]

    def wants_export(self) -> bool:
        renderer = getattr(self.request, "accepted_renderer", None)
        return getattr(renderer, "format", None) in EXPORT_FORMATS

    def export(self, rows) -> Response:
        labels = self.choice_labels()
        return export_response(
            self.request.accepted_renderer.format,
            columns=self.export_columns(),
            rows=(_with_labels(row, labels) for row in rows),
            name=self.export_name,
        )

    def choice_labels(self) -> dict[str, dict[str, str]]:
        """Return the translated label of each value of the serializer's choice fields.

        Labels are translated here, while the request's language is active,
        because CSV rows are written only as the response is sent.
        """
        labels = {}
        for name, field in self.get_serializer().fields.items():
            if isinstance(field, serializers.ChoiceField):
                labels[name] = {value: str(label) for value, label in field.choices.items()}
        return labels


def _with_labels(row: dict, labels: dict[str, dict[str, str]]) -> dict:
    """Replace the codes of choice fields in ``row`` by their labels, for spreadsheets."""
    if not labels:
        return row
    row = dict(row)
    for name, names_by_value in labels.items():
        if row.get(name) in names_by_value:
            row[name] = names_by_value[row[name]]
    return row


class ScopedListViewSet(ApiView, viewsets.ReadOnlyModelViewSet):
    """List and retrieve rows of the user's villages; lists also export."""

    def list(self, request: Request, *args, **kwargs) -> Response:
        if not self.wants_export():
            return super().list(request, *args, **kwargs)
        queryset = self.filter_queryset(self.get_queryset())
        serializer_class = self.get_serializer_class()
        context = self.get_serializer_context()
        rows = (
            serializer_class(row, context=context).data
            for row in queryset.iterator(chunk_size=1000)
        )
        return self.export(rows)


class TownshipViewSet(ScopedListViewSet):
    """Townships that have villages the token may see."""

    serializer_class = api_serializers.TownshipSerializer
    required_permissions = ("villagers.view_village",)
    export_name = "townships"

    def get_queryset(self) -> QuerySet:
        return Township.objects.filter(villages__in=self.villages()).distinct().order_by("id")


class VillageViewSet(ScopedListViewSet):
    """Villages the token may see, with their 三不出 time limits."""

    serializer_class = api_serializers.VillageSerializer
    required_permissions = ("villagers.view_village",)
    export_name = "villages"

    def get_queryset(self) -> QuerySet:
        return self.villages().select_related("township").order_by("id")


class DistrictViewSet(ScopedListViewSet):
    """Districts (片区) of the villages the token may see."""

    serializer_class = api_serializers.DistrictSerializer
    required_permissions = ("villagers.view_district",)
    filterset_class = DistrictFilter
    export_name = "districts"

    def get_queryset(self) -> QuerySet:
        return (
            District.objects.filter(village__in=self.villages())
            .select_related("village")
            .order_by("id")
        )


class CategoryViewSet(ScopedListViewSet):
    """Governance items (治理内容), shared by all villages."""

    serializer_class = api_serializers.CategorySerializer
    required_permissions = ("points.view_category",)
    filterset_class = CategoryFilter
    export_name = "governance-items"
    queryset = Category.objects.order_by("position", "id")


class RuleViewSet(ScopedListViewSet):
    """Scoring rules, every version, each with the dates it applies."""

    serializer_class = api_serializers.RuleSerializer
    required_permissions = ("points.view_rule",)
    filterset_class = RuleFilter
    export_name = "rules"
    queryset = Rule.objects.select_related("category").order_by("category__position", "id")


class HouseholdViewSet(ScopedListViewSet):
    """Households of the villages the token may see."""

    serializer_class = api_serializers.HouseholdSerializer
    required_permissions = ("api.view_roster",)
    filterset_class = HouseholdFilter
    export_name = "households"

    def get_queryset(self) -> QuerySet:
        households = Household.objects.filter(village__in=self.villages())
        return (
            self.in_districts(households, "district")
            .select_related("district")
            .order_by("village_id", "number")
        )


class VillagerViewSet(ScopedListViewSet):
    """Villagers with masked names, ID numbers and phones."""

    serializer_class = api_serializers.VillagerSerializer
    required_permissions = ("api.view_roster",)
    filterset_class = VillagerFilter
    export_name = "villagers"

    def get_queryset(self) -> QuerySet:
        villagers = Villager.objects.filter(household__village__in=self.villages())
        return (
            self.in_districts(villagers, "household__district")
            .select_related("household")
            .order_by("household__village_id", "household__number", "id")
        )


class LedgerEntryViewSet(ScopedListViewSet):
    """Posted ledger entries; villager names are masked."""

    serializer_class = api_serializers.LedgerEntrySerializer
    required_permissions = ("points.view_ledgerentry",)
    filterset_class = LedgerEntryFilter
    export_name = "ledger-entries"

    def get_queryset(self) -> QuerySet:
        return self.in_districts(selectors.ledger_entries(self.villages()), "household__district")


IDEMPOTENCY_PARAMETER = OpenApiParameter(
    HEADER,
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="Key that makes a retry return the first response.",
)


class MatterViewSet(ScopedListViewSet):
    """Matters (事项) with Open311-style fields and their 三不出 deadlines."""

    serializer_class = api_serializers.MatterSerializer
    required_permissions = ("patrols.view_matter",)
    write_permissions = ("patrols.add_matter",)
    filterset_class = MatterFilter
    export_name = "matters"

    def get_queryset(self) -> QuerySet:
        return self.in_districts(selectors.matters(self.villages()), "district")

    def get_serializer_context(self) -> dict:
        return {**super().get_serializer_context(), "now": timezone.now()}

    def get_serializer_class(self):
        if self.action == "create":
            return api_serializers.MatterReportSerializer
        return api_serializers.MatterSerializer

    @extend_schema(
        summary="Report a matter",
        description="Open a matter in a district; its deadline follows the village's "
        "三不出 limit for the severity. Needs a token that may write.",
        request=api_serializers.MatterReportSerializer,
        responses={201: api_serializers.MatterSerializer},
        parameters=[IDEMPOTENCY_PARAMETER],
    )
    def create(self, request: Request, *args, **kwargs) -> Response:
        return idempotent_response(request, self._report)

    def _report(self) -> tuple[int, dict]:
        serializer = api_serializers.MatterReportSerializer(data=self.request.data)
        serializer.fields["district"].queryset = District.objects.filter(
            village__in=self.villages()
        ).select_related("village__patrol_policy", "secretary")
        serializer.is_valid(raise_exception=True)
        matter = matter_report(actor=self.request.user, **serializer.validated_data)
        # A new matter's last change is its report, as selectors.matters would annotate.
        matter.updated_datetime = matter.reported_at  # type: ignore[attr-defined]
        body = api_serializers.MatterSerializer(matter, context=self.get_serializer_context())
        return status.HTTP_201_CREATED, dict(body.data)


class ClaimViewSet(ScopedListViewSet):
    """Points claims with their state and public notice (公示) dates; staff apps submit them."""

    serializer_class = api_serializers.ClaimDetailSerializer
    # Reading claims needs the ledger permission, which the township viewer role
    # has: a claim is the ledger's pending side and its notice is public anyway.
    required_permissions = ("points.view_ledgerentry",)
    write_permissions = ("points.add_claim",)
    filterset_class = ClaimFilter
    export_name = "claims"

    def get_queryset(self) -> QuerySet:
        claims = selectors.claims(self.villages())
        return self.in_districts(claims, "villager__household__district")

    def get_serializer_class(self):
        if self.action == "create":
            return api_serializers.ClaimSubmitSerializer
        return api_serializers.ClaimDetailSerializer

    @extend_schema(
        summary="Submit a points claim",
        description="Record points for a villager under a rule; an approver of the village "
        "decides on it later. Needs a token that may write.",
        request=api_serializers.ClaimSubmitSerializer,
        responses={201: api_serializers.ClaimSerializer},
        parameters=[IDEMPOTENCY_PARAMETER],
    )
    def create(self, request: Request, *args, **kwargs) -> Response:
        return idempotent_response(request, self._submit)

    def _submit(self) -> tuple[int, dict]:
        serializer = api_serializers.ClaimSubmitSerializer(data=self.request.data)
        villagers = Villager.objects.filter(household__village__in=self.villages())
        serializer.fields["villager"].queryset = self.in_districts(
            villagers, "household__district"
        ).select_related("household__village")
        serializer.is_valid(raise_exception=True)
        claim = claim_submit(actor=self.request.user, **serializer.validated_data)
        return status.HTTP_201_CREATED, dict(api_serializers.ClaimSerializer(claim).data)


class ObjectionViewSet(ScopedListViewSet):
    """Objections to claims on public notice, with their review deadline and decision."""

    serializer_class = api_serializers.ObjectionSerializer
    # As for claims: objections belong to the public notice of the ledger.
    required_permissions = ("points.view_ledgerentry",)
    filterset_class = ObjectionFilter
    export_name = "objections"

    def get_queryset(self) -> QuerySet:
        objections = selectors.objections(self.villages())
        return self.in_districts(objections, "claim__villager__household__district")


class MeetingViewSet(ScopedListViewSet):
    """Tuesday meetings (周二例会) with their attendee and follow-up counts."""

    serializer_class = api_serializers.MeetingSerializer
    required_permissions = ("patrols.view_meeting",)
    filterset_class = MeetingFilter
    export_name = "meetings"

    def get_queryset(self) -> QuerySet:
        return selectors.meetings(self.villages())


class FollowUpViewSet(ScopedListViewSet):
    """Decisions of meetings, each with its owner, due date and state."""

    serializer_class = api_serializers.FollowUpSerializer
    # Follow-ups are the decisions of meetings, so reading meetings is enough.
    required_permissions = ("patrols.view_meeting",)
    filterset_class = FollowUpFilter
    export_name = "follow-ups"

    def get_queryset(self) -> QuerySet:
        return selectors.follow_ups(self.villages())


@extend_schema(
    summary="Points per village, governance item and month",
    responses=api_serializers.PointsStatisticSerializer(many=True),
)
class PointsStatisticsView(ApiView):
    """Points per village, governance item and month of the act."""

    serializer_class = api_serializers.PointsStatisticSerializer
    required_permissions = ("points.view_ledgerentry",)
    filterset_class = PointsStatisticFilter
    export_name = "points-statistics"

    def get_queryset(self) -> QuerySet:
        return self.in_districts(selectors.ledger_entries(self.villages()), "household__district")

    def get(self, request: Request, format: str | None = None) -> Response:
        entries = self.filter_queryset(self.get_queryset())
        sums = selectors.points_per_village_item_month(entries)
        if self.wants_export():
            return self.export(_statistic_row(row) for row in sums.iterator(chunk_size=1000))
        page = self.paginate_queryset(sums)
        return self.get_paginated_response([_statistic_row(row) for row in page])


def _statistic_row(row: dict) -> dict:
    return {
        "village": row["village"],
        "village_name": row["village__name"],
        "category": row["category"],
        "category_name": row["category__name"],
        "month": row["month_start"].strftime("%Y-%m"),
        "points": row["points"],
        "entry_count": row["entry_count"],
    }


class RankingQuerySerializer(serializers.Serializer):
    village = serializers.IntegerField(help_text="Id of the village to rank.")
    period = serializers.RegexField(
        r"^(all|\d{4}|\d{4}-Q[1-4]|\d{4}-(0[1-9]|1[0-2]))$",
        required=False,
        help_text="all, a year (2026), a quarter (2026-Q4) or a month (2026-12); "
        "this month by default.",
        error_messages={
            "invalid": _("Enter all, a year, a quarter such as 2026-Q4 or a month such as 2026-12.")
        },
    )


@extend_schema(
    parameters=[RankingQuerySerializer, FORMAT_PARAMETER],
    responses=api_serializers.RankingSerializer,
)
class RankingView(ApiView):
    """Ranking of one village's households or villagers, as its public boards show it."""

    serializer_class = api_serializers.RankingRowSerializer
    required_permissions = ("points.view_ledgerentry",)
    pagination_class = None
    board = "household"

    def get(self, request: Request, format: str | None = None) -> Response:
        query = RankingQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        village = self.villages().filter(pk=query.validated_data["village"]).first()
        if village is None:
            raise Http404
        today = timezone.localdate()
        period = query.validated_data.get("period") or points_selectors.ranking_period(
            "month", today
        )
        rank = (
            points_selectors.household_ranking
            if self.board == "household"
            else points_selectors.villager_ranking
        )
        ranking = rank(village=village, period=period, today=today)
        rows = [api_serializers.RankingRowSerializer(row).data for row in ranking.rows]
        if self.wants_export():
            self.export_name = f"{self.board}-ranking-{period}"
            return self.export(rows)
        body = {"village": village.pk, "period": period, "truncated": ranking.truncated}
        return Response({**body, "results": rows})


class OnTimeRateQuerySerializer(serializers.Serializer):
    month = serializers.RegexField(
        r"^20\d{2}-(0[1-9]|1[0-2])$",
        required=False,
        help_text="Month of the matters' deadlines, as YYYY-MM from 2000-01 to 2099-12; "
        "this month by default.",
        error_messages={"invalid": _("Enter a month such as 2026-12.")},
    )
    by = serializers.ChoiceField(
        choices=["village", "district"],
        default="village",
        help_text="Give one row per village (the default) or per district.",
    )


@extend_schema(
    summary="On-time rate of matters per village or district in one month",
    parameters=[OnTimeRateQuerySerializer],
    responses=api_serializers.OnTimeRateSerializer(many=True),
)
class OnTimeRateView(ApiView):
    """The 三不出 on-time rate of the matters whose deadline falls in one month.

    The figures come from the patrol pages' own selector, so the township
    reads the same rates as the village office.
    """

    serializer_class = api_serializers.OnTimeRateSerializer
    required_permissions = ("patrols.view_matter",)
    # Named for the schema's model lookup only: the rows come from patrols' selector.
    queryset = Matter.objects.none()
    pagination_class = None
    export_name = "on-time-rates"

    def get(self, request: Request, format: str | None = None) -> Response:
        query = OnTimeRateQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        month_text = query.validated_data.get("month")
        month = date.fromisoformat(f"{month_text}-01") if month_text else timezone.localdate()
        user = self.request.user
        rates = patrols_selectors.on_time_rates(
            villages=self.villages(),
            month=month,
            now=timezone.now(),
            by=query.validated_data["by"],
            districts=None if sees_every_district(user) else districts_for(user),
        )
        rows = [
            {
                "name": rate.name,
                "village": rate.village_id,
                "village_name": rate.village_name,
                "district": rate.district_id,
                "closed": rate.closed,
                "closed_on_time": rate.closed_on_time,
                "open_overdue": rate.open_overdue,
                "on_time_rate": rate.rate,
            }
            for rate in rates
        ]
        if self.wants_export():
            return self.export(rows)
        return Response(rows)


class StarHouseholdQuerySerializer(serializers.Serializer):
    year = serializers.IntegerField(
        min_value=2000,
        max_value=2100,
        required=False,
        help_text="Year of the honour points and thresholds; this year by default.",
    )
    village = serializers.IntegerField(
        required=False, help_text="Village id; every village the token may see by default."
    )


@extend_schema(
    summary="Star households (星级文明户) per village and year",
    parameters=[StarHouseholdQuerySerializer],
    responses=api_serializers.StarHouseholdSerializer(many=True),
)
class StarHouseholdView(ApiView):
    """Households whose honour points in a year reach one of their village's star thresholds."""

    serializer_class = api_serializers.StarHouseholdSerializer
    required_permissions = ("points.view_ledgerentry",)
    # Named for the schema's model lookup only: get() builds the rows for its year.
    queryset = Balance.objects.none()
    export_name = "star-households"

    def get(self, request: Request, format: str | None = None) -> Response:
        query = StarHouseholdQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        year = query.validated_data.get("year") or timezone.localdate().year
        balances = self.in_districts(
            selectors.star_households(self.villages(), year=year), "household__district"
        )
        if "village" in query.validated_data:
            balances = balances.filter(village_id=query.validated_data["village"])
        if self.wants_export():
            self.export_name = f"star-households-{year}"
            rows = (self.get_serializer(row).data for row in balances.iterator(chunk_size=1000))
            return self.export(rows)
        page = self.paginate_queryset(balances)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


@extend_schema(
    summary="Patrol compliance per district and month",
    responses=api_serializers.PatrolComplianceSerializer(many=True),
)
class PatrolComplianceView(ApiView):
    """Days each district's patrols were checked and kept, per month, from the morning checks."""

    serializer_class = api_serializers.PatrolComplianceSerializer
    required_permissions = ("patrols.view_dailypatrolcheck",)
    filterset_class = PatrolComplianceFilter
    export_name = "patrol-compliance"

    def get_queryset(self) -> QuerySet:
        checks = DailyPatrolCheck.objects.filter(district__village__in=self.villages())
        return self.in_districts(checks, "district")

    def get(self, request: Request, format: str | None = None) -> Response:
        checks = self.filter_queryset(self.get_queryset())
        counts = selectors.patrol_compliance(checks)
        if self.wants_export():
            return self.export(_compliance_row(row) for row in counts.iterator(chunk_size=1000))
        page = self.paginate_queryset(counts)
        return self.get_paginated_response([_compliance_row(row) for row in page])


def _compliance_row(row: dict) -> dict:
    checked = row["days_checked"]
    return {
        "village": row["district__village"],
        "district": row["district"],
        "district_name": row["district__name"],
        "month": row["month_start"].strftime("%Y-%m"),
        "days_checked": checked,
        "days_kept": row["days_kept"],
        "compliance_rate": row["days_kept"] / checked if checked else None,
    }


class EnglishSchemaView(SpectacularAPIView):
    """The OpenAPI schema, always in English whatever the request's language."""

    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        with translation.override("en"):
            return super().get(request, *args, **kwargs)
