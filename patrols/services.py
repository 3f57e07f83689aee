"""Patrols, matters and the 三不出 deadline check."""

import logging
import uuid
from datetime import datetime, timedelta
from typing import IO

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from nengliangbang.uploads import photo_clean
from notifications.services import notification_send
from villagers import roles
from villagers.access import can_act_in_village
from villagers.history import set_history_user
from villagers.models import District, User, Village, Villager

from . import messages
from .models import Escalation, Matter, MatterPhoto, Patrol, PatrolPhoto, PatrolPolicy

logger = logging.getLogger(__name__)

# A patrol is a walk of an hour or two. Longer or older records are typing
# mistakes (a wrong day or year), not patrols.
PATROL_MAX_DURATION = timedelta(hours=12)
PATROL_MAX_AGE = timedelta(days=31)


def matter_limit(village: Village, severity: str) -> timedelta:
    """Return the village's time limit for a matter of this severity."""
    limits: dict[str, timedelta] = {
        Matter.Severity.SMALL: village.small_matter_limit,
        Matter.Severity.MEDIUM: village.medium_matter_limit,
        Matter.Severity.BIG: village.big_matter_limit,
    }
    return limits[severity]


@transaction.atomic
def patrol_log(
    *, actor: User, district: District, started_at: datetime, ended_at: datetime, notes: str = ""
) -> Patrol:
    """Record a finished patrol of ``actor``'s district."""
    _check_is_secretary(actor=actor, district=district)
    if ended_at <= started_at:
        raise ValidationError(_("A patrol must end after it starts."))
    now = timezone.now()
    if ended_at > now:
        raise ValidationError(_("A patrol cannot end in the future."))
    if ended_at - started_at > PATROL_MAX_DURATION:
        raise ValidationError(
            _("A patrol can last at most %(hours)s hours; check the start and end times.")
            % {"hours": int(PATROL_MAX_DURATION.total_seconds() // 3600)}
        )
    if started_at < now - PATROL_MAX_AGE:
        raise ValidationError(
            _("Patrols more than %(days)s days old cannot be logged; ask the village office.")
            % {"days": PATROL_MAX_AGE.days}
        )
    # Lock the secretary's row so two requests cannot both pass the overlap check.
    User.objects.select_for_update().filter(pk=actor.pk).first()
    # A running patrol has no end yet, so it overlaps everything after its start.
    overlapping = Patrol.objects.filter(
        Q(ended_at__gt=started_at) | Q(ended_at__isnull=True),
        secretary=actor,
        started_at__lt=ended_at,
    ).exists()
    if overlapping:
        raise ValidationError(_("This patrol overlaps another patrol of yours; check the times."))

    patrol = Patrol(
        district=district, secretary=actor, started_at=started_at, ended_at=ended_at, notes=notes
    )
    set_history_user(patrol, actor)
    patrol.save()
    logger.info("patrol %s logged for district %s by user %s", patrol.pk, district.pk, actor.pk)
    return patrol


def matter_report(
    *,
    actor: User,
    district: District,
    severity: str,
    title: str,
    description: str = "",
    category=None,
    patrol: Patrol | None = None,
    form_key: uuid.UUID | None = None,
) -> Matter:
    """Open a matter whose deadline follows the village's 三不出 limit for its severity.

    A ``form_key`` already used by this reporter returns the matter it created,
    so a form sent twice reports once.
    """
    if form_key is not None:
        earlier = Matter.objects.filter(form_key=form_key, reported_by=actor).first()
        if earlier is not None:
            return earlier
    if not actor.has_perm("patrols.add_matter") or not can_act_in_village(
        actor, district.village_id
    ):
        raise PermissionDenied(_("You may not report matters in this village."))
    _check_handles_district(actor=actor, district=district)
    if severity not in Matter.Severity.values:
        raise ValidationError(_("Choose a severity: small, medium or big."))
    if not title.strip():
        raise ValidationError(_("Give the matter a title."))

    now = timezone.now()
    village = district.village
    limit = matter_limit(village, severity)
    deadline = now + limit
    matter = Matter(
        village=village,
        district=district,
        category=category,
        patrol=patrol,
        title=title.strip(),
        description=description,
        severity=severity,
        reported_by=actor,
        reported_at=now,
        time_limit=limit,
        deadline=deadline,
        remind_at=deadline - reminder_lead(PatrolPolicy.for_village(village), limit),
        township_due_at=deadline if severity == Matter.Severity.BIG else deadline + limit,
        assignee=district.secretary,
        form_key=form_key,
    )
    set_history_user(matter, actor)
    # The checks above only read, so the matter and its history row need a
    # transaction but no savepoint inside a caller's transaction.
    with transaction.atomic(savepoint=False):
        matter.save()
    logger.info(
        "matter %s reported in district %s, deadline %s", matter.pk, district.pk, matter.deadline
    )
    return matter


# Problems one villager may report in any 24 hours, so a stuck phone or a prank
# cannot flood the district secretary.
VILLAGER_REPORTS_PER_DAY = 10
# Villagers do not judge severity: a report starts as a small matter (the
# shortest limit), and staff change the severity on the board if needed.
VILLAGER_REPORT_SEVERITY = Matter.Severity.SMALL
VILLAGER_REPORT_TITLE_LENGTH = 40


@transaction.atomic
def matter_report_by_villager(
    *,
    actor: User,
    category,
    description: str,
    place: str = "",
    photo: IO[bytes],
    form_key: uuid.UUID,
) -> Matter:
    """Open a matter in the district of the villager's household, with a photo.

    The district secretary is assigned and notified, or the village secretary
    is notified when the district has none. A ``form_key`` already used by this
    villager returns the matter it created, so a double tap reports once.
    """
    villager = _reporting_villager(actor)
    earlier = Matter.objects.filter(form_key=form_key, reported_by=actor).first()
    if earlier is not None:
        return earlier
    _check_report_quota(actor)
    description = description.strip()
    if not description:
        raise ValidationError(_("Describe the problem in a few words."))
    if category is not None and not category.is_active:
        raise ValidationError(_("This kind of problem is no longer offered. Choose another."))
    cleaned = photo_clean(photo)

    district = villager.household.district
    matter = _villager_matter(actor, district, category, description, place.strip(), form_key)
    matter_photo = MatterPhoto(matter=matter, uploaded_at=matter.reported_at)
    matter_photo.image.save(cleaned.name or "photo.jpg", cleaned, save=False)
    matter_photo.save()
    _notify_villager_report(matter)
    logger.info(
        "matter %s reported by villager %s in district %s", matter.pk, villager.pk, district.pk
    )
    return matter


def _reporting_villager(actor: User) -> Villager:
    """Return the active villager linked to ``actor``, locked, or raise PermissionDenied."""
    if not actor.has_perm("patrols.report_own_matter"):
        raise PermissionDenied(_("Only villagers with a login may report problems here."))
    villager = (
        Villager.objects.select_for_update(of=("self",))
        .select_related("household__district__village")
        .filter(user=actor)
        .first()
    )
    if villager is None:
        raise PermissionDenied(
            _("Your login is not linked to a villager record. Ask the village office.")
        )
    if villager.status != Villager.Status.ACTIVE:
        raise PermissionDenied(
            _("You have moved out of the village, so you cannot report problems here.")
        )
    if actor.village_id is not None and actor.village_id != villager.household.village_id:
        raise PermissionDenied(_("Your login belongs to another village. Ask the village office."))
    return villager


def _check_report_quota(actor: User) -> None:
    since = timezone.now() - timedelta(days=1)
    recent = Matter.objects.filter(reported_by=actor, reported_at__gte=since).count()
    if recent >= VILLAGER_REPORTS_PER_DAY:
        raise ValidationError(
            _(
                "You have reported %(count)s problems in the last 24 hours, the daily limit. "
                "Try again tomorrow, or call the village office if it is urgent."
            )
            % {"count": recent}
        )


def _villager_matter(actor, district, category, description, place, form_key) -> Matter:
    village = district.village
    severity = VILLAGER_REPORT_SEVERITY
    limit = matter_limit(village, severity)
    now = timezone.now()
    deadline = now + limit
    title = description.splitlines()[0][:VILLAGER_REPORT_TITLE_LENGTH]
    matter = Matter(
        village=village,
        district=district,
        category=category,
        title=title,
        description=description,
        place=place,
        severity=severity,
        reported_by=actor,
        reported_at=now,
        time_limit=limit,
        deadline=deadline,
        remind_at=deadline - reminder_lead(PatrolPolicy.for_village(village), limit),
        township_due_at=deadline + limit,
        assignee=district.secretary,
        form_key=form_key,
    )
    set_history_user(matter, actor)
    matter.save()
    return matter


def _notify_villager_report(matter: Matter) -> None:
    recipient = matter.district.secretary or matter.village.secretary
    if recipient is None:
        logger.warning(
            "matter %s reported by a villager: no district or village secretary to notify",
            matter.pk,
        )
        return
    notification_send(
        recipient=recipient,
        event_key=f"matter:{matter.pk}:reported",
        msgid=messages.MATTER_REPORTED_BY_VILLAGER,
        params=_matter_params(matter),
    )


def reminder_lead(policy: PatrolPolicy, limit: timedelta) -> timedelta:
    """Return how long before the deadline to remind: the policy's lead, at most half the limit."""
    return min(policy.reminder_lead, limit / 2)


# The moves a matter may make, from each status. Moving a settled matter back
# to "in progress" reopens it.
_NEXT_STATUSES: dict[str, set[str]] = {
    Matter.Status.REPORTED: {
        Matter.Status.ACCEPTED,
        Matter.Status.IN_PROGRESS,
        Matter.Status.WAITING,
        Matter.Status.RESOLVED,
    },
    Matter.Status.ACCEPTED: {
        Matter.Status.IN_PROGRESS,
        Matter.Status.WAITING,
        Matter.Status.RESOLVED,
    },
    Matter.Status.IN_PROGRESS: {Matter.Status.WAITING, Matter.Status.RESOLVED},
    Matter.Status.WAITING: {Matter.Status.IN_PROGRESS, Matter.Status.RESOLVED},
    Matter.Status.RESOLVED: {Matter.Status.VERIFIED, Matter.Status.IN_PROGRESS},
    Matter.Status.VERIFIED: {Matter.Status.IN_PROGRESS},
}


@transaction.atomic
def matter_move(*, actor: User, matter_id: int, status: str, resolution: str = "") -> Matter:
    """Move a matter to its next status. Resolving it needs a resolution."""
    matter = Matter.objects.select_for_update().select_related("district").get(pk=matter_id)
    if not actor.has_perm("patrols.change_matter") or not can_act_in_village(
        actor, matter.village_id
    ):
        raise PermissionDenied(_("You may not change matters in this village."))
    _check_handles_district(actor=actor, district=matter.district)
    if matter.status in Matter.CLOSED_STATUSES and not actor.has_perm("patrols.verify_matter"):
        raise PermissionDenied(
            _("A settled matter is verified or reopened by the village party secretary.")
        )
    if status not in _NEXT_STATUSES[matter.status]:
        # An unknown status is named as sent, because it has no label.
        next_label = Matter.Status(status).label if status in Matter.Status.values else status
        raise ValidationError(
            _("A matter that is “%(current)s” cannot be moved to “%(next)s”.")
            % {"current": matter.get_status_display(), "next": next_label}
        )
    now = timezone.now()
    if status == Matter.Status.RESOLVED:
        if not resolution.strip():
            raise ValidationError(_("Describe how the matter was settled."))
        matter.resolution = resolution.strip()
        matter.resolved_at = now
    if status == Matter.Status.IN_PROGRESS and matter.status in Matter.CLOSED_STATUSES:
        matter.resolved_at = None
    if status == Matter.Status.WAITING:
        matter.paused_at = now
    if matter.status == Matter.Status.WAITING:
        _matter_resume_clock(matter, now=now)

    matter.status = status
    set_history_user(matter, actor)
    matter.save()
    logger.info("matter %s moved to %s by user %s", matter.pk, status, actor.pk)
    return matter


def _matter_resume_clock(matter: Matter, *, now: datetime) -> None:
    """Restart a paused matter's clock, moving each of its due times by the pause."""
    assert matter.paused_at is not None
    paused = now - matter.paused_at
    matter.paused_seconds += round(paused.total_seconds())
    matter.deadline += paused
    matter.remind_at += paused
    matter.township_due_at += paused
    matter.paused_at = None


def matters_sweep_overdue(*, now: datetime, limit: int | None = None) -> list[int]:
    """Mark open matters past their deadline overdue and escalate each once.

    Reads state from the database, so a missed run catches up on the next one,
    and a repeated or concurrent run changes nothing more. Returns the ids of
    the matters this run escalated.
    """
    limit = limit or settings.MATTER_SWEEP_BATCH
    candidates = list(
        Matter.objects.filter(
            status__in=Matter.RUNNING_STATUSES, overdue_at__isnull=True, deadline__lte=now
        )
        .order_by("deadline")
        .values_list("id", flat=True)[:limit]
    )
    escalated = [
        matter_id
        for matter_id in candidates
        if matter_escalate_overdue(matter_id=matter_id, now=now)
    ]
    if candidates:
        logger.info(
            "deadline sweep escalated %s of %s overdue matters", len(escalated), len(candidates)
        )
    return escalated


def matter_escalate_overdue(*, matter_id: int, now: datetime) -> bool:
    """Claim one overdue matter and escalate it to the village secretary.

    The conditional UPDATE claims the row: only the run that changes it goes
    on, and the unique constraint on (matter, level) backs that up.
    """
    with transaction.atomic():
        claimed = Matter.objects.filter(
            pk=matter_id,
            status__in=Matter.RUNNING_STATUSES,
            overdue_at__isnull=True,
            deadline__lte=now,
        ).update(overdue_at=now)
        if claimed != 1:
            return False
        matter = Matter.objects.select_related("village", "district").get(pk=matter_id)
        # Saved again (same value) so that simple-history records the change,
        # which the conditional UPDATE above does not.
        matter.save(update_fields=["overdue_at"])
        try:
            with transaction.atomic():
                Escalation.objects.create(
                    matter=matter,
                    level=Escalation.Level.VILLAGE,
                    escalated_at=now,
                    notified=matter.village.secretary,
                    matter_title=matter.title,
                )
        except IntegrityError:
            logger.warning("matter %s already escalated to the village", matter_id)
            return False
        if matter.village.secretary is not None:
            notification_send(
                recipient=matter.village.secretary,
                event_key=f"matter:{matter.pk}:village",
                msgid=messages.MATTER_OVERDUE,
                params=_matter_params(matter),
            )
    logger.info("matter %s overdue, escalated to the village secretary", matter_id)
    return True


def matters_sweep_reminders(*, now: datetime, limit: int | None = None) -> list[int]:
    """Remind the assignee of each running matter whose reminder time has come, once."""
    limit = limit or settings.MATTER_SWEEP_BATCH
    candidates = list(
        Matter.objects.filter(
            status__in=Matter.RUNNING_STATUSES, reminded_at__isnull=True, remind_at__lte=now
        )
        .order_by("remind_at")
        .values_list("id", flat=True)[:limit]
    )
    return [matter_id for matter_id in candidates if matter_remind(matter_id=matter_id, now=now)]


@transaction.atomic
def matter_remind(*, matter_id: int, now: datetime) -> bool:
    """Claim one matter's reminder and notify its assignee; return whether this run sent it.

    A matter already past its deadline when the sweep reaches it (after the
    sweep was down) is marked reminded without a message, because its
    escalation notice reports the missed deadline instead.
    """
    claimed = Matter.objects.filter(
        pk=matter_id,
        status__in=Matter.RUNNING_STATUSES,
        reminded_at__isnull=True,
        remind_at__lte=now,
    ).update(reminded_at=now)
    if claimed != 1:
        return False
    matter = Matter.objects.select_related("district", "village", "assignee").get(pk=matter_id)
    # Saved again so that simple-history records the claim.
    matter.save(update_fields=["reminded_at"])
    if matter.deadline <= now or matter.assignee is None:
        return False
    notification_send(
        recipient=matter.assignee,
        event_key=f"matter:{matter.pk}:reminder",
        msgid=messages.MATTER_REMINDER,
        params=_matter_params(matter),
    )
    logger.info("matter %s reminder sent to user %s", matter_id, matter.assignee_id)
    return True


def matters_sweep_township(*, now: datetime, limit: int | None = None) -> list[int]:
    """Escalate to the township each running matter past its township time, once."""
    limit = limit or settings.MATTER_SWEEP_BATCH
    candidates = list(
        Matter.objects.filter(
            status__in=Matter.RUNNING_STATUSES,
            township_escalated_at__isnull=True,
            township_due_at__lte=now,
        )
        .order_by("township_due_at")
        .values_list("id", flat=True)[:limit]
    )
    return [
        matter_id
        for matter_id in candidates
        if matter_escalate_township(matter_id=matter_id, now=now)
    ]


def matter_escalate_township(*, matter_id: int, now: datetime) -> bool:
    """Claim one matter due at the township and notify the township's viewers.

    A big matter goes up at its deadline; any other matter once it is overdue
    by its own time limit again.
    """
    with transaction.atomic():
        claimed = Matter.objects.filter(
            pk=matter_id,
            status__in=Matter.RUNNING_STATUSES,
            township_escalated_at__isnull=True,
            township_due_at__lte=now,
        ).update(township_escalated_at=now)
        if claimed != 1:
            return False
        matter = Matter.objects.select_related("village", "district").get(pk=matter_id)
        matter.save(update_fields=["township_escalated_at"])
        try:
            with transaction.atomic():
                Escalation.objects.create(
                    matter=matter,
                    level=Escalation.Level.TOWNSHIP,
                    escalated_at=now,
                    matter_title=matter.title,
                )
        except IntegrityError:
            logger.warning("matter %s already escalated to the township", matter_id)
            return False
        viewers = User.objects.filter(
            township_id=matter.village.township_id,
            is_active=True,
            groups__name=roles.TOWNSHIP_VIEWER,
        )
        for viewer in viewers:
            notification_send(
                recipient=viewer,
                event_key=f"matter:{matter.pk}:township",
                msgid=messages.MATTER_TOWNSHIP,
                params=_matter_params(matter),
            )
    logger.info("matter %s escalated to the township", matter_id)
    return True


def _matter_params(matter: Matter) -> dict[str, str]:
    deadline = timezone.localtime(matter.deadline)
    return {
        "title": matter.title,
        "district": matter.district.name,
        "village": matter.village.name,
        "deadline": f"{deadline:%Y-%m-%d %H:%M}",
    }


@transaction.atomic
def patrol_start(*, actor: User, district: District, start_key: uuid.UUID) -> Patrol:
    """Start a patrol of ``actor``'s district now; the same ``start_key`` starts it once."""
    _check_is_secretary(actor=actor, district=district)
    # Lock the secretary's row so two taps cannot both pass the checks below.
    User.objects.select_for_update().filter(pk=actor.pk).first()
    earlier = Patrol.objects.filter(start_key=start_key, secretary=actor).first()
    if earlier is not None:
        return earlier
    if Patrol.objects.filter(secretary=actor, ended_at__isnull=True).exists():
        raise ValidationError(_("You already have a patrol running; stop it first."))
    now = timezone.now()
    if Patrol.objects.filter(secretary=actor, ended_at__gt=now).exists():
        raise ValidationError(_("This patrol overlaps another patrol of yours; check the times."))
    patrol = Patrol(district=district, secretary=actor, started_at=now, start_key=start_key)
    set_history_user(patrol, actor)
    patrol.save()
    logger.info("patrol %s started in district %s by user %s", patrol.pk, district.pk, actor.pk)
    return patrol


def _running_patrol(*, actor: User, patrol_id: int) -> Patrol:
    patrol = Patrol.objects.select_for_update().select_related("district").get(pk=patrol_id)
    if patrol.secretary_id != actor.pk:
        raise PermissionDenied(_("Only the district's secretary can log its patrols."))
    if patrol.ended_at is not None:
        raise ValidationError(_("This patrol has already stopped."))
    return patrol


@transaction.atomic
def patrol_finish(
    *, actor: User, patrol_id: int, notes: str | None = None, ended_at: datetime | None = None
) -> Patrol:
    """Stop a running patrol, now or at ``ended_at`` for a patrol stopped late.

    ``notes`` replaces the patrol's notes; None keeps the notes saved while it ran.
    """
    patrol = _running_patrol(actor=actor, patrol_id=patrol_id)
    now = timezone.now()
    ended_at = ended_at or now
    if ended_at <= patrol.started_at:
        raise ValidationError(_("A patrol must end after it starts."))
    if ended_at > now:
        raise ValidationError(_("A patrol cannot end in the future."))
    if ended_at - patrol.started_at > PATROL_MAX_DURATION:
        raise ValidationError(
            _("This patrol has run more than %(hours)s hours. Enter the time it really ended.")
            % {"hours": int(PATROL_MAX_DURATION.total_seconds() // 3600)}
        )
    patrol.ended_at = ended_at
    if notes is not None:
        patrol.notes = notes
    set_history_user(patrol, actor)
    patrol.save()
    logger.info("patrol %s stopped by user %s", patrol.pk, actor.pk)
    return patrol


@transaction.atomic
def patrol_notes_save(*, actor: User, patrol_id: int, notes: str) -> Patrol:
    """Save the notes of a running patrol."""
    patrol = _running_patrol(actor=actor, patrol_id=patrol_id)
    patrol.notes = notes
    set_history_user(patrol, actor)
    patrol.save(update_fields=["notes"])
    return patrol


@transaction.atomic
def patrol_photo_add(
    *, actor: User, patrol_id: int, upload: IO[bytes], form_key: uuid.UUID
) -> PatrolPhoto:
    """Attach a photo to a running patrol; the same ``form_key`` attaches it once."""
    patrol = _running_patrol(actor=actor, patrol_id=patrol_id)
    earlier = PatrolPhoto.objects.filter(form_key=form_key, patrol=patrol).first()
    if earlier is not None:
        return earlier
    cleaned = photo_clean(upload)
    photo = PatrolPhoto(patrol=patrol, uploaded_at=timezone.now(), form_key=form_key)
    photo.image.save(cleaned.name or "photo.jpg", cleaned, save=False)
    photo.save()
    logger.info("photo %s added to patrol %s", photo.pk, patrol.pk)
    return photo


@transaction.atomic
def patrol_finding_add(
    *,
    actor: User,
    patrol_id: int,
    severity: str,
    title: str,
    description: str,
    form_key: uuid.UUID,
) -> Matter:
    """Report a finding of a running patrol as a matter of its district."""
    patrol = _running_patrol(actor=actor, patrol_id=patrol_id)
    return matter_report(
        actor=actor,
        district=patrol.district,
        severity=severity,
        title=title,
        description=description,
        patrol=patrol,
        form_key=form_key,
    )


def _check_handles_district(*, actor: User, district: District) -> None:
    """Let district secretaries handle their own districts and village-wide roles all of them."""
    if actor.has_perm("patrols.handle_any_district") or district.secretary_id == actor.pk:
        return
    raise PermissionDenied(
        _("Matters of %(district)s are handled by its own district secretary.")
        % {"district": district.name}
    )


def _check_is_secretary(*, actor: User, district: District) -> None:
    if district.secretary_id != actor.pk or not actor.has_perm("patrols.add_patrol"):
        raise PermissionDenied(_("Only the district's secretary can log its patrols."))
