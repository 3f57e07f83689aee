"""Django's own password messages, listed so that the project's catalog translates them.

Django 5.2's Chinese catalog has no translation of the password length
message, and it addresses the user as 你 where this site uses 您. makemessages
extracts these msgids from here, and Django reads the project's catalog
before its own, so the site's translations win. Nothing imports this module.
"""

from django.utils.translation import gettext_noop, ngettext_lazy

PASSWORD_TOO_SHORT = ngettext_lazy(
    "This password is too short. It must contain at least %d character.",
    "This password is too short. It must contain at least %d characters.",
    "min_length",
)
PASSWORD_LENGTH_HELP = ngettext_lazy(
    "Your password must contain at least %(min_length)d character.",
    "Your password must contain at least %(min_length)d characters.",
    "min_length",
)
MESSAGES = [
    gettext_noop("Your password can’t be too similar to your other personal information."),
    gettext_noop("Your password can’t be a commonly used password."),
    gettext_noop("Your password can’t be entirely numeric."),
    gettext_noop("The two password fields didn’t match."),
    gettext_noop("Your old password was entered incorrectly. Please enter it again."),
]
