"""Staff screens for rules, claims and the ledger.

Claims and entries are written only through ``points.services``, so every
approval and reversal goes through the same checks as the rest of the app.
"""

import uuid

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from simple_history.admin import SimpleHistoryAdmin

from villagers.admin_scoping import (
    ActorFormMixin,
    ReadOnlyAdmin,
    ServiceFormMixin,
    VillageScopedAdmin,
)

from . import services
from .models import Balance, Category, Claim, LedgerEntry, Rule


class ReasonActionForm(ActionForm):
    # No max_length here, because Django reports an invalid action form as "no
    # action selected". The services check the length and name the problem.
    reason = forms.CharField(label=_("Reason"), required=False)


@admin.register(Category)
class CategoryAdmin(SimpleHistoryAdmin):
    list_display = ("position", "name", "code", "is_active")
    list_display_links = ("name",)
    ordering = ("position",)
    search_fields = ("name",)

    def get_readonly_fields(self, request, obj=None):
        # Rules and imports refer to the code, so it is fixed once created.
        return ("code",) if obj else ()


@admin.register(Rule)
class RuleAdmin(SimpleHistoryAdmin):
    list_display = ("title", "category", "points", "cap", "cap_period", "valid_from", "valid_to")
    list_filter = ("category", "photo_required")
    search_fields = ("title",)
    list_select_related = ("category",)

    def get_readonly_fields(self, request, obj=None):
        # Entries keep the rule version they were scored under, so a used
        # rule's points never change; a change of points is a new version.
        if obj is not None and LedgerEntry.objects.filter(rule=obj).exists():
            return ("category", "title", "points", "valid_from", "previous")
        return ()


class ClaimAdminForm(ServiceFormMixin):
    # A fresh key per form: the same form posted twice creates one claim.
    form_key = forms.UUIDField(widget=forms.HiddenInput, initial=uuid.uuid4)

    class Meta:
        model = Claim
        fields = ("villager", "rule", "act_date", "note")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The villager picker redraws the posted value with a database lookup,
        # which fails on text that is not an id. Such a value counts as missing.
        villager = str(self.data.get("villager", "")) if self.is_bound else ""
        if villager and not (villager.isdigit() and len(villager) <= 18):
            data = self.data.copy()  # type: ignore[attr-defined]  # a QueryDict when bound
            data["villager"] = ""
            self.data = data

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        villager, rule, act_date = (cleaned.get(name) for name in ("villager", "rule", "act_date"))
        if villager and rule and act_date:
            self.run_service(
                lambda: services.claim_check(
                    actor=self.acting_user, villager=villager, rule=rule, act_date=act_date
                )
            )
        return cleaned


@admin.register(Claim)
class ClaimAdmin(ActorFormMixin, VillageScopedAdmin):
    village_path = "villager__household__village"
    form = ClaimAdminForm
    action_form = ReasonActionForm
    actions = ("approve", "reject")
    list_display = (
        "villager",
        "household",
        "rule",
        "points",
        "act_date",
        "status",
        "recorded_by",
        "recorded_at",
        "decided_by",
        "rejection_reason",
    )
    list_filter = ("status", "rule__category")
    search_fields = ("villager__name", "villager__household__number")
    list_select_related = ("villager__household", "rule", "recorded_by", "decided_by")
    autocomplete_fields = ("villager",)
    date_hierarchy = "act_date"

    @admin.display(description=_("household"))
    def household(self, claim: Claim):
        return claim.villager.household

    @admin.display(description=_("points"))
    def points(self, claim: Claim) -> int:
        return claim.rule.points

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("villager", "rule", "act_date", "note", "form_key")
        return (
            "villager",
            "rule",
            "act_date",
            "note",
            "status",
            "recorded_by",
            "recorded_at",
            "decided_by",
            "decided_at",
            "rejection_reason",
        )

    def has_change_permission(self, request, obj=None):
        # A recorded claim is decided, not edited: approve or reject it.
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        claim = services.claim_submit(
            actor=request.user,
            villager=form.cleaned_data["villager"],
            rule=form.cleaned_data["rule"],
            act_date=form.cleaned_data["act_date"],
            note=form.cleaned_data.get("note", ""),
            submission_key=form.cleaned_data["form_key"],
        )
        obj.pk = claim.pk
        obj._state.adding = False

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not request.user.has_perm("points.approve_claim"):
            actions.pop("approve", None)
            actions.pop("reject", None)
        return actions

    @admin.action(description=_("Approve the selected claims and post their points"))
    def approve(self, request, queryset):
        done = self._decide_each(request, queryset, services.claim_approve)
        if done:
            self.message_user(
                request,
                ngettext("%(count)d claim approved.", "%(count)d claims approved.", done)
                % {"count": done},
                messages.SUCCESS,
            )

    @admin.action(description=_("Reject the selected claims (give a reason)"))
    def reject(self, request, queryset):
        reason = request.POST.get("reason", "")
        done = self._decide_each(
            request,
            queryset,
            lambda *, actor, claim_id: services.claim_reject(
                actor=actor, claim_id=claim_id, reason=reason
            ),
        )
        if done:
            self.message_user(
                request,
                ngettext("%(count)d claim rejected.", "%(count)d claims rejected.", done)
                % {"count": done},
                messages.SUCCESS,
            )

    def _decide_each(self, request, queryset, decide) -> int:
        done = 0
        for claim in queryset.select_related("villager"):
            try:
                decide(actor=request.user, claim_id=claim.pk)
            except (PermissionDenied, ValidationError) as error:
                message = " ".join(getattr(error, "messages", [str(error)]))
                self.message_user(request, f"{claim.villager.name}: {message}", messages.ERROR)
            else:
                done += 1
        return done


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin, VillageScopedAdmin):
    action_form = ReasonActionForm
    actions = ("reverse",)
    list_display = (
        "posted_at",
        "villager_name",
        "household",
        "category_name",
        "rule_title",
        "points",
        "act_date",
        "recorded_by",
        "approved_by",
        "reverses",
    )
    list_filter = ("category", "act_date")
    search_fields = ("villager_name", "household__number")
    list_select_related = ("household", "recorded_by", "approved_by", "reverses")
    date_hierarchy = "act_date"

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not request.user.has_perm("points.reverse_entry"):
            actions.pop("reverse", None)
        return actions

    @admin.action(description=_("Reverse the selected entries (give a reason)"))
    def reverse(self, request, queryset):
        reason = request.POST.get("reason", "")
        done = 0
        for entry in queryset:
            try:
                services.entry_reverse(actor=request.user, entry_id=entry.pk, reason=reason)
            except (PermissionDenied, ValidationError) as error:
                message = " ".join(getattr(error, "messages", [str(error)]))
                self.message_user(request, f"{entry.villager_name}: {message}", messages.ERROR)
            else:
                done += 1
        if done:
            self.message_user(
                request,
                ngettext("%(count)d entry reversed.", "%(count)d entries reversed.", done)
                % {"count": done},
                messages.SUCCESS,
            )


@admin.register(Balance)
class BalanceAdmin(ReadOnlyAdmin, VillageScopedAdmin):
    list_display = ("period_label", "villager", "household", "points", "entry_count")
    list_filter = ("period_kind", "period")
    search_fields = ("villager__name", "household__number")
    list_select_related = ("villager__household", "household")

    @admin.display(description=_("period"), ordering="period")
    def period_label(self, balance: Balance):
        if balance.period_kind == Balance.PeriodKind.ALL:
            return Balance.PeriodKind.ALL.label
        return balance.period
