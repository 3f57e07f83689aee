"""Business operations on rules, claims, objections, the ledger and balances.

Each service runs in one transaction and takes the acting user as a keyword
argument; scheduled work (posting after the public notice, the yearly reset)
acts on behalf of the people who recorded and approved the claim. Services
that change existing rows re-read them with ``select_for_update()`` first.
"""

import hashlib
import json
import logging
import uuid
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import IO

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q, Subquery, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from nengliangbang.uploads import photo_clean
from villagers.access import can_act_in_village
from villagers.history import set_history_user
from villagers.models import Household, User, Villager

from .models import (
    Balance,
    Claim,
    LedgerEntry,
    Objection,
    PointsPolicy,
    ReconciliationRun,
    Rule,
)
from .periods import ALL_TIME, period_bounds, period_keys

logger = logging.getLogger(__name__)

# Maximum length of a rejection, reversal, objection or decision reason, the
# width of the columns that store it.
REASON_MAX_LENGTH = 200

# Claims posted per run of the posting task; the rest wait for the next run.
POST_BATCH_LIMIT = 500


class IdempotencyConflict(ValidationError):
    """A submission key was sent again with different content."""


def policy_for(village_id: int) -> PointsPolicy:
    """Return the village's points policy, creating it with the defaults when missing."""
    policy, _created = PointsPolicy.objects.get_or_create(village_id=village_id)
    return policy


# Rules ---------------------------------------------------------------------


def rule_version_on(rule: Rule | int, day: date) -> Rule | None:
    """Return the version applying on ``day`` of the rule that ``rule`` is a version of.

    ``rule`` is any version, or its id. Only its id is used, so the version
    is read from the database in one query even when the caller has a copy
    loaded before a revision closed it.
    """
    rule_id = rule if isinstance(rule, int) else rule.pk
    lineage = Rule.objects.filter(pk=rule_id).values("lineage")[:1]
    return (
        Rule.objects.select_related("category")
        .filter(lineage=Subquery(lineage), valid_from__lte=day)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=day))
        .first()
    )


def rule_lineage_ids(rule: Rule) -> list[int]:
    """Return the ids of every version of ``rule``, oldest first."""
    return [version.pk for version in rule_lineage(rule)]


def rule_lineage(rule: Rule) -> list[Rule]:
    """Return every version of ``rule`` as stored now, oldest first."""
    return list(
        Rule.objects.select_related("category").filter(lineage=rule.lineage).order_by("version")
    )


@transaction.atomic
def rule_revise(*, actor: User, rule_id: int, valid_from: date, changes: dict) -> Rule:
    """Close the latest version of a rule the day before ``valid_from`` and start a new one.

    ``changes`` contains the fields that differ in the new version (points, caps,
    photo, second approver threshold, note). Entries and claims keep the
    version they were scored under.
    """
    if not actor.has_perm("points.add_rule"):
        raise PermissionDenied(_("You may not change scoring rules."))
    current = Rule.objects.select_for_update().get(pk=rule_id)
    if Rule.objects.filter(previous=current).exists():
        raise ValidationError(
            _("This is not the latest version of the rule; revise the latest one.")
        )
    if valid_from <= current.valid_from:
        raise ValidationError(
            _("The new version must apply from a day after %(date)s, when this version started.")
            % {"date": current.valid_from.isoformat()}
        )
    if current.valid_to is not None and valid_from > current.valid_to + timedelta(days=1):
        raise ValidationError(
            _("The new version must start at the latest the day after this one ends.")
        )

    new = Rule(
        category_id=current.category_id,
        title=current.title,
        points=current.points,
        cap=current.cap,
        cap_period=current.cap_period,
        cap_scope=current.cap_scope,
        photo_required=current.photo_required,
        self_claim=current.self_claim,
        second_approval_above=current.second_approval_above,
        note=current.note,
        valid_from=valid_from,
        valid_to=current.valid_to,
        previous=current,
        lineage=current.lineage,
        version=current.version + 1,
    )
    for field, value in changes.items():
        setattr(new, field, value)
    current.valid_to = valid_from - timedelta(days=1)
    set_history_user(current, actor)
    current.save()
    new.full_clean()
    set_history_user(new, actor)
    new.save()
    logger.info(
        "rule %s revised as version %s (rule %s) by user %s",
        current.pk,
        new.version,
        new.pk,
        actor.pk,
    )
    return new


# Submitting claims -----------------------------------------------------------


def claim_submit(
    *,
    actor: User,
    villager: Villager,
    rule: Rule | int,
    act_date: date,
    note: str = "",
    submission_key: uuid.UUID | None = None,
    photo: IO[bytes] | None = None,
    channel: str = Claim.Channel.STAFF,
) -> Claim:
    """Record points for a villager, to be approved by someone else.

    The claim is scored under the version in force on ``act_date`` of the
    rule that ``rule`` (any version, or its id) belongs to. A repeated
    ``submission_key`` with the same content returns the claim it first
    created; with other content it raises ``IdempotencyConflict``.
    """
    cleaned_photo = photo_clean(photo) if photo else None
    version = claim_check(
        actor=actor,
        villager=villager,
        rule=rule,
        act_date=act_date,
        channel=channel,
        has_photo=cleaned_photo is not None,
    )
    payload = payload_hash(
        villager=villager.pk,
        rule=version.pk,
        act_date=act_date.isoformat(),
        note=note.strip(),
        channel=channel,
        photo=hashlib.sha256(cleaned_photo.read()).hexdigest() if cleaned_photo else "",
    )
    if submission_key is not None:
        existing = Claim.objects.filter(submission_key=submission_key).first()
        if existing is not None:
            return _same_payload(existing, payload)

    claim = Claim(
        villager=villager,
        rule=version,
        act_date=act_date,
        note=note.strip(),
        channel=channel,
        recorded_by=actor,
        recorded_at=timezone.now(),
        submission_key=submission_key or uuid.uuid4(),
        payload_hash=payload,
    )
    if cleaned_photo is not None:
        cleaned_photo.seek(0)
        claim.photo.save("photo.jpg", cleaned_photo, save=False)
    set_history_user(claim, actor)
    if submission_key is None:
        # A fresh key cannot collide, so no savepoint is needed to catch a
        # race. The claim and its history row still commit together.
        with transaction.atomic(savepoint=False):
            claim.save()
    else:
        try:
            with transaction.atomic():
                claim.save()
        except IntegrityError:
            # Two requests with one key raced, and the other one saved the claim.
            return _same_payload(Claim.objects.get(submission_key=claim.submission_key), payload)
    logger.info(
        "claim %s submitted for villager %s by user %s via %s",
        claim.pk,
        villager.pk,
        actor.pk,
        channel,
    )
    return claim


def payload_hash(**fields) -> str:
    """Return a SHA-256 hex digest of the fields, independent of their order."""
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()


def _same_payload(existing: Claim, payload: str) -> Claim:
    if existing.payload_hash and existing.payload_hash != payload:
        raise IdempotencyConflict(
            _(
                "This form was already sent with different content. Reload the page and enter the points again."
            ),
            code="idempotency_conflict",
        )
    return existing


def claim_check(
    *,
    actor: User,
    villager: Villager,
    rule: Rule | int,
    act_date: date,
    channel: str = Claim.Channel.STAFF,
    has_photo: bool = False,
) -> Rule:
    """Return the rule version in force, or raise if ``actor`` may not record this claim."""
    if channel == Claim.Channel.SELF:
        _check_claims_for_self(actor=actor, villager=villager)
    else:
        _check_can_record(actor=actor, villager=villager)
    _check_takes_part(villager)
    version = _check_rule_applies(rule=rule, act_date=act_date)
    if channel == Claim.Channel.SELF:
        _check_self_claim_allowed(version)
    if version.photo_required and not has_photo:
        raise ValidationError(
            _("The rule “%(rule)s” needs a photo as evidence; add one.") % {"rule": version.title},
            code="photo_required",
        )
    return version


@transaction.atomic
def claim_batch_submit(
    *,
    actor: User,
    rule: Rule,
    villagers: Iterable[Villager],
    act_date: date,
    note: str,
    batch_key: uuid.UUID,
) -> list[Claim]:
    """Record one rule for many villagers at once, all or none.

    Each villager's claim gets a key derived from ``batch_key``, so sending the
    batch again records no villager twice. Every refusal is collected and raised
    together, naming each villager, and nothing is saved.
    """
    villagers = list(villagers)
    if not villagers:
        raise ValidationError(_("Choose at least one villager."))
    if rule.photo_required:
        raise ValidationError(
            _(
                "The rule “%(rule)s” needs a photo for each villager; record these claims one by one."
            )
            % {"rule": rule.title}
        )
    claims, errors = [], []
    for villager in villagers:
        try:
            with transaction.atomic():
                claims.append(
                    claim_submit(
                        actor=actor,
                        villager=villager,
                        rule=rule,
                        act_date=act_date,
                        note=note,
                        submission_key=uuid.uuid5(batch_key, f"villager:{villager.pk}"),
                        channel=Claim.Channel.BATCH,
                    )
                )
        except (PermissionDenied, ValidationError) as error:
            message = " ".join(getattr(error, "messages", [str(error)]))
            errors.append(
                _("%(name)s (household %(number)s): %(message)s")
                % {"name": villager.name, "number": villager.household.number, "message": message}
            )
    if errors:
        raise ValidationError(errors)
    logger.info("batch %s: %s claims submitted by user %s", batch_key, len(claims), actor.pk)
    return claims


# Deciding claims ---------------------------------------------------------------


@transaction.atomic
def claim_approve(*, actor: User, claim_id: int) -> Claim:
    """Approve a claim, putting it on public notice or, with 0 notice days, posting it.

    A claim under a rule with a second approver threshold that it exceeds
    needs two approvals by different people, neither of them its recorder.
    """
    claim = _claim_locked(claim_id)
    _check_can_decide(actor=actor, claim=claim)
    # Lock the household so that approvals racing under one capped rule
    # cannot both see room under the cap, for the villager or the household.
    Household.objects.select_for_update().filter(pk=claim.villager.household_id).first()
    _check_cap(claim=claim)

    now = timezone.now()
    if claim.status == Claim.Status.AWAITING_SECOND:
        if claim.first_approved_by_id == actor.pk:
            raise PermissionDenied(
                _("You gave the first approval; a different approver must give the second.")
            )
    elif claim.rule.needs_second_approval():
        claim.status = Claim.Status.AWAITING_SECOND
        claim.first_approved_by = actor
        claim.first_approved_at = now
        set_history_user(claim, actor)
        claim.save()
        logger.info("claim %s approved once by user %s, awaiting a second", claim.pk, actor.pk)
        return claim

    claim.decided_by = actor
    claim.decided_at = now
    _notice_start(claim, now=now, actor=actor)
    logger.info("claim %s approved by user %s, now %s", claim.pk, actor.pk, claim.status)
    return claim


@transaction.atomic
def claim_reject(*, actor: User, claim_id: int, reason: str) -> Claim:
    claim = _claim_locked(claim_id)
    _check_can_decide(actor=actor, claim=claim)
    _check_reason(reason, _("Give a reason for rejecting the claim."))

    claim.status = Claim.Status.REJECTED
    claim.decided_by = actor
    claim.decided_at = timezone.now()
    claim.rejection_reason = reason.strip()
    set_history_user(claim, actor)
    claim.save()
    logger.info("claim %s rejected by user %s", claim.pk, actor.pk)
    return claim


def _claim_locked(claim_id: int) -> Claim:
    return (
        Claim.objects.select_for_update()
        .select_related("villager__household", "rule__category")
        .get(pk=claim_id)
    )


def _notice_start(claim: Claim, *, now: datetime, actor: User) -> None:
    """Put an approved claim on public notice, or post it at once if the village has none."""
    days = policy_for(claim.villager.household.village_id).notice_days
    claim.notice_starts_at = now
    claim.notice_ends_at = now + timedelta(days=days)
    if days == 0:
        _claim_post_locked(claim, now=now)
        return
    claim.status = Claim.Status.IN_NOTICE
    set_history_user(claim, actor)
    claim.save()


# Posting after the public notice --------------------------------------------------


@transaction.atomic
def claim_post(*, claim_id: int, now: datetime) -> LedgerEntry | None:
    """Post a claim whose public notice ended with no open objection; else do nothing.

    The claim row is locked and its state re-read, so two workers racing on
    one claim post it once: the second finds it posted and returns None.
    """
    claim = _claim_locked(claim_id)
    if claim.status != Claim.Status.IN_NOTICE or claim.notice_ends_at is None:
        return None
    if claim.notice_ends_at > now:
        return None
    if claim.objections.filter(status=Objection.Status.OPEN).exists():
        return None
    return _claim_post_locked(claim, now=now)


def claims_post_due(*, now: datetime, limit: int = POST_BATCH_LIMIT) -> list[int]:
    """Post up to ``limit`` claims whose notice has ended; return the ids of the posted ones."""
    due = list(
        Claim.objects.filter(status=Claim.Status.IN_NOTICE, notice_ends_at__lte=now)
        .order_by("notice_ends_at", "id")
        .values_list("id", flat=True)[:limit]
    )
    posted = []
    for claim_id in due:
        try:
            entry = claim_post(claim_id=claim_id, now=now)
        except ValidationError:
            # NOTE: a claim that raises here stays on notice and is retried
            # on every run, logging the error each time. No state marks it
            # as failing yet, so staff learn of it only from the log.
            logger.exception("claim %s could not be posted", claim_id)
            continue
        if entry is not None:
            posted.append(claim_id)
    if posted:
        logger.info("%s claims posted after their public notice", len(posted))
    return posted


def _claim_post_locked(claim: Claim, *, now: datetime) -> LedgerEntry:
    entry = _post(
        kind=LedgerEntry.Kind.AWARD,
        villager=claim.villager,
        rule=claim.rule,
        points=claim.rule.points,
        act_date=claim.act_date,
        recorded_by=claim.recorded_by,
        approved_by=claim.decided_by,
        idempotency_key=f"claim:{claim.pk}",
        payload_hash=claim.payload_hash,
        claim=claim,
        now=now,
    )
    claim.status = Claim.Status.POSTED
    claim.posted_at = now
    set_history_user(claim, claim.decided_by)
    claim.save()
    logger.info("claim %s posted as entry %s", claim.pk, entry.pk)
    return entry


# Objections -----------------------------------------------------------------------


@transaction.atomic
def objection_raise(*, actor: User, claim_id: int, reason: str) -> Objection:
    """Object to a claim on public notice; the claim waits until the objection is decided."""
    claim = _claim_locked(claim_id)
    village_id = claim.villager.household.village_id
    if not Villager.objects.filter(
        user=actor, household__village_id=village_id, status=Villager.Status.ACTIVE
    ).exists():
        raise PermissionDenied(_("Only villagers of this village may object to its claims."))
    now = timezone.now()
    on_notice = claim.status in Claim.PENDING_POST
    if not on_notice or claim.notice_ends_at is None or claim.notice_ends_at <= now:
        raise ValidationError(
            _("This claim is no longer on public notice, so it cannot be objected to.")
        )
    _check_reason(reason, _("Give a reason for the objection."))
    if claim.objections.filter(raised_by=actor).exists():
        raise ValidationError(_("You have already objected to this claim."))

    objection = Objection(
        claim=claim,
        raised_by=actor,
        reason=reason.strip(),
        raised_at=now,
        review_deadline=now + timedelta(days=policy_for(village_id).objection_review_days),
    )
    set_history_user(objection, actor)
    objection.save()
    claim.status = Claim.Status.OBJECTED
    set_history_user(claim, actor)
    claim.save()
    logger.info("objection %s raised on claim %s by user %s", objection.pk, claim.pk, actor.pk)
    return objection


@transaction.atomic
def objection_decide(*, actor: User, objection_id: int, upheld: bool, note: str) -> Objection:
    """Uphold an objection (the claim is withdrawn) or overturn it (the claim goes on).

    An overturned objection whose claim's notice has ended, with no other
    objection open, posts the claim at once.
    """
    claim_id = Objection.objects.values_list("claim_id", flat=True).get(pk=objection_id)
    claim = _claim_locked(claim_id)
    objection = Objection.objects.select_for_update().get(pk=objection_id)
    _check_can_decide_objection(actor=actor, claim=claim, objection=objection)
    _check_reason(note, _("Give the reason for the decision."))

    now = timezone.now()
    to_decide = [objection]
    if upheld:
        # The claim is withdrawn, which decides every other open objection too.
        to_decide += list(
            claim.objections.select_for_update()
            .filter(status=Objection.Status.OPEN)
            .exclude(pk=objection.pk)
        )
    for each in to_decide:
        each.status = Objection.Status.UPHELD if upheld else Objection.Status.OVERTURNED
        each.decided_by = actor
        each.decided_at = now
        each.decision_note = note.strip()
        set_history_user(each, actor)
        each.save()

    if upheld:
        claim.status = Claim.Status.WITHDRAWN
    elif not claim.objections.filter(status=Objection.Status.OPEN).exists():
        claim.status = Claim.Status.IN_NOTICE
    set_history_user(claim, actor)
    claim.save()
    if (
        claim.status == Claim.Status.IN_NOTICE
        and claim.notice_ends_at
        and claim.notice_ends_at <= now
    ):
        _claim_post_locked(claim, now=now)
    logger.info(
        "objection %s %s by user %s", objection.pk, "upheld" if upheld else "overturned", actor.pk
    )
    return objection


def objections_flag_overdue(*, now: datetime) -> int:
    """Flag open objections past their review deadline, once each; return how many."""
    flagged = Objection.objects.filter(
        status=Objection.Status.OPEN, review_deadline__lt=now, overdue_flagged_at__isnull=True
    ).update(overdue_flagged_at=now)
    if flagged:
        logger.warning("%s objections passed their review deadline undecided", flagged)
    return flagged


# Reversals, resets ------------------------------------------------------------------


@transaction.atomic
def entry_reverse(*, actor: User, entry_id: int, reason: str) -> LedgerEntry:
    """Cancel a posted award by posting its opposite. The original stays as it was."""
    original = (
        LedgerEntry.objects.select_for_update()
        .select_related("villager__household")
        .get(pk=entry_id)
    )
    if not actor.has_perm("points.reverse_entry") or not can_act_in_village(
        actor, original.village_id
    ):
        raise PermissionDenied(_("You may not reverse ledger entries of this village."))
    if original.kind == LedgerEntry.Kind.REVERSAL:
        raise ValidationError(_("A reversing entry cannot itself be reversed."))
    if original.kind != LedgerEntry.Kind.AWARD:
        raise ValidationError(_("Only awards and deductions can be reversed."))
    if LedgerEntry.objects.filter(reverses=original).exists():
        raise ValidationError(_("This entry has already been reversed."))
    _check_reason(reason, _("Give a reason for reversing the entry."))

    # The reversal keeps the original's act date and rule version, so it
    # cancels the original in every period the original counted in.
    reversal = _post(
        kind=LedgerEntry.Kind.REVERSAL,
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


def redeemable_reset(*, year: int, now: datetime) -> int:
    """Bring every villager's redeemable points to zero as of 1 January of ``year``.

    Each reset entry cancels what the villager had on the redeemable account
    when the year began: the sum of every entry posted before midnight of
    1 January, local time. Running it again in the same year finds the same
    sums and the same keys, so it posts nothing twice. Returns the number of
    entries posted.
    """
    boundary = timezone.make_aware(datetime(year, 1, 1))
    totals = (
        LedgerEntry.objects.filter(posted_at__lt=boundary)
        .values("villager_id")
        .annotate(total=Sum("points"))
        .exclude(total=0)
        .order_by("villager_id")
    )
    posted = 0
    for row in totals:
        key = f"reset:{year}:{row['villager_id']}"
        if LedgerEntry.objects.filter(idempotency_key=key).exists():
            continue
        villager = Villager.objects.select_related("household").get(pk=row["villager_id"])
        try:
            with transaction.atomic():
                _post(
                    kind=LedgerEntry.Kind.YEAR_RESET,
                    villager=villager,
                    rule=None,
                    points=-row["total"],
                    act_date=date(year, 1, 1),
                    idempotency_key=key,
                    reason=_("Redeemable points reset for %(year)s") % {"year": year},
                    now=now,
                )
        except IntegrityError:
            continue  # another run posted this reset first
        posted += 1
    logger.info("redeemable points reset for %s: %s entries posted", year, posted)
    return posted


# Posting and balances -----------------------------------------------------------------


def _post(
    *,
    kind: str,
    villager: Villager,
    rule: Rule | None,
    points: int,
    act_date: date,
    now: datetime,
    **fields,
) -> LedgerEntry:
    household = villager.household
    entry = LedgerEntry(
        kind=kind,
        villager=villager,
        household=household,
        village_id=household.village_id,
        category_id=rule.category_id if rule else None,
        rule=rule,
        points=points,
        act_date=act_date,
        villager_name=villager.name,
        category_name=rule.category.name if rule else "",
        rule_title=rule.title if rule else "",
        posted_at=now,
        **fields,
    )
    set_history_user(entry, fields.get("approved_by"))
    entry.save()
    _add_to_balances(entry)
    return entry


def balance_accounts(kind: str, act_date: date) -> list[tuple[str, str, str]]:
    """Return (account, period kind, period) of every balance an entry of ``kind`` counts in."""
    rows = [(Balance.Account.REDEEMABLE.value, Balance.PeriodKind.ALL.value, ALL_TIME)]
    if kind in LedgerEntry.HONOUR_KINDS:
        for period_kind, period in period_keys(act_date).items():
            rows.append((Balance.Account.HONOUR.value, period_kind, period))
    return rows


def _add_to_balances(entry: LedgerEntry) -> None:
    """Add an entry's points to the balances of its villager and household.

    Rows are created first (ignoring ones that exist), then locked in id order
    and incremented, so concurrent postings neither lose an update nor deadlock.
    """
    accounts = balance_accounts(entry.kind, entry.act_date)
    rows = []
    for account, kind, period in accounts:
        common = {
            "village_id": entry.village_id,
            "account": account,
            "period_kind": kind,
            "period": period,
        }
        rows.append(Balance(villager_id=entry.villager_id, **common))
        rows.append(Balance(household_id=entry.household_id, **common))
    Balance.objects.bulk_create(rows, ignore_conflicts=True)

    ids: list[int] = []
    for account in {account for account, _kind, _period in accounts}:
        periods = [period for each, _kind, period in accounts if each == account]
        mine = Balance.objects.filter(account=account, period__in=periods)
        ids += mine.filter(villager_id=entry.villager_id).values_list("id", flat=True)
        ids += mine.filter(household_id=entry.household_id).values_list("id", flat=True)
    locked = list(
        Balance.objects.select_for_update()
        .filter(id__in=ids)
        .order_by("id")
        .values_list("id", flat=True)
    )
    Balance.objects.filter(id__in=locked).update(
        points=F("points") + entry.points, entry_count=F("entry_count") + 1
    )


# Checks ----------------------------------------------------------------------------------


def _check_reason(reason: str, missing_message: str) -> None:
    if not reason.strip():
        raise ValidationError(missing_message)
    if len(reason.strip()) > REASON_MAX_LENGTH:
        raise ValidationError(
            _("The reason is %(length)s characters long; shorten it to %(limit)s at most.")
            % {"length": len(reason.strip()), "limit": REASON_MAX_LENGTH}
        )


def _check_can_record(*, actor: User, villager: Villager) -> None:
    if not actor.has_perm("points.add_claim") or not can_act_in_village(
        actor, villager.household.village_id
    ):
        raise PermissionDenied(_("You may not record points for villagers of this village."))
    _check_active(villager)


def _check_claims_for_self(*, actor: User, villager: Villager) -> None:
    if villager.user_id is None or villager.user_id != actor.pk:
        raise PermissionDenied(_("You may claim points only for yourself."))
    _check_active(villager)


def _check_self_claim_allowed(rule: Rule) -> None:
    if not rule.self_claim:
        raise ValidationError(
            _("Villagers cannot claim “%(rule)s” themselves; ask the village office to record it.")
            % {"rule": rule.title},
            code="not_self_claimable",
        )


def _check_takes_part(villager: Villager) -> None:
    if villager.status == Villager.Status.ACTIVE and not villager.takes_part_in_points:
        raise ValidationError(
            _(
                "%(name)s is on the roster as “%(type)s”, and this village does not score that"
                " population type; no points can be recorded. The village secretary can change"
                " this in the village settings."
            )
            % {"name": villager.name, "type": villager.get_population_type_display()},
            code="not_taking_part",
        )


def _check_active(villager: Villager) -> None:
    if villager.status != Villager.Status.ACTIVE:
        raise ValidationError(
            _(
                "%(name)s is not an active villager; points can be recorded only for active villagers."
            )
            % {"name": villager.name}
        )


def _check_rule_applies(*, rule: Rule | int, act_date: date) -> Rule:
    if act_date > timezone.localdate():
        raise ValidationError(
            _("The date of the act is in the future; enter the day it happened."),
            code="act_date_future",
        )
    version = rule_version_on(rule, act_date)
    if version is None:
        raise _rule_not_applying(rule, act_date)
    if not version.category.is_active:
        raise ValidationError(
            _("The governance item “%(item)s” is switched off.") % {"item": version.category.name}
        )
    return version


def _rule_not_applying(rule: Rule | int, act_date: date) -> ValidationError:
    rule_id = rule if isinstance(rule, int) else rule.pk
    title = Rule.objects.filter(pk=rule_id).values_list("title", flat=True).first()
    if title is None:
        return ValidationError(
            _("No scoring rule has the id %(id)s; choose one from the list of rules.")
            % {"id": rule_id},
            code="rule_not_found",
        )
    return ValidationError(
        _("The rule “%(rule)s” does not apply on %(date)s; choose the rule version in force then.")
        % {"rule": title, "date": act_date.isoformat()},
        code="rule_not_applying",
    )


def _own_household_id(user: User) -> int | None:
    return Villager.objects.filter(user=user).values_list("household_id", flat=True).first()


def _check_can_decide(*, actor: User, claim: Claim) -> None:
    if not actor.has_perm("points.approve_claim") or not can_act_in_village(
        actor, claim.villager.household.village_id
    ):
        raise PermissionDenied(_("You may not approve or reject points claims of this village."))
    if claim.recorded_by_id == actor.pk:
        raise PermissionDenied(_("Claims you recorded yourself must be approved by someone else."))
    if _own_household_id(actor) == claim.villager.household_id:
        raise PermissionDenied(
            _("This claim is for your own household; another approver must decide it.")
        )
    if claim.status not in (Claim.Status.SUBMITTED, Claim.Status.AWAITING_SECOND):
        raise ValidationError(
            _("This claim has already been decided (%(status)s).")
            % {"status": claim.get_status_display()}
        )


def _check_can_decide_objection(*, actor: User, claim: Claim, objection: Objection) -> None:
    if not actor.has_perm("points.decide_objection") or not can_act_in_village(
        actor, claim.villager.household.village_id
    ):
        raise PermissionDenied(_("You may not decide objections in this village."))
    if actor.pk in (claim.recorded_by_id, objection.raised_by_id):
        raise PermissionDenied(
            _("You recorded this claim or raised this objection; someone else must decide it.")
        )
    if _own_household_id(actor) == claim.villager.household_id:
        raise PermissionDenied(
            _("This claim is for your own household; someone else must decide the objection.")
        )
    if objection.status != Objection.Status.OPEN:
        raise ValidationError(
            _("This objection has already been decided (%(status)s).")
            % {"status": objection.get_status_display()}
        )


def _check_cap(*, claim: Claim) -> None:
    """Raise if posted and pending points under this rule would pass its cap.

    Every version of the rule counts, and so do approved claims still on
    notice, so two claims on notice together cannot pass the cap either.
    """
    rule = claim.rule
    if rule.cap is None:
        return
    start, end = period_bounds(rule.cap_period, claim.act_date)
    lineage = rule_lineage_ids(rule)
    if rule.cap_scope == Rule.CapScope.HOUSEHOLD:
        owner = {"villager__household_id": claim.villager.household_id}
        entry_owner = {"household_id": claim.villager.household_id}
        name = _("Household %(number)s") % {"number": claim.villager.household.number}
    else:
        owner = {"villager_id": claim.villager_id}
        entry_owner = {"villager_id": claim.villager_id}
        name = claim.villager.name
    posted = (
        LedgerEntry.objects.filter(
            rule_id__in=lineage, act_date__gte=start, act_date__lte=end, **entry_owner
        ).aggregate(total=Sum("points"))["total"]
        or 0
    )
    pending = (
        Claim.objects.filter(
            rule_id__in=lineage,
            status__in=Claim.PENDING_POST,
            act_date__gte=start,
            act_date__lte=end,
            **owner,
        )
        .exclude(pk=claim.pk)
        .aggregate(total=Sum("rule__points"))["total"]
        or 0
    )
    earned = posted + pending
    if earned + rule.points > rule.cap:
        raise ValidationError(
            _(
                "%(name)s already has %(earned)s of the %(cap)s points this rule allows "
                "%(period)s; this claim would go over the cap."
            )
            % {
                "name": name,
                "earned": earned,
                "cap": rule.cap,
                "period": rule.get_cap_period_display(),
            }
        )


# Reconciliation -------------------------------------------------------------------------

# Differences written to the log per run; all of them are stored on the run.
RECONCILE_LOG_LIMIT = 20


def balances_reconcile(*, now: datetime) -> ReconciliationRun:
    """Compare every stored balance with the sum of its entries and record the differences.

    Both sides are read in one REPEATABLE READ snapshot on PostgreSQL when
    this is the outermost transaction (as in the nightly task), so entries
    posted while the check runs cannot show up as differences. A balance row
    that should exist but does not counts as a difference too.

    NOTE: the expected sums are built in memory, one small tuple per account
    and period. By estimate that suits a township's ledger of some hundred
    thousand entries, and it should move to SQL aggregation beyond that.
    """
    with transaction.atomic():
        outermost = len(connection.atomic_blocks) == 1
        if connection.vendor == "postgresql" and outermost:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        expected = _expected_balances()
        mismatches, checked = [], 0
        stored = Balance.objects.values_list(
            "id", "villager_id", "household_id", "account", "period", "points", "entry_count"
        )
        for (
            balance_id,
            villager_id,
            household_id,
            account,
            period,
            points,
            count,
        ) in stored.iterator(chunk_size=2000):
            checked += 1
            key = (villager_id, household_id, account, period)
            want = expected.pop(key, (0, 0))
            if (points, count) != want:
                mismatches.append(_mismatch(balance_id, key, (points, count), want))
        for key, want in expected.items():
            mismatches.append(_mismatch(None, key, (0, 0), want))

    run = ReconciliationRun.objects.create(
        started_at=now,
        balances_checked=checked,
        mismatch_count=len(mismatches),
        mismatches=mismatches,
    )
    for mismatch in mismatches[:RECONCILE_LOG_LIMIT]:
        logger.error(
            "balance %s (villager %s, household %s, %s %s) stores %s points, entries sum to %s",
            mismatch["balance"],
            mismatch["villager"],
            mismatch["household"],
            mismatch["account"],
            mismatch["period"],
            mismatch["stored_points"],
            mismatch["expected_points"],
        )
    logger.info("reconciliation %s: %s balances, %s differences", run.pk, checked, len(mismatches))
    return run


def _expected_balances() -> dict[tuple, tuple[int, int]]:
    """Return (points, entry count) per (villager, household, account, period), from the ledger."""
    sums: dict[tuple, list[int]] = {}
    entries = LedgerEntry.objects.values_list(
        "villager_id", "household_id", "kind", "act_date", "points"
    )
    for villager_id, household_id, kind, act_date, points in entries.iterator(chunk_size=2000):
        for account, _kind, period in balance_accounts(kind, act_date):
            for key in (
                (villager_id, None, account, period),
                (None, household_id, account, period),
            ):
                total = sums.setdefault(key, [0, 0])
                total[0] += points
                total[1] += 1
    return {key: (total[0], total[1]) for key, total in sums.items()}


def _mismatch(balance_id, key, stored, expected) -> dict:
    villager_id, household_id, account, period = key
    return {
        "balance": balance_id,
        "villager": villager_id,
        "household": household_id,
        "account": account,
        "period": period,
        "stored_points": stored[0],
        "stored_entries": stored[1],
        "expected_points": expected[0],
        "expected_entries": expected[1],
    }
