from django.contrib import admin
from django.urls import include, path
from django.views.i18n import set_language

# Uploaded files have no public URL, not even with DEBUG on. Photos are sent by
# views that check the user's permissions (claim-photo, patrol-photo, matter-photo).
urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/setlang/", set_language, name="set_language"),
    path("", include("points.urls")),
    path("accounts/", include("accounts.urls")),
    path("accounts/", include("villagers.urls")),
    path("health/", include("nengliangbang.health")),
    path("patrols/", include("patrols.urls")),
    path("notifications/", include("notifications.urls")),
    path("api/", include("api.urls")),
]
