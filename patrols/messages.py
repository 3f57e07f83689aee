"""Notification texts of the patrols app, stored as msgids and translated when shown."""

from django.utils.translation import gettext_noop

MATTER_REMINDER = gettext_noop(
    "Reminder: the matter “%(title)s” in %(district)s is due at %(deadline)s."
)
MATTER_OVERDUE = gettext_noop(
    "The matter “%(title)s” in %(district)s passed its deadline of %(deadline)s unsettled."
)
MATTER_TOWNSHIP = gettext_noop(
    "The matter “%(title)s” of %(village)s, %(district)s, is escalated to the township; "
    "its deadline was %(deadline)s."
)
PATROL_MISSED = gettext_noop(
    "On %(day)s, %(district)s had %(count)s of the %(needed)s patrols of at least "
    "%(minutes)s minutes that it needs every day."
)
MEETING_MISSED = gettext_noop("No meeting of %(village)s was recorded for Tuesday %(date)s.")
FOLLOW_UP_ASSIGNED = gettext_noop(
    "The meeting of %(date)s gave you a follow-up, due %(due)s: %(decision)s"
)
MATTER_REPORTED_BY_VILLAGER = gettext_noop(
    "A villager reported a problem in %(district)s: “%(title)s”. It is due at %(deadline)s."
)
