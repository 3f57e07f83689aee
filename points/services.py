"""Business operations on claims, the ledger and balances.

Each service runs in one transaction and takes the acting user as a keyword
argument. Services that change existing rows re-read them with
``select_for_update()`` first.
"""

import logging
import uuid
from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from villagers.access import can_act_in_village
from villagers.history import set_history_user
from villagers.models import User, Villager

from .models import Balance, Claim, LedgerEntry, Rule
from .periods import period_bounds, period_keys

logger = logging.getLogger(__name__)

# Maximum length of a rejection or reversal reason, the width of the columns
# that store it (Claim.rejection_reason, LedgerEntry.reason).
REASON_MAX_LENGTH = 200


def claim_submit(
    *,
    actor: User,
    villager: Villager,
    rule: Rule,
    act_date: date,
    note: str = "",
    submission_key: uuid.UUID | None = None,
) -> Claim:
    """Record points for a villager, to be approved by someone else.

    A repeated ``submission_key`` returns the claim it first created, so a form
    sent twice records the points once.
    """
    if submission_key is not None:
        existing = Claim.objects.filter(submission_key=submission_key).first()
        if existing is not None:
            return existing
    claim_check(actor=actor, villager=villager, rule=rule, act_date=act_date)

    claim = Claim(
        villager=villager,
        rule=rule,
        act_date=act_date,
        note=note,
        recorded_by=actor,
        recorded_at=timezone.now(),
        submission_key=submission_key or uuid.uuid4(),
    )
    set_history_user(claim, actor)
    try:
        with transaction.atomic():
            claim.save()
    except IntegrityError:
        # Two requests with one key raced, and the other one saved the claim.
        return Claim.objects.get(submission_key=claim.submission_key)
    logger.info("claim %s submitted for villager %s by user %s", claim.pk, villager.pk, actor.pk)
    return claim


def claim_check(*, actor: User, villager: Villager, rule: Rule, act_date: date) -> None:
    """Raise PermissionDenied or ValidationError if ``actor`` may not record this claim."""
    _check_can_record(actor=actor, villager=villager)
    _check_rule_applies(rule=rule, act_date=act_date)


@transaction.atomic
def claim_approve(*, actor: User, claim_id: int) -> LedgerEntry:
    """Approve a submitted claim and post its points to the ledger."""
    claim = (
        Claim.objects.select_for_update()
        .select_related("villager__household", "rule")
        .get(pk=claim_id)
    )
    _check_can_decide(actor=actor, claim=claim)
    # Lock the villager so that two approvals racing under one capped rule
    # cannot both see room under the cap.
    Villager.objects.select_for_update().filter(pk=claim.villager_id).first()
    _check_cap(claim=claim)

    now = timezone.now()
    claim.status = Claim.Status.APPROVED
    claim.decided_by = actor
    claim.decided_at = now
    set_history_user(claim, actor)
    claim.save()
    entry = _post(
        villager=claim.villager,
        rule=claim.rule,
        points=claim.rule.points,
        act_date=claim.act_date,
        recorded_by=claim.recorded_by,
        approved_by=actor,
        idempotency_key=f"claim:{claim.pk}",
        claim=claim,
        now=now,
    )
    logger.info("claim %s approved by user %s as entry %s", claim.pk, actor.pk, entry.pk)
    return entry


@transaction.atomic
def claim_reject(*, actor: User, claim_id: int, reason: str) -> Claim:
    claim = Claim.objects.select_for_update().select_related("villager__household").get(pk=claim_id)
    _check_can_decide(actor=actor, claim=claim)
    if not reason.strip():
        raise ValidationError(_("Give a reason for rejecting the claim."))
    _check_reason_length(reason)

    claim.status = Claim.Status.REJECTED
    claim.decided_by = actor
    claim.decided_at = timezone.now()
    claim.rejection_reason = reason.strip()
    set_history_user(claim, actor)
    claim.save()
    logger.info("claim %s rejected by user %s", claim.pk, actor.pk)
    return claim


@transaction.atomic
def entry_reverse(*, actor: User, entry_id: int, reason: str) -> LedgerEntry:
    """Cancel a posted entry by posting its opposite. The original stays as it was."""
    original = LedgerEntry.objects.select_for_update().select_related("villager").get(pk=entry_id)
    if not actor.has_perm("points.reverse_entry") or not can_act_in_village(
        actor, original.village_id
    ):
        raise PermissionDenied(_("You may not reverse ledger entries of this village."))
    if original.reverses_id is not None:
        raise ValidationError(_("A reversing entry cannot itself be reversed."))
    if LedgerEntry.objects.filter(reverses=original).exists():
        raise ValidationError(_("This entry has already been reversed."))
    if not reason.strip():
        raise ValidationError(_("Give a reason for reversing the entry."))
    _check_reason_length(reason)

    # The reversal keeps the original's act date, so it cancels the original in
    # every period the original counted in.
    reversal = _post(
        villager=original.villager,
        rule=original.rule,
        points=-original.points,
        act_date=original.act_date,
        recorded_by=actor,
        approved_by=actor,
        idempotency_key=f"reverse:{original.pk}",
        reverses=original,
        reason=reason.strip(),
        now=timezone.now(),
    )
    logger.info("entry %s reversed by entry %s, user %s", original.pk, reversal.pk, actor.pk)
    return reversal


def _post(
    *, villager: Villager, rule: Rule, points: int, act_date: date, now, **fields
) -> LedgerEntry:
    household = villager.household
    entry = LedgerEntry(
        villager=villager,
        household=household,
        village_id=household.village_id,
        category_id=rule.category_id,
        rule=rule,
        points=points,
        act_date=act_date,
        villager_name=villager.name,
        category_name=rule.category.name,
        rule_title=rule.title,
        posted_at=now,
        **fields,
    )
    set_history_user(entry, fields.get("approved_by"))
    entry.save()
    _add_to_balances(entry)
    return entry


def _add_to_balances(entry: LedgerEntry) -> None:
    """Add an entry's points to the balances of its villager and household.

    Rows are created first (ignoring ones that exist), then locked in id order
    and incremented, so concurrent postings neither lose an update nor deadlock.
    """
    keys = period_keys(entry.act_date)
    rows = []
    for kind, period in keys.items():
        common = {"village_id": entry.village_id, "period_kind": kind, "period": period}
        rows.append(Balance(villager_id=entry.villager_id, **common))
        rows.append(Balance(household_id=entry.household_id, **common))
    Balance.objects.bulk_create(rows, ignore_conflicts=True)

    accounts = Balance.objects.filter(period__in=keys.values()).filter(
        villager_id=entry.villager_id
    ) | Balance.objects.filter(period__in=keys.values(), household_id=entry.household_id)
    locked = list(accounts.select_for_update().order_by("id").values_list("id", flat=True))
    Balance.objects.filter(id__in=locked).update(
        points=F("points") + entry.points, entry_count=F("entry_count") + 1
    )


def _check_reason_length(reason: str) -> None:
    limit = REASON_MAX_LENGTH
    if len(reason.strip()) > limit:
        raise ValidationError(
            _("The reason is %(length)s characters long; shorten it to %(limit)s at most.")
            % {"length": len(reason.strip()), "limit": limit}
        )


def _check_can_record(*, actor: User, villager: Villager) -> None:
    if not actor.has_perm("points.add_claim") or not can_act_in_village(
        actor, villager.household.village_id
    ):
        raise PermissionDenied(_("You may not record points for villagers of this village."))
    if villager.status != Villager.Status.ACTIVE:
        raise ValidationError(
            _(
                "%(name)s is not an active villager; points can be recorded only for active villagers."
            )
            % {"name": villager.name}
        )


def _check_rule_applies(*, rule: Rule, act_date: date) -> None:
    if act_date > timezone.localdate():
        raise ValidationError(_("The date of the act is in the future; enter the day it happened."))
    if not rule.applies_on(act_date):
        raise ValidationError(
            _(
                "The rule “%(rule)s” does not apply on %(date)s; choose the rule version in force then."
            )
            % {"rule": rule.title, "date": act_date.isoformat()}
        )
    if not rule.category.is_active:
        raise ValidationError(
            _("The governance item “%(item)s” is switched off.") % {"item": rule.category.name}
        )


def _check_can_decide(*, actor: User, claim: Claim) -> None:
    if not actor.has_perm("points.approve_claim") or not can_act_in_village(
        actor, claim.villager.household.village_id
    ):
        raise PermissionDenied(_("You may not approve or reject points claims of this village."))
    if claim.recorded_by_id == actor.pk:
        raise PermissionDenied(_("Claims you recorded yourself must be approved by someone else."))
    if claim.status != Claim.Status.SUBMITTED:
        raise ValidationError(
            _("This claim has already been decided (%(status)s).")
            % {"status": claim.get_status_display()}
        )


def _check_cap(*, claim: Claim) -> None:
    rule = claim.rule
    if rule.cap is None:
        return
    start, end = period_bounds(rule.cap_period, claim.act_date)
    earned = (
        LedgerEntry.objects.filter(
            villager=claim.villager, rule=rule, act_date__gte=start, act_date__lte=end
        ).aggregate(total=Sum("points"))["total"]
        or 0
    )
    if earned + rule.points > rule.cap:
        raise ValidationError(
            _(
                "%(name)s already has %(earned)s of the %(cap)s points this rule allows "
                "%(period)s; this claim would go over the cap."
            )
            % {
                "name": claim.villager.name,
                "earned": earned,
                "cap": rule.cap,
                "period": rule.get_cap_period_display(),
            }
        )
