"""Admin base class that shows each user only the rows of the villages they may see."""

from collections.abc import Callable
from typing import TypeVar

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.http import Http404
from simple_history.admin import SimpleHistoryAdmin

from .access import scope_to_districts, villages_for
from .models import User

T = TypeVar("T")


class HistoryAdmin(SimpleHistoryAdmin):
    """simple-history's admin with its history pages made read-only.

    simple-history saves a posted old version for any user who may view the
    row, past the services that validate and record each change. So a posted
    revert is rejected, and changes go through the change form.
    """

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method == "POST":
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)


class VillageScopedAdmin(HistoryAdmin):
    """Filter lists, edit pages, history and foreign-key choices to the user's villages.

    ``village_path`` is the lookup from the model to its village, such as
    ``"household__village"``. ``district_path``, where set, leads to the
    row's district, and users who do not see every district (district
    secretaries) get only the rows of their own districts.
    """

    village_path = "village"
    district_path: str | None = None
    # Lookups from each foreign-key target model to its village and, for
    # models that belong to a district, to its district. They filter the
    # choices of the admin's forms.
    choice_village_paths = {
        "Township": "villages",
        "Village": "pk",
        "District": "village",
        "Household": "village",
        "Villager": "household__village",
        "User": "village",
        "Matter": "village",
        "Meeting": "village",
        "Claim": "villager__household__village",
        "LedgerEntry": "village",
    }
    choice_district_paths = {
        "District": "pk",
        "Household": "district",
        "Villager": "household__district",
        "Matter": "district",
        "Claim": "villager__household__district",
        "LedgerEntry": "household__district",
    }

    @property
    def object_history_template(self):  # type: ignore[override]
        # Models without simple-history show the admin's own log template.
        if _has_simple_history(self.model):
            return "simple_history/object_history.html"
        return None

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        queryset = queryset.filter(**{f"{self.village_path}__in": villages_for(request.user)})
        if self.district_path is not None:
            queryset = scope_to_districts(queryset, request.user, self.district_path)
        return queryset

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        choices = scoped_choices(db_field.related_model, request.user)
        if choices is not None:
            kwargs["queryset"] = choices
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def history_view(self, request, object_id, extra_context=None):
        self._check_in_scope(request, object_id)
        if not _has_simple_history(self.model):
            # Rows written only by services keep no simple-history table; the
            # admin's own log of changes is all there is to show.
            return admin.ModelAdmin.history_view(self, request, object_id, extra_context)
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        # simple-history reads the historical row without the admin's
        # queryset, so a row of another village would open.
        self._check_in_scope(request, object_id)
        if not _has_simple_history(self.model):
            raise Http404
        return super().history_form_view(request, object_id, version_id, extra_context)

    def _check_in_scope(self, request, object_id) -> None:
        if self.get_object(request, unquote(object_id)) is None:
            raise Http404


def _has_simple_history(model) -> bool:
    return hasattr(model._meta, "simple_history_manager_attribute")


def scoped_choices(model, user: User):
    """Return the rows of ``model`` that ``user`` may pick in a form, or None to leave it alone."""
    if user.is_superuser:
        return None
    name = model.__name__
    path = VillageScopedAdmin.choice_village_paths.get(name)
    if path is None:
        return None
    lookup = "pk__in" if path == "pk" else f"{path}__in"
    choices = model._default_manager.filter(**{lookup: villages_for(user)}).distinct()
    district_path = VillageScopedAdmin.choice_district_paths.get(name)
    if district_path is not None:
        choices = scope_to_districts(choices, user, district_path)
    return choices


class ActorFormMixin(admin.ModelAdmin):
    """Give the admin's form class the requesting user as ``actor``.

    The forms run services in ``clean()``, and services take the acting user.
    """

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        return type(form.__name__, (form,), {"actor": request.user})


class ServiceSavedAdmin(ActorFormMixin):
    """An admin whose form's service already saved the object during validation."""

    def save_model(self, request, obj, form, change):
        obj.pk = form.instance.pk

    def save_related(self, request, form, formsets, change):
        pass


class ServiceFormMixin(forms.ModelForm):
    """For model forms whose ``clean()`` calls a service that validates and saves.

    ``run_service`` turns the service's refusals into form errors, so they show
    beside the form instead of as server errors. Once the service has reported
    errors, the model's own constraint checks would repeat them, so those run
    only on an otherwise valid form.
    """

    actor: User | None = None  # set per request by ActorFormMixin.get_form

    @property
    def acting_user(self) -> User:
        if self.actor is None:
            raise ImproperlyConfigured(f"{type(self).__name__} needs an admin with ActorFormMixin.")
        return self.actor

    def run_service(self, call: Callable[[], T]) -> T:
        try:
            return call()
        except PermissionDenied as error:
            raise ValidationError(str(error)) from None

    def validate_unique(self):
        if not self.errors:
            super().validate_unique()


class ReadOnlyAdmin(admin.ModelAdmin):
    """An admin whose rows are only viewed: records written by services."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
