"""API endpoints. Each one scopes its rows to the villages the user may see
(``villages_for``), then filters, paginates or exports them.
"""

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

from patrols.services import matter_report
from points import selectors as points_selectors
from points.models import Category, Rule
from points.services import claim_submit
from villagers.access import villages_for
from villagers.models import District, Household, Township, Villager

from . import selectors
from . import serializers as api_serializers
from .exports import export_response
from .filters import (
    CategoryFilter,
    DistrictFilter,
    HouseholdFilter,
    LedgerEntryFilter,
    MatterFilter,
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
        return (
            Household.objects.filter(village__in=self.villages())
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
        return (
            Villager.objects.filter(household__village__in=self.villages())
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
        return selectors.ledger_entries(self.villages())


class MatterViewSet(ScopedListViewSet):
    """Matters (事项) with Open311-style fields and their 三不出 deadlines."""

    serializer_class = api_serializers.MatterSerializer
    required_permissions = ("patrols.view_matter",)
    write_permissions = ("patrols.add_matter",)
    filterset_class = MatterFilter
    export_name = "matters"

    def get_queryset(self) -> QuerySet:
        return selectors.matters(self.villages())

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
        parameters=[
            OpenApiParameter(
                HEADER,
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                description="Key that makes a retry return the first response.",
            )
        ],
    )
    def create(self, request: Request, *args, **kwargs) -> Response:
        return idempotent_response(request, self._report)

    def _report(self) -> tuple[int, dict]:
        serializer = api_serializers.MatterReportSerializer(data=self.request.data)
        serializer.fields["district"].queryset = District.objects.filter(
            village__in=self.villages()
        ).select_related("village")
        serializer.is_valid(raise_exception=True)
        matter = matter_report(actor=self.request.user, **serializer.validated_data)
        created = self.get_queryset().get(pk=matter.pk)
        body = api_serializers.MatterSerializer(created, context=self.get_serializer_context())
        return status.HTTP_201_CREATED, dict(body.data)


class ClaimSubmitView(ApiView):
    """Record points for a villager, to be approved in the village."""

    serializer_class = api_serializers.ClaimSubmitSerializer
    required_permissions = ("points.view_claim",)
    write_permissions = ("points.add_claim",)

    @extend_schema(
        summary="Submit a points claim",
        description="Record points for a villager under a rule; an approver of the village "
        "decides on it later. Needs a token that may write.",
        request=api_serializers.ClaimSubmitSerializer,
        responses={201: api_serializers.ClaimSerializer},
        parameters=[
            OpenApiParameter(
                HEADER,
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                description="Key that makes a retry return the first response.",
            )
        ],
    )
    def post(self, request: Request) -> Response:
        return idempotent_response(request, self._submit)

    def _submit(self) -> tuple[int, dict]:
        serializer = api_serializers.ClaimSubmitSerializer(data=self.request.data)
        serializer.fields["villager"].queryset = Villager.objects.filter(
            household__village__in=self.villages()
        ).select_related("household")
        serializer.is_valid(raise_exception=True)
        claim = claim_submit(actor=self.request.user, **serializer.validated_data)
        return status.HTTP_201_CREATED, dict(api_serializers.ClaimSerializer(claim).data)


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
        return selectors.ledger_entries(self.villages())

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


@extend_schema(
    summary="On-time rate of matters per village",
    responses=api_serializers.OnTimeRateSerializer(many=True),
)
class OnTimeRateView(ApiView):
    """Each village's 三不出 on-time rate over the matters that match the filters."""

    serializer_class = api_serializers.OnTimeRateSerializer
    required_permissions = ("patrols.view_matter",)
    filterset_class = MatterFilter
    pagination_class = None
    export_name = "on-time-rates"

    def get_queryset(self) -> QuerySet:
        return selectors.matters(self.villages())

    def get(self, request: Request, format: str | None = None) -> Response:
        matters = self.filter_queryset(self.get_queryset())
        rows = []
        for counts in selectors.matter_on_time_counts(matters, timezone.now()):
            rows.append(
                {
                    "village": counts["village"],
                    "village_name": counts["village__name"],
                    "closed_on_time": counts["closed_on_time"],
                    "closed_late": counts["closed_late"],
                    "open_overdue": counts["open_overdue"],
                    "open_in_time": counts["open_in_time"],
                    "on_time_rate": selectors.on_time_rate(counts),
                }
            )
        if self.wants_export():
            return self.export(rows)
        return Response(rows)


class EnglishSchemaView(SpectacularAPIView):
    """The OpenAPI schema, always in English whatever the request's language."""

    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        with translation.override("en"):
            return super().get(request, *args, **kwargs)
