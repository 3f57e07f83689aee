"""Admin base class that shows each user only the rows of the villages they may see."""

from collections.abc import Callable
from typing import TypeVar

from django import forms
from django.contrib import admin
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from simple_history.admin import SimpleHistoryAdmin

from .access import villages_for
from .models import User

T = TypeVar("T")


class VillageScopedAdmin(SimpleHistoryAdmin):
    """Filter lists, edit pages and foreign-key choices to the user's villages.

    ``village_path`` is the lookup from the model to its village, such as
    ``"household__village"``.
    """

    village_path = "village"
    # Lookup from each foreign-key target model to its village, for form choices.
    choice_village_paths = {
        "Village": "pk",
        "District": "village",
        "Household": "village",
        "Villager": "household__village",
    }

    def history_view(self, request, object_id, extra_context=None):
        # Log-like models (exports, escalations, ledger entries) keep no
        # simple-history table; their history page is the admin's own log.
        if not hasattr(self.model._meta, "simple_history_manager_attribute"):
            return admin.ModelAdmin.history_view(self, request, object_id, extra_context)
        return super().history_view(request, object_id, extra_context)

    @property
    def object_history_template(self):  # type: ignore[override]
        if hasattr(self.model._meta, "simple_history_manager_attribute"):
            return "simple_history/object_history.html"
        return None

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(**{f"{self.village_path}__in": villages_for(request.user)})

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        path = self.choice_village_paths.get(db_field.related_model.__name__)
        if path is not None and not request.user.is_superuser:
            lookup = "pk__in" if path == "pk" else f"{path}__in"
            kwargs["queryset"] = db_field.related_model._default_manager.filter(
                **{lookup: villages_for(request.user)}
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


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
