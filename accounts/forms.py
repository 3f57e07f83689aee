from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _


class PhoneLoginForm(AuthenticationForm):
    """The login form, labelled for villagers who sign in with their phone number."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].label = _("Phone number (staff: username)")
        self.fields["username"].widget.attrs.update(
            {"autocomplete": "username", "inputmode": "text"}
        )
        self.fields["password"].label = _("Password or login code")
        self.error_messages = {
            **self.error_messages,
            "invalid_login": format_lazy(
                _(
                    "The phone number and password or code do not match. Check them and try"
                    " again; after {failures} failed tries, wait {minutes} minutes or ask the"
                    " village office for a new code."
                ),
                failures=settings.AXES_FAILURE_LIMIT,
                minutes=int(settings.AXES_COOLOFF_TIME.total_seconds() // 60),
            ),
        }


class PasswordSetForm(forms.Form):
    password = forms.CharField(
        label=_("New password"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        strip=False,
    )
