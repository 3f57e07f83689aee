"""Staff screens for rules, claims and the ledger.

Claims and entries are written only through ``points.services``, so every
approval and reversal goes through the same checks as the rest of the app.
"""

import uuid

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from villagers.admin_scoping import (
    ActorFormMixin,
    HistoryAdmin,
    ReadOnlyAdmin,
    ServiceFormMixin,
    VillageScopedAdmin,
)

from . import services
from .models import (
    Balance,
    Category,
    Claim,
    LedgerEntry,
    Objection,
    PointsPolicy,
    ReconciliationRun,
    Rule,
    StarThreshold,
)

# Fields whose change makes a new rule version once the rule has been used.
RULE_VERSIONED_FIELDS = (
    "points",
    "cap",
    "cap_period",
    "cap_scope",
    "photo_required",
    "self_claim",
    "second_approval_above",
)


class ReasonActionForm(ActionForm):
    # No max_length here, because Django reports an invalid action form as "no
    # action selected". The services check the length and name the problem.
    reason = forms.CharField(label=_("Reason"), required=False)


@admin.register(Category)
class CategoryAdmin(HistoryAdmin):
    list_display = ("position", "name", "code", "is_active")
    list_display_links = ("name",)
    ordering = ("position",)
    search_fields = ("name",)

    def get_readonly_fields(self, request, obj=None):
        # Rules and imports refer to the code, so it is fixed once created.
        return ("code",) if obj else ()


class RuleAdminForm(ServiceFormMixin):
    new_version_from = forms.DateField(
        label=_("new version applies from"),
        required=False,
        help_text=_(
            "For a rule already used: changing its points, caps, photo or approval settings makes a new version from this day; earlier acts keep the old version."
        ),
    )

    class Meta:
        model = Rule
        fields = "__all__"

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        starts = cleaned.get("new_version_from")
        if starts and self.instance.pk and starts <= self.instance.valid_from:
            self.add_error(
                "new_version_from",
                _(
                    "The new version must apply from a day after %(date)s, when this version started."
                )
                % {"date": self.instance.valid_from.isoformat()},
            )
        if self.instance.pk and _rule_used(self.instance) and self.versioned_changes():
            if not starts:
                self.add_error(
                    "new_version_from",
                    _(
                        "This rule has been used, so the change makes a new version; enter the day it applies from."
                    ),
                )
        return cleaned

    def versioned_changes(self) -> dict:
        return {
            name: self.cleaned_data[name]
            for name in RULE_VERSIONED_FIELDS
            if name in self.changed_data and name in self.cleaned_data
        }


def _rule_used(rule: Rule) -> bool:
    return (
        Claim.objects.filter(rule=rule).exists() or LedgerEntry.objects.filter(rule=rule).exists()
    )


@admin.register(Rule)
class RuleAdmin(ActorFormMixin, HistoryAdmin):
    form = RuleAdminForm
    list_display = (
        "title",
        "category",
        "version",
        "points",
        "cap",
        "cap_period",
        "second_approval_above",
        "valid_from",
        "valid_to",
    )
    list_filter = ("category", "photo_required", "self_claim")
    search_fields = ("title",)
    list_select_related = ("category",)

    def get_readonly_fields(self, request, obj=None):
        # Entries keep the rule version they were scored under, so a used
        # rule is never edited in place: a change is saved as a new version.
        if obj is not None and _rule_used(obj):
            return ("category", "title", "valid_from", "valid_to", "previous", "version")
        return ("version",)

    def save_model(self, request, obj, form, change):
        changes = form.versioned_changes() if change else {}
        if change and changes and _rule_used(Rule.objects.get(pk=obj.pk)):
            new = services.rule_revise(
                actor=request.user,
                rule_id=obj.pk,
                valid_from=form.cleaned_data["new_version_from"],
                changes=changes,
            )
            obj.pk = new.pk
            return
        super().save_model(request, obj, form, change)


class ClaimAdminForm(ServiceFormMixin):
    # A fresh key per form: the same form posted twice creates one claim.
    form_key = forms.UUIDField(widget=forms.HiddenInput, initial=uuid.uuid4)

    class Meta:
        model = Claim
        fields = ("villager", "rule", "act_date", "note", "photo")

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
                    actor=self.acting_user,
                    villager=villager,
                    rule=rule,
                    act_date=act_date,
                    has_photo=bool(cleaned.get("photo")),
                )
            )
        return cleaned


@admin.register(Claim)
class ClaimAdmin(ActorFormMixin, VillageScopedAdmin):
    village_path = "villager__household__village"
    district_path = "villager__household__district"
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
        "channel",
        "recorded_by",
        "recorded_at",
        "first_approved_by",
        "decided_by",
        "notice_ends_at",
        "rejection_reason",
    )
    list_filter = ("status", "channel", "rule__category")
    search_fields = ("villager__name", "villager__household__number")
    list_select_related = (
        "villager__household",
        "rule",
        "recorded_by",
        "first_approved_by",
        "decided_by",
    )
    autocomplete_fields = ("villager",)
    date_hierarchy = "act_date"

    @admin.display(description=_("household"))
    def household(self, claim: Claim):
        return claim.villager.household

    @admin.display(description=_("points"))
    def points(self, claim: Claim) -> int:
        return claim.rule.points

    @admin.display(description=_("photo"))
    def photo_link(self, claim: Claim):
        if not claim.photo:
            return "—"
        return format_html(
            '<a href="{}">{}</a>', reverse("claim-photo", args=[claim.pk]), _("Open the photo")
        )

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("villager", "rule", "act_date", "note", "photo", "form_key")
        return (
            "villager",
            "rule",
            "act_date",
            "note",
            "photo_link",
            "channel",
            "status",
            "recorded_by",
            "recorded_at",
            "first_approved_by",
            "first_approved_at",
            "decided_by",
            "decided_at",
            "rejection_reason",
            "notice_starts_at",
            "notice_ends_at",
            "posted_at",
        )

    def get_readonly_fields(self, request, obj=None):
        return ("photo_link",) if obj is not None else ()

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
            photo=form.cleaned_data.get("photo") or None,
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

    @admin.action(description=_("Approve the selected claims (they go on public notice)"))
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
    district_path = "household__district"
    action_form = ReasonActionForm
    actions = ("reverse",)
    list_display = (
        "posted_at",
        "kind",
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
    list_filter = ("kind", "category", "act_date")
    search_fields = ("villager_name", "household__number", "idempotency_key")
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
    list_display = ("period_label", "account", "villager", "household", "points", "entry_count")
    list_filter = ("account", "period_kind", "period")
    search_fields = ("villager__name", "household__number")
    list_select_related = ("villager__household", "household")

    @admin.display(description=_("period"), ordering="period")
    def period_label(self, balance: Balance):
        if balance.period_kind == Balance.PeriodKind.ALL:
            return Balance.PeriodKind.ALL.label
        return balance.period


class DecisionActionForm(ActionForm):
    # The services check that a note is given and how long it is.
    note = forms.CharField(label=_("Reason for the decision"), required=False)


class OverdueFilter(admin.SimpleListFilter):
    title = _("deadline")
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return (("yes", _("Past the deadline, undecided")),)

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(status=Objection.Status.OPEN, review_deadline__lt=timezone.now())
        return queryset


@admin.register(Objection)
class ObjectionAdmin(ReadOnlyAdmin, VillageScopedAdmin):
    """The review queue: open objections, the nearest deadline first."""

    village_path = "claim__villager__household__village"
    district_path = "claim__villager__household__district"
    action_form = DecisionActionForm
    actions = ("uphold", "overturn")
    list_display = (
        "claim",
        "reason",
        "raised_by",
        "raised_at",
        "review_deadline",
        "overdue_flagged_at",
        "status",
        "decided_by",
        "decision_note",
    )
    list_filter = ("status", OverdueFilter)
    list_select_related = ("claim__villager", "claim__rule", "raised_by", "decided_by")
    search_fields = ("claim__villager__name", "reason")

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not request.user.has_perm("points.decide_objection"):
            actions.pop("uphold", None)
            actions.pop("overturn", None)
        return actions

    @admin.action(
        description=_("Uphold the selected objections: withdraw the claim (give a reason)")
    )
    def uphold(self, request, queryset):
        self._decide(request, queryset, upheld=True)

    @admin.action(
        description=_("Overturn the selected objections: the claim stands (give a reason)")
    )
    def overturn(self, request, queryset):
        self._decide(request, queryset, upheld=False)

    def _decide(self, request, queryset, *, upheld: bool) -> None:
        note = request.POST.get("note", "")
        done = 0
        for objection in queryset.select_related("claim__villager"):
            try:
                services.objection_decide(
                    actor=request.user, objection_id=objection.pk, upheld=upheld, note=note
                )
            except (PermissionDenied, ValidationError) as error:
                message = " ".join(getattr(error, "messages", [str(error)]))
                self.message_user(
                    request, f"{objection.claim.villager.name}: {message}", messages.ERROR
                )
            else:
                done += 1
        if done:
            self.message_user(
                request,
                ngettext("%(count)d objection decided.", "%(count)d objections decided.", done)
                % {"count": done},
                messages.SUCCESS,
            )


@admin.register(PointsPolicy)
class PointsPolicyAdmin(VillageScopedAdmin):
    list_display = ("village", "notice_days", "objection_review_days")

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(StarThreshold)
class StarThresholdAdmin(VillageScopedAdmin):
    list_display = ("village", "year", "stars", "min_points")
    list_filter = ("year", "stars")


@admin.register(ReconciliationRun)
class ReconciliationRunAdmin(ReadOnlyAdmin):
    """Results of the nightly balance check. Only superusers see them, because a
    run covers every village."""

    list_display = ("started_at", "balances_checked", "mismatch_count")
    readonly_fields = ("started_at", "balances_checked", "mismatch_count", "mismatches")

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser
