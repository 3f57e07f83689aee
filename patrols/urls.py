from django.urls import path

from . import reports, views

urlpatterns = [
    path("", views.patrol_home, name="patrol-home"),
    path("start/", views.patrol_start, name="patrol-start"),
    path("<int:patrol_id>/stop/", views.patrol_stop, name="patrol-stop"),
    path("<int:patrol_id>/notes/", views.patrol_notes, name="patrol-notes"),
    path("<int:patrol_id>/photos/", views.patrol_photo_add, name="patrol-photo-add"),
    path("<int:patrol_id>/findings/", views.patrol_finding_add, name="patrol-finding-add"),
    path("photos/<int:photo_id>/", views.patrol_photo, name="patrol-photo"),
    path("calendar/<int:user_id>/", views.patrol_calendar, name="patrol-calendar"),
    path("matters/", views.matter_board, name="matter-board"),
    path("report/", reports.problem_report, name="problem-report"),
    path("reports/", reports.problem_list, name="problem-list"),
    path("matter-photos/<int:photo_id>/", reports.matter_photo, name="matter-photo"),
]
