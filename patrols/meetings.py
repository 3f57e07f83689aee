"""Tuesday meetings (片区书记123, rule 2): agenda, follow-ups and the weekly check."""

import logging
from datetime import date, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from notifications.services import notification_send
from villagers.access import can_act_in_village
from villagers.history import set_history_user
from villagers.models import User, Village

from . import messages
from .models import AgendaItem, FollowUp, Matter, Meeting, MissedMeeting

logger = logging.getLogger(__name__)

TUESDAY = 1  # date.weekday() of a Tuesday


def _check_runs_meetings(actor: User, village_id: int) -> None:
    if not actor.has_perm("patrols.add_meeting") or not can_act_in_village(actor, village_id):
        raise PermissionDenied(_("Only the village office may record meetings of this village."))


@transaction.atomic
def meeting_create(
    *,
    actor: User,
    village: Village,
    date: date,
    attendees: list[User],
    minutes: str = "",
) -> Meeting:
    """Record a meeting, its agenda built from every open matter of the village's districts."""
    _check_runs_meetings(actor, village.pk)
    if date > timezone.localdate():
        raise ValidationError(_("A meeting cannot be recorded before the day it is held."))
    strangers = [user for user in attendees if user.village_id != village.pk]
    if strangers:
        raise ValidationError(
            _("%(name)s is not staff of this village; remove them from the attendees.")
            % {"name": strangers[0].get_username()}
        )
    if Meeting.objects.filter(village=village, date=date).exists():
        raise ValidationError(_("A meeting on %(date)s is already recorded.") % {"date": date})

    now = timezone.now()
    meeting = Meeting(village=village, date=date, minutes=minutes, created_by=actor, created_at=now)
    set_history_user(meeting, actor)
    meeting.save()
    meeting.attendees.set(attendees)

    open_matters = Matter.objects.filter(village=village, status__in=Matter.OPEN_STATUSES)
    AgendaItem.objects.bulk_create(
        AgendaItem(
            meeting=meeting,
            matter=matter,
            district_name=matter.district.name,
            matter_title=matter.title,
            was_overdue=matter.overdue_at is not None or matter.deadline <= now,
        )
        for matter in open_matters.select_related("district").order_by("district_id", "deadline")
    )
    logger.info("meeting %s recorded for village %s by user %s", meeting.pk, village.pk, actor.pk)
    return meeting


@transaction.atomic
def follow_up_add(
    *,
    actor: User,
    meeting: Meeting,
    decision: str,
    owner: User,
    due_date: date,
    matter: Matter | None = None,
) -> FollowUp:
    """Record a decision of the meeting as a follow-up owned by ``owner``, and tell them."""
    _check_runs_meetings(actor, meeting.village_id)
    if not decision.strip():
        raise ValidationError(_("Write down the decision."))
    if owner.village_id != meeting.village_id:
        raise ValidationError(_("The owner must be staff of the meeting's village."))
    if due_date < meeting.date:
        raise ValidationError(_("The due date must not be before the meeting."))
    if matter is not None and matter.village_id != meeting.village_id:
        raise ValidationError(_("The matter must belong to the meeting's village."))
    follow_up = FollowUp(
        meeting=meeting, matter=matter, decision=decision.strip(), owner=owner, due_date=due_date
    )
    set_history_user(follow_up, actor)
    follow_up.save()
    notification_send(
        recipient=owner,
        event_key=f"follow-up:{follow_up.pk}:assigned",
        msgid=messages.FOLLOW_UP_ASSIGNED,
        params={
            "date": meeting.date.isoformat(),
            "due": due_date.isoformat(),
            "decision": follow_up.decision,
        },
    )
    return follow_up


@transaction.atomic
def follow_up_done(*, actor: User, follow_up_id: int) -> FollowUp:
    """Mark a follow-up done: its owner or the village office may."""
    follow_up = FollowUp.objects.select_for_update().select_related("meeting").get(pk=follow_up_id)
    if follow_up.owner_id != actor.pk:
        _check_runs_meetings(actor, follow_up.meeting.village_id)
    if follow_up.status == FollowUp.Status.DONE:
        return follow_up
    follow_up.status = FollowUp.Status.DONE
    follow_up.done_at = timezone.now()
    set_history_user(follow_up, actor)
    follow_up.save()
    logger.info("follow-up %s done by user %s", follow_up.pk, actor.pk)
    return follow_up


def last_tuesday(today: date) -> date:
    """Return the latest Tuesday that has fully passed before ``today``."""
    days_back = (today.weekday() - TUESDAY) % 7 or 7
    return today - timedelta(days=days_back)


def meetings_check_last_tuesday(*, today: date) -> list[int]:
    """Flag each village with no meeting on the last Tuesday; return the new flags' ids.

    Beat runs this every morning, so a missed run is caught up the next day,
    and the unique constraint on (village, date) flags each Tuesday once.
    """
    tuesday = last_tuesday(today)
    villages = (
        Village.objects.exclude(meetings__date=tuesday)
        .exclude(missed_meetings__date=tuesday)
        .select_related("secretary")
    )
    flagged = []
    for village in villages:
        missed = meeting_flag_missed(village=village, tuesday=tuesday)
        if missed is not None:
            flagged.append(missed.pk)
    return flagged


def meeting_flag_missed(*, village: Village, tuesday: date) -> MissedMeeting | None:
    """Record that ``village`` held no meeting on ``tuesday`` and tell its secretary, once."""
    try:
        with transaction.atomic():
            missed = MissedMeeting.objects.create(
                village=village, date=tuesday, flagged_at=timezone.now()
            )
            if village.secretary is not None:
                notification_send(
                    recipient=village.secretary,
                    event_key=f"meeting-missed:{village.pk}:{tuesday.isoformat()}",
                    msgid=messages.MEETING_MISSED,
                    params={"village": village.name, "date": tuesday.isoformat()},
                )
    except IntegrityError:
        return None
    logger.info("village %s flagged: no meeting on %s", village.pk, tuesday)
    return missed
