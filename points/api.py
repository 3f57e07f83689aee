"""JSON explanations of a villager's or a household's points, for the township and apps."""

from django.utils import timezone
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from . import selectors
from .views import explainable_household, explainable_villager


class VillagerExplanationView(APIView):
    """Every entry behind a villager's balances, the same data as the explanation page."""

    authentication_classes = [SessionAuthentication]
    permission_classes = [IsAuthenticated]

    def get(self, request: Request, villager_id: int) -> Response:
        villager = explainable_villager(request.user, villager_id)  # type: ignore[arg-type]
        return Response(selectors.villager_explanation(villager))


class HouseholdExplanationView(APIView):
    """Every entry behind a household's balances, with its star level this year."""

    authentication_classes = [SessionAuthentication]
    permission_classes = [IsAuthenticated]

    def get(self, request: Request, household_id: int) -> Response:
        household = explainable_household(request.user, household_id)  # type: ignore[arg-type]
        data = selectors.household_explanation(household, year=timezone.localdate().year)
        return Response(data)
