from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("villages/<int:village_id>/rankings/", views.rankings, name="rankings"),
    path("me/", views.my_entries, name="my-entries"),
    path("villagers/<int:villager_id>/entries/", views.villager_entries, name="villager-entries"),
]
