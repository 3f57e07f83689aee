"""The login page, and staff pages that set a villager's password or print a one-time login code."""

from typing import cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render, resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from villagers.access import can_act_in_village
from villagers.models import User, Villager

from . import services
from .forms import PasswordSetForm, PhoneLoginForm
from .models import LoginReset


class LoginView(auth_views.LoginView):
    """Log in by phone number or username.

    Villagers land on their own points, village staff on the workbench and
    township staff on the home page.
    """

    template_name = "registration/login.html"
    authentication_form = PhoneLoginForm

    def get_default_redirect_url(self):
        user = self.request.user
        if user.is_staff and user.village_id:
            return resolve_url("workbench")
        if user.is_staff:
            return resolve_url(settings.LOGIN_REDIRECT_URL)
        return resolve_url("my-entries")


class PasswordChangeView(auth_views.PasswordChangeView):
    """Change one's own password; a user who has none yet sets one without the old.

    A villager who logged in with a one-time code from the village office has
    no password, so there is no old one to ask for: the code was the proof.
    """

    def get_form_class(self):
        # PasswordChangeView requires a login, so the user is never anonymous.
        user = cast(User, self.request.user)
        if user.has_usable_password():
            return auth_forms.PasswordChangeForm
        return auth_forms.SetPasswordForm


@login_required
def villager_login(request, villager_id: int):
    """Set the villager's password (POST action=password) or print a code (action=code)."""
    villager = get_object_or_404(
        Villager.objects.select_related("household", "user"), pk=villager_id
    )
    user = request.user
    if not user.has_perm("accounts.reset_villager_login") or not can_act_in_village(
        user, villager.household.village_id
    ):
        raise Http404
    form = PasswordSetForm(request.POST if request.POST.get("action") == "password" else None)
    if request.method == "POST" and request.POST.get("action") == "code":
        code = services.login_code_issue(actor=user, villager=villager)
        return render(
            request,
            "accounts/login_code.html",
            {
                "villager": villager,
                "code": code,
                "hours": int(services.LOGIN_CODE_LIFETIME.total_seconds() // 3600),
            },
        )
    if form.is_bound and form.is_valid():
        try:
            services.villager_password_set(
                actor=user, villager=villager, password=form.cleaned_data["password"]
            )
        except ValidationError as error:
            form.add_error("password", error)
        except PermissionDenied as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("The password was set; give it to the villager in person."))
            return redirect("villager-login", villager_id=villager.pk)
    resets = LoginReset.objects.filter(user_id=villager.user_id).select_related("reset_by")[:10]
    return render(
        request,
        "accounts/villager_login.html",
        {"villager": villager, "form": form, "resets": resets if villager.user_id else []},
    )


# The large-text mode is a cookie, so it stays on for villagers who are not signed in.
LARGE_TEXT_COOKIE = "large_text"
LARGE_TEXT_MAX_AGE = 365 * 24 * 3600


@require_POST
def text_size(request):
    """Switch the large-text mode on or off, then go back to the page the button was on."""
    target = request.POST.get("next", "/")
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        target = "/"
    response = redirect(target)
    if request.POST.get("large") == "1":
        response.set_cookie(
            LARGE_TEXT_COOKIE, "1", max_age=LARGE_TEXT_MAX_AGE, samesite="Lax", httponly=True
        )
    else:
        response.delete_cookie(LARGE_TEXT_COOKIE, samesite="Lax")
    return response
