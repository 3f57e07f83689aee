from django.contrib.auth import views as auth_views
from django.urls import path

from . import views
from .forms import PhoneLoginForm

urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="registration/login.html", authentication_form=PhoneLoginForm
        ),
        name="login",
    ),
    path("text-size/", views.text_size, name="text-size"),
    path("villagers/<int:villager_id>/login/", views.villager_login, name="villager-login"),
]
