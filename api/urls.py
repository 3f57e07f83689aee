from django.urls import include, path
from drf_spectacular.views import SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter
from rest_framework.urlpatterns import format_suffix_patterns

from . import views

router = DefaultRouter()
router.include_root_view = False
router.register("townships", views.TownshipViewSet, basename="township")
router.register("villages", views.VillageViewSet, basename="village")
router.register("districts", views.DistrictViewSet, basename="district")
router.register("governance-items", views.CategoryViewSet, basename="category")
router.register("rules", views.RuleViewSet, basename="rule")
router.register("households", views.HouseholdViewSet, basename="household")
router.register("villagers", views.VillagerViewSet, basename="villager")
router.register("ledger-entries", views.LedgerEntryViewSet, basename="ledger-entry")
router.register("matters", views.MatterViewSet, basename="matter")
router.register("claims", views.ClaimViewSet, basename="claim")
router.register("objections", views.ObjectionViewSet, basename="objection")
router.register("meetings", views.MeetingViewSet, basename="meeting")
router.register("follow-ups", views.FollowUpViewSet, basename="follow-up")

app_name = "api"

# The statistics also accept a format suffix, such as statistics/points.csv,
# as the router's lists do.
statistics = [
    path("v1/statistics/points/", views.PointsStatisticsView.as_view(), name="points-statistics"),
    path(
        "v1/statistics/household-ranking/",
        views.RankingView.as_view(board="household"),
        name="household-ranking",
    ),
    path(
        "v1/statistics/villager-ranking/",
        views.RankingView.as_view(board="villager"),
        name="villager-ranking",
    ),
    path("v1/statistics/on-time-rate/", views.OnTimeRateView.as_view(), name="on-time-rate"),
    path(
        "v1/statistics/star-households/",
        views.StarHouseholdView.as_view(),
        name="star-households",
    ),
    path(
        "v1/statistics/patrol-compliance/",
        views.PatrolComplianceView.as_view(),
        name="patrol-compliance",
    ),
]

urlpatterns = [
    path("schema/", views.EnglishSchemaView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    *format_suffix_patterns(statistics, allowed=["json", "csv", "xlsx"]),
    path("v1/", include(router.urls)),
]
