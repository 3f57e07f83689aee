"""Forms of the phone pages. Forms that create rows carry a one-time key, so a double tap submits once."""

import uuid

from django import forms
from django.utils.translation import gettext_lazy as _

from points.models import Category

from .models import Matter


class PhoneForm(forms.Form):
    """A form whose labels end without a colon, because several labels are questions."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class StartForm(forms.Form):
    district = forms.IntegerField(widget=forms.HiddenInput)
    start_key = forms.UUIDField(widget=forms.HiddenInput, initial=uuid.uuid4)


class NotesForm(PhoneForm):
    notes = forms.CharField(
        label=_("Notes"), required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 3})
    )


class StopForm(PhoneForm):
    ended_at = forms.DateTimeField(
        label=_("Ended at"),
        required=False,
        help_text=_("Leave empty to stop the patrol now."),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )


class PhotoForm(PhoneForm):
    photo = forms.FileField(
        label=_("Photo"),
        widget=forms.ClearableFileInput(attrs={"accept": "image/*", "capture": "environment"}),
    )
    form_key = forms.UUIDField(widget=forms.HiddenInput, initial=uuid.uuid4)


class FindingForm(PhoneForm):
    severity = forms.ChoiceField(label=_("Severity"), choices=Matter.Severity.choices)
    title = forms.CharField(label=_("What did you find?"), max_length=200)
    description = forms.CharField(
        label=_("Details"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    form_key = forms.UUIDField(widget=forms.HiddenInput, initial=uuid.uuid4)


class BoardFilterForm(forms.Form):
    district = forms.TypedChoiceField(
        label=_("District"), required=False, coerce=int, empty_value=None
    )
    severity = forms.ChoiceField(
        label=_("Severity"),
        required=False,
        choices=[("", _("All"))] + list(Matter.Severity.choices),
    )
    month = forms.DateField(
        label=_("Month"),
        required=False,
        input_formats=["%Y-%m"],
        widget=forms.DateInput(attrs={"type": "month"}, format="%Y-%m"),
    )

    def __init__(self, *args, districts, **kwargs):
        super().__init__(*args, **kwargs)
        district_field: forms.TypedChoiceField = self.fields["district"]  # type: ignore[assignment]
        district_field.choices = [("", _("All"))] + [
            (district.pk, f"{district.village.name} {district.name}") for district in districts
        ]


class ProblemReportForm(PhoneForm):
    """随手拍: a villager's report of a problem, with a photo."""

    category = forms.ModelChoiceField(
        label=_("What kind of problem?"),
        queryset=Category.objects.filter(is_active=True),
        required=False,
        empty_label=_("Other"),
    )
    description = forms.CharField(
        label=_("What is wrong?"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("A sentence or two is enough."),
    )
    place = forms.CharField(
        label=_("Where? (optional)"),
        max_length=100,
        required=False,
        help_text=_("For example the road, the house number or a landmark nearby."),
    )
    photo = forms.FileField(
        label=_("Photo"),
        widget=forms.ClearableFileInput(attrs={"accept": "image/*", "capture": "environment"}),
    )
    form_key = forms.UUIDField(widget=forms.HiddenInput, initial=uuid.uuid4)
