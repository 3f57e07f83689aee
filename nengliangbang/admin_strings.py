"""Admin strings that Django 5.2 ships without a Chinese translation.

makemessages collects these msgids into this project's catalog, which Django
reads before its own, so the admin's screen-reader headings are translated.
NOTE: remove an entry once Django's own zh_Hans catalog translates it.
"""

from django.utils.translation import gettext_noop

UNTRANSLATED_ADMIN_STRINGS = [
    gettext_noop("Model name"),
    gettext_noop("Add link"),
    gettext_noop("Change or view list link"),
]
