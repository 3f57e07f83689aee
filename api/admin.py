"""API tokens in the admin: list them and revoke them one by one by deleting them.

Tokens are issued with ``manage.py issue_api_token``, because the secret is
shown only once and the admin has no safe place to show it.
"""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from knox.models import AuthToken

from .models import ApiToken, IdempotencyRecord

admin.site.unregister(AuthToken)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["token_key", "user", "created", "expiry", "can_write", "note"]
    list_select_related = ["user", "api_grant"]
    search_fields = ["token_key", "user__username", "api_grant__note"]
    fields = ["token_key", "user", "created", "expiry", "can_write", "note"]
    readonly_fields = ["token_key", "user", "created", "expiry", "can_write", "note"]
    ordering = ["-created"]

    @admin.display(boolean=True, description=_("may submit claims and report matters"))
    def can_write(self, token: ApiToken) -> bool:
        grant = getattr(token, "api_grant", None)
        return grant is not None and grant.can_write

    @admin.display(description=_("note"))
    def note(self, token: ApiToken) -> str:
        grant = getattr(token, "api_grant", None)
        return grant.note if grant is not None else ""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(admin.ModelAdmin):
    list_display = ["key", "user", "status_code", "created_at"]
    list_select_related = ["user"]
    search_fields = ["key", "user__username"]
    readonly_fields = ["user", "key", "request_hash", "status_code", "response_body", "created_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
