"""JSON explanations of a villager's or a household's points, under the API's conventions.

Township clients read them with a token like every other endpoint. A
villager reads their own explanation with the session of the phone pages,
because villagers are never granted the API role.
"""

from django.db.models import Exists, OuterRef, Value
from django.http import Http404
from django.shortcuts import get_object_or_404
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
from villagers.access import districts_for
from villagers.models import Household, User, Villager

from . import selectors
from .models import Balance, LedgerEntry


class CanReadExplanation(BasePermission):
    """Let token clients in as ``CanUseApi`` does, and any signed-in user with a session.

    Which villagers and households a reader may see is decided by
    ``readable_villager`` and ``readable_household``: their own, or those of
    the villages they work for.
    """

    def has_permission(self, request, view) -> bool:
        if request.auth is not None:
            return CanUseApi().has_permission(request, view)
        user = request.user
        return bool(user and user.is_authenticated and user.is_active)


def readable_villager(user: User, villager_id: int) -> Villager:
    """Return the villager if ``user`` may read their explanation, else raise 404.

    The rule is the one of the explanation pages: the villager themselves, or
    staff who may see the villager's district. The scope check is an annotation of the
    villager's query, so the lookup takes one query.
    NOTE: the pages decide with ``explainable_villager`` in ``views.py``;
    a change to who may read must be made in both places.
    """
    villager = get_object_or_404(
        Villager.objects.select_related("household").annotate(
            in_scope=_in_scope(user, "household__district_id")
        ),
        pk=villager_id,
    )
    if villager.user_id != user.pk and not _may_read(user, villager.in_scope):
        raise Http404
    return villager


def readable_household(user: User, household_id: int) -> Household:
    """Return the household if ``user`` may read its explanation, else raise 404.

    Members of the household may read it, and so may staff who may see its district.
    Both checks are annotations of the household's query, like the scope
    check of ``readable_villager``.
    """
    household = get_object_or_404(
        Household.objects.annotate(
            is_member=Exists(Villager.objects.filter(user_id=user.pk, household=OuterRef("pk"))),
            in_scope=_in_scope(user, "district_id"),
        ),
        pk=household_id,
    )
    # django-stubs types these annotations as keys of a TypedDict, not as attributes.
    is_member: bool = household.is_member  # type: ignore[attr-defined]
    in_scope: bool = household.in_scope  # type: ignore[attr-defined]
    if not is_member and not _may_read(user, in_scope):
        raise Http404
    return household


def _in_scope(user: User, district_field: str) -> Exists | Value:
    """Return whether the row's district is one of the districts ``user`` may see.

    Only staff read others' explanations, so villagers skip the permission queries.
    """
    if not user.is_staff:
        return Value(False)
    return Exists(districts_for(user).filter(pk=OuterRef(district_field)))


def _may_read(user: User, in_scope: bool) -> bool:
    """Return whether ``user`` is staff who may see the row's district.

    That is staff of the village who see every district, the district's
    secretary, and township viewers over the village.
    """
    return user.is_staff and in_scope


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
    """Base of the explanations, for villagers' sessions as well as staff tokens.

    The token comes first, as on every endpoint, so that a missing, expired or
    revoked token gets 401 with a ``WWW-Authenticate: Token`` header.
    """

    authentication_classes = [ApiTokenAuthentication, SessionAuthentication]
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
        villager = readable_villager(request.user, int(villager_id))  # type: ignore[arg-type]
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
        household = readable_household(request.user, int(household_id))  # type: ignore[arg-type]
        data = selectors.household_explanation(household, year=timezone.localdate().year)
        return Response(data)
