"""JSON explanations of a villager's or a household's points, under the API's conventions.

Township clients read them with a token like every other endpoint. A
villager reads their own explanation with the session of the phone pages,
because villagers are never granted the API role.
"""

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from api.authentication import ApiTokenAuthentication
from api.permissions import CanUseApi
from api.views import ApiView

from . import selectors
from .models import Balance, LedgerEntry
from .views import explainable_household, explainable_villager


class CanReadExplanation(BasePermission):
    """Let token clients in as ``CanUseApi`` does, and any signed-in user with a session.

    Which villagers and households a session user may see is decided by
    ``explainable_villager`` and ``explainable_household``: their own, or
    those of the villages they work for.
    """

    def has_permission(self, request, view) -> bool:
        if request.auth is not None:
            return CanUseApi().has_permission(request, view)
        user = request.user
        return bool(user and user.is_authenticated and user.is_active)


class ExplainedRuleSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    version = serializers.IntegerField()
    points = serializers.IntegerField()
    valid_from = serializers.DateField()
    valid_to = serializers.DateField(allow_null=True)


class ExplainedEvidenceSerializer(serializers.Serializer):
    claim = serializers.IntegerField(help_text="Id of the claim the entry posted.")
    channel = serializers.CharField(help_text="staff, batch or self.")
    note = serializers.CharField(allow_blank=True)
    photo_url = serializers.CharField(
        allow_null=True, help_text="Path of the claim's photo, readable by staff of the village."
    )
    recorded_at = serializers.DateTimeField()


class ExplainedEntrySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=LedgerEntry.Kind.choices)
    kind_label = serializers.CharField(help_text="Kind in the request's language.")
    act_date = serializers.DateField()
    posted_at = serializers.DateTimeField()
    points = serializers.IntegerField()
    villager = serializers.CharField(help_text="Name of the villager, unmasked.")
    item = serializers.CharField(help_text="Name of the governance item.")
    rule = ExplainedRuleSerializer(allow_null=True)
    evidence = ExplainedEvidenceSerializer(allow_null=True)
    recorded_by = serializers.CharField(allow_null=True)
    first_approved_by = serializers.CharField(allow_null=True)
    approved_by = serializers.CharField(allow_null=True)
    notice_from = serializers.DateTimeField(allow_null=True, help_text="Start of the 公示.")
    notice_until = serializers.DateTimeField(allow_null=True, help_text="End of the 公示.")
    reverses = serializers.IntegerField(allow_null=True, help_text="Id of the entry reversed.")
    reversed_by = serializers.IntegerField(
        allow_null=True, help_text="Id of the entry that reverses this one."
    )
    reason = serializers.CharField(allow_blank=True)
    idempotency_key = serializers.CharField()


class ExplainedBalanceSerializer(serializers.Serializer):
    account = serializers.ChoiceField(choices=Balance.Account.choices)
    period = serializers.CharField(help_text="all, YYYY, YYYY-Qn or YYYY-MM.")
    points = serializers.IntegerField()
    entries = serializers.IntegerField(help_text="Number of entries in the balance.")


class ExplanationSerializer(serializers.Serializer):
    balances = ExplainedBalanceSerializer(many=True)
    honour_sum_of_entries = serializers.IntegerField(
        help_text="Sum of the award and reversal entries; equals the honour balance of all time."
    )
    redeemable_sum_of_entries = serializers.IntegerField(
        help_text="Sum of every entry; equals the redeemable balance."
    )
    entries = ExplainedEntrySerializer(many=True)


class ExplainedVillagerSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(help_text="Name of the villager, unmasked.")
    household = serializers.CharField(help_text="Household number.")


class VillagerExplanationSerializer(ExplanationSerializer):
    villager = ExplainedVillagerSerializer()


class ExplainedHouseholdSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()


class ExplainedStarsSerializer(serializers.Serializer):
    year = serializers.IntegerField()
    stars = serializers.IntegerField(help_text="Star level this year, 0 when none is reached.")
    honour_points = serializers.IntegerField(help_text="Honour points this year.")


class HouseholdExplanationSerializer(ExplanationSerializer):
    household = ExplainedHouseholdSerializer()
    stars = ExplainedStarsSerializer()


class ExplanationView(ApiView):
    """Base of the explanations: session first, so that a signed-out browser gets 403."""

    authentication_classes = [SessionAuthentication, ApiTokenAuthentication]
    permission_classes = [CanReadExplanation]
    renderer_classes = [JSONRenderer]
    required_permissions = ("points.view_ledgerentry",)
    pagination_class = None


@extend_schema(
    summary="Explain a villager's points",
    description="Every entry behind the villager's balances, with rule version, evidence, "
    "approvers and public notice dates. Names are not masked: the reader is the villager "
    "or staff of the village.",
    parameters=[
        OpenApiParameter(
            "villager_id", int, OpenApiParameter.PATH, description="Id of the villager."
        )
    ],
    responses=VillagerExplanationSerializer,
)
class VillagerExplanationView(ExplanationView):
    serializer_class = VillagerExplanationSerializer

    def get(self, request: Request, villager_id: str) -> Response:
        villager = explainable_villager(request.user, int(villager_id))  # type: ignore[arg-type]
        return Response(selectors.villager_explanation(villager))


@extend_schema(
    summary="Explain a household's points",
    description="Every entry behind the household's balances, with its star level this year.",
    parameters=[
        OpenApiParameter(
            "household_id", int, OpenApiParameter.PATH, description="Id of the household."
        )
    ],
    responses=HouseholdExplanationSerializer,
)
class HouseholdExplanationView(ExplanationView):
    serializer_class = HouseholdExplanationSerializer

    def get(self, request: Request, household_id: str) -> Response:
        household = explainable_household(request.user, int(household_id))  # type: ignore[arg-type]
        data = selectors.household_explanation(household, year=timezone.localdate().year)
        return Response(data)
