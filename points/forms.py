"""Forms of the points pages: a villager's own claim, batch entry, objections."""

import uuid

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from villagers.models import Villager

from .models import Rule
from .services import REASON_MAX_LENGTH


class DateInput(forms.DateInput):
    input_type = "date"


# Form field beside which each ValidationError code of the points services is shown.
# Errors with other codes (a reused form, a switched-off item) stay above the form.
CLAIM_ERROR_FIELDS = {
    "act_date_future": "act_date",
    "rule_not_applying": "act_date",
    "not_self_claimable": "rule",
    "photo_required": "photo",
    "photo_too_large": "photo",
    "photo_invalid": "photo",
    "photo_too_many_pixels": "photo",
}


def claim_error_field(error: ValidationError, form: forms.Form) -> str | None:
    """Return the field of ``form`` that ``error`` belongs beside, or None for the whole form."""
    for item in error.error_list:
        field = CLAIM_ERROR_FIELDS.get(getattr(item, "code", None) or "")
        if field in form.fields:
            return field
    return None


def not_in_future(value):
    """Refuse an act date after today, beside the date field."""
    if value > timezone.localdate():
        raise ValidationError(
            _("The date of the act is in the future; enter the day it happened."),
            code="act_date_future",
        )
    return value


class SelfClaimForm(forms.Form):
    """A villager's claim for themself, with a photo where the rule needs one."""

    rule = forms.ModelChoiceField(label=_("What did you do?"), queryset=Rule.objects.none())
    act_date = forms.DateField(
        label=_("Date of the act"), widget=DateInput, validators=[not_in_future]
    )
    note = forms.CharField(label=_("Note"), max_length=200, required=False)
    photo = forms.ImageField(label=_("Photo"), required=False)
    # A fresh key per form: the same form sent twice records one claim.
    form_key = forms.UUIDField(widget=forms.HiddenInput, initial=uuid.uuid4)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        today = timezone.localdate()
        self.fields["rule"].queryset = (  # type: ignore[attr-defined]
            Rule.objects.filter(self_claim=True, category__is_active=True, valid_from__lte=today)
            .exclude(valid_to__lt=today)
            .select_related("category")
        )


class BatchEntryForm(forms.Form):
    """One rule for many villagers of one village on one day."""

    rule = forms.ModelChoiceField(label=_("Scoring rule"), queryset=Rule.objects.none())
    act_date = forms.DateField(
        label=_("Date of the act"), widget=DateInput, validators=[not_in_future]
    )
    note = forms.CharField(label=_("Note"), max_length=200, required=False)
    villagers = forms.ModelMultipleChoiceField(
        label=_("Villagers"),
        queryset=Villager.objects.none(),
        widget=forms.CheckboxSelectMultiple,
    )
    batch_key = forms.UUIDField(widget=forms.HiddenInput, initial=uuid.uuid4)

    def __init__(self, *args, village_id: int, villagers=None, **kwargs):
        """``villagers``, when given, narrows the choice to these villagers of the village."""
        super().__init__(*args, **kwargs)
        today = timezone.localdate()
        self.fields["rule"].queryset = (  # type: ignore[attr-defined]
            Rule.objects.filter(
                category__is_active=True, photo_required=False, valid_from__lte=today
            )
            .exclude(valid_to__lt=today)
            .select_related("category")
        )
        choices = villagers if villagers is not None else Villager.objects.all()
        self.fields["villagers"].queryset = (  # type: ignore[attr-defined]
            choices.filter(household__village_id=village_id, status=Villager.Status.ACTIVE)
            .select_related("household")
            .order_by("household__number", "id")
        )
        self.fields["villagers"].label_from_instance = (  # type: ignore[attr-defined]
            lambda villager: f"{villager.household.number} {villager.name}"
        )


class ObjectionForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for the objection"),
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
