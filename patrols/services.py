"""Patrols, matters and the 三不出 deadline check."""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from villagers.access import can_act_in_village
from villagers.history import set_history_user
from villagers.models import District, User, Village

from .models import Escalation, Matter, Patrol

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
    overlapping = Patrol.objects.filter(
        secretary=actor, started_at__lt=ended_at, ended_at__gt=started_at
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


@transaction.atomic
def matter_report(
    *,
    actor: User,
    district: District,
    severity: str,
    title: str,
    description: str = "",
    category=None,
    patrol: Patrol | None = None,
) -> Matter:
    """Open a matter whose deadline follows the village's 三不出 limit for its severity."""
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
        deadline=now + matter_limit(village, severity),
        assignee=district.secretary,
    )
    set_history_user(matter, actor)
    matter.save()
    logger.info(
        "matter %s reported in district %s, deadline %s", matter.pk, district.pk, matter.deadline
    )
    return matter


# The moves a matter may make, from each status.
_NEXT_STATUSES: dict[str, set[str]] = {
    Matter.Status.REPORTED: {
        Matter.Status.ACCEPTED,
        Matter.Status.IN_PROGRESS,
        Matter.Status.RESOLVED,
    },
    Matter.Status.ACCEPTED: {Matter.Status.IN_PROGRESS, Matter.Status.RESOLVED},
    Matter.Status.IN_PROGRESS: {Matter.Status.RESOLVED},
    Matter.Status.RESOLVED: {Matter.Status.VERIFIED, Matter.Status.IN_PROGRESS},
    Matter.Status.VERIFIED: set(),
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
    if matter.status == Matter.Status.RESOLVED and not actor.has_perm("patrols.verify_matter"):
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
    if status == Matter.Status.RESOLVED:
        if not resolution.strip():
            raise ValidationError(_("Describe how the matter was settled."))
        matter.resolution = resolution.strip()
        matter.resolved_at = timezone.now()
    if status == Matter.Status.IN_PROGRESS and matter.status == Matter.Status.RESOLVED:
        matter.resolved_at = None

    matter.status = status
    set_history_user(matter, actor)
    matter.save()
    logger.info("matter %s moved to %s by user %s", matter.pk, status, actor.pk)
    return matter


def matters_sweep_overdue(*, now: datetime, limit: int | None = None) -> list[int]:
    """Mark open matters past their deadline overdue and escalate each once.

    Reads state from the database, so a missed run catches up on the next one,
    and a repeated or concurrent run changes nothing more. Returns the ids of
    the matters this run escalated.
    """
    limit = limit or settings.MATTER_SWEEP_BATCH
    candidates = list(
        Matter.objects.filter(
            status__in=Matter.OPEN_STATUSES, overdue_at__isnull=True, deadline__lte=now
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
            status__in=Matter.OPEN_STATUSES,
            overdue_at__isnull=True,
            deadline__lte=now,
        ).update(overdue_at=now)
        if claimed != 1:
            return False
        matter = Matter.objects.select_related("village").get(pk=matter_id)
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
    logger.info("matter %s overdue, escalated to the village secretary", matter_id)
    return True


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
