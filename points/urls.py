from django.urls import path, re_path

from . import api, views, workbench

urlpatterns = [
    path("", views.home, name="home"),
    path("villages/<int:village_id>/rankings/", views.rankings, name="rankings"),
    path("villages/<int:village_id>/notice/", views.notice_board, name="notice-board"),
    path("me/", views.my_entries, name="my-entries"),
    path("me/claim/", views.claim_for_self, name="claim-self"),
    path("points/batch/", views.batch_entry, name="batch-entry"),
    path("claims/<int:claim_id>/object/", views.claim_object, name="claim-object"),
    path("claims/<int:claim_id>/photo/", views.claim_photo, name="claim-photo"),
    path("villagers/<int:villager_id>/entries/", views.villager_entries, name="villager-entries"),
    path(
        "villagers/<int:villager_id>/explanation/",
        views.villager_explanation,
        name="villager-explanation",
    ),
    path(
        "households/<int:household_id>/explanation/",
        views.household_explanation,
        name="household-explanation",
    ),
    path("workbench/", workbench.workbench, name="workbench"),
    path("workbench/claims/<int:claim_id>/", workbench.claim_decide, name="workbench-decide"),
    path("households/<int:household_id>/", views.household_public, name="household-public"),
    path("districts/<int:district_id>/plaques/", views.plaque_sheet, name="plaque-sheet"),
    # The API's ids accept a sign, so that a negative id gets the API's JSON 404
    # rather than the site's HTML one.
    re_path(
        r"^api/v1/points/villagers/(?P<villager_id>-?\d+)/explanation/$",
        api.VillagerExplanationView.as_view(),
        name="api-villager-explanation",
    ),
    re_path(
        r"^api/v1/points/households/(?P<household_id>-?\d+)/explanation/$",
        api.HouseholdExplanationView.as_view(),
        name="api-household-explanation",
    ),
]
