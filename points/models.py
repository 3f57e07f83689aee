import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from nengliangbang.uploads import photo_upload_path


class Category(models.Model):
    """A governance item (治理内容), such as waste sorting."""

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=64)
    description = models.CharField(_("description"), max_length=200, blank=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("governance item")
        verbose_name_plural = _("governance items")
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name


# Maximum points one act may earn or cost. The largest default rule is worth
# 20, so this bound leaves villages room yet stops a mistyped extra digit or two.
RULE_POINTS_MAX = 1000


class Rule(models.Model):
    """A scored act (积分细则) under a governance item.

    A change of points is a new Rule row that names the one it replaces in
    ``previous``. Ledger entries keep the version they were scored under.
    """

    class CapPeriod(models.TextChoices):
        MONTH = "month", _("per month")
        QUARTER = "quarter", _("per quarter")
        YEAR = "year", _("per year")

    class CapScope(models.TextChoices):
        VILLAGER = "villager", _("each villager")
        HOUSEHOLD = "household", _("each household")

    category = models.ForeignKey(
        Category, verbose_name=_("governance item"), on_delete=models.PROTECT, related_name="rules"
    )
    title = models.CharField(_("scored act"), max_length=200)
    points = models.IntegerField(
        _("points"),
        validators=[MinValueValidator(-RULE_POINTS_MAX), MaxValueValidator(RULE_POINTS_MAX)],
        help_text=_("Negative for a deduction."),
    )
    cap = models.PositiveIntegerField(
        _("cap"),
        null=True,
        blank=True,
        help_text=_(
            "Maximum points one villager or household may get under this rule in one cap period."
        ),
    )
    cap_period = models.CharField(
        _("cap period"), max_length=8, choices=CapPeriod.choices, blank=True
    )
    cap_scope = models.CharField(
        _("cap applies to"), max_length=12, choices=CapScope.choices, default=CapScope.VILLAGER
    )
    photo_required = models.BooleanField(_("photo required"), default=False)
    self_claim = models.BooleanField(
        _("villagers may claim it"),
        default=False,
        help_text=_("Villagers may claim these points for themselves on their phones."),
    )
    second_approval_above = models.PositiveIntegerField(
        _("second approver above"),
        null=True,
        blank=True,
        help_text=_(
            "Claims worth more than this many points (or deducting more) need two different approvers. Leave empty for one."
        ),
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    version = models.PositiveSmallIntegerField(_("version"), default=1, editable=False)
    valid_from = models.DateField(_("applies from"))
    valid_to = models.DateField(_("applies until"), null=True, blank=True)
    previous = models.OneToOneField(
        "self",
        verbose_name=_("previous version"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="next_version",
    )
    # Shared by every version of one rule, so that all of them load in one query.
    lineage = models.UUIDField(_("rule lineage"), default=uuid.uuid4, editable=False, db_index=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("scoring rule")
        verbose_name_plural = _("scoring rules")
        ordering = ["category__position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(points=0)
                & Q(points__gte=-RULE_POINTS_MAX)
                & Q(points__lte=RULE_POINTS_MAX),
                name="rule_points_in_range",
                violation_error_message=_(
                    "Points must be between -1000 and 1000 and not 0; use a negative number for a deduction."
                ),
            ),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=F("valid_from")),
                name="rule_valid_to_after_valid_from",
                violation_error_message=_(
                    "The rule must stop applying on or after the day it starts."
                ),
            ),
            models.CheckConstraint(
                condition=Q(cap__isnull=True, cap_period="")
                | Q(cap__isnull=False, cap__gte=F("points")) & ~Q(cap_period=""),
                name="rule_cap_fits_points",
                violation_error_message=_(
                    "A cap needs a cap period, and the cap must be at least the rule's points."
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.points:+d})"

    def applies_on(self, day) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)

    def needs_second_approval(self) -> bool:
        threshold = self.second_approval_above
        return threshold is not None and abs(self.points) > threshold


def claim_photo_path(instance, filename: str) -> str:
    return photo_upload_path("claims")


class Claim(models.Model):
    """Points recorded for a villager, on their way to the ledger.

    A claim is submitted, approved (by two approvers when its rule requires
    it) or rejected, then shown on the public notice board (公示) for the days
    the village sets. A scheduled task posts it when the notice ends with no
    open objection. ``submission_key`` comes from the form or batch that
    created the claim and ``payload_hash`` from its content, so a form sent
    twice creates one claim and a key reused for other content is refused.
    """

    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("Submitted")
        AWAITING_SECOND = "awaiting_second", _("Awaiting a second approver")
        REJECTED = "rejected", _("Rejected")
        IN_NOTICE = "in_notice", _("On public notice")
        OBJECTED = "objected", _("Objection under review")
        POSTED = "posted", _("Posted")
        WITHDRAWN = "withdrawn", _("Withdrawn after an objection")

    class Channel(models.TextChoices):
        STAFF = "staff", _("Staff entry")
        BATCH = "batch", _("Batch entry")
        SELF = "self", _("Villager's own claim")

    # Claims approved but not yet posted: their points count against caps.
    PENDING_POST = (Status.IN_NOTICE, Status.OBJECTED)

    villager = models.ForeignKey(
        "villagers.Villager",
        verbose_name=_("villager"),
        on_delete=models.PROTECT,
        related_name="claims",
    )
    rule = models.ForeignKey(Rule, verbose_name=_("scoring rule"), on_delete=models.PROTECT)
    act_date = models.DateField(_("date of the act"))
    note = models.CharField(_("note"), max_length=200, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.SUBMITTED
    )
    submission_key = models.UUIDField(_("submission key"), default=uuid.uuid4, editable=False)
    payload_hash = models.CharField(_("content hash"), max_length=64, blank=True, editable=False)
    channel = models.CharField(
        _("recorded through"), max_length=8, choices=Channel.choices, default=Channel.STAFF
    )
    photo = models.ImageField(_("photo"), upload_to=claim_photo_path, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    recorded_at = models.DateTimeField(_("recorded at"))
    first_approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("first approver"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    first_approved_at = models.DateTimeField(_("first approved at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    rejection_reason = models.CharField(_("reason for rejection"), max_length=200, blank=True)
    notice_starts_at = models.DateTimeField(_("public notice from"), null=True, blank=True)
    notice_ends_at = models.DateTimeField(_("public notice until"), null=True, blank=True)
    posted_at = models.DateTimeField(_("posted at"), null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("points claim")
        verbose_name_plural = _("points claims")
        ordering = ["-recorded_at"]
        permissions = [("approve_claim", _("Can approve or reject points claims"))]
        constraints = [
            models.UniqueConstraint(fields=["submission_key"], name="claim_submission_key_unique"),
        ]
        indexes = [
            # The approval queue lists submitted claims, oldest first.
            models.Index(fields=["status", "recorded_at"], name="claim_status_recorded_idx"),
            # The posting task and the notice board: claims on notice by end time.
            models.Index(fields=["status", "notice_ends_at"], name="claim_status_notice_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.villager} · {self.rule.title}"


class LedgerEntryQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise ValidationError(
            _("Ledger entries cannot be changed; post a reversing entry instead.")
        )

    def delete(self):
        raise ValidationError(
            _("Ledger entries cannot be deleted; post a reversing entry instead.")
        )


class LedgerEntry(models.Model):
    """One posted change of points. Append-only: never edited or deleted.

    A correction is a new entry with the opposite points whose ``reverses``
    names the original; the one-to-one field lets an entry be reversed once.
    The names are copied so that an entry stays readable if a rule or a
    category is renamed later. On PostgreSQL, triggers refuse UPDATE, DELETE
    and TRUNCATE on the table as well (migration 0007).

    Awards and their reversals count in the honour account and in the
    redeemable account. A yearly reset or a redemption counts in the
    redeemable account only and has no rule.
    """

    class Kind(models.TextChoices):
        AWARD = "award", _("Award or deduction")
        REVERSAL = "reversal", _("Reversal")
        YEAR_RESET = "year_reset", _("Yearly reset of redeemable points")
        REDEMPTION = "redemption", _("Redemption")

    # Kinds that count in the honour account (and so in rankings and stars).
    HONOUR_KINDS = (Kind.AWARD, Kind.REVERSAL)

    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.AWARD)

    villager = models.ForeignKey(
        "villagers.Villager",
        verbose_name=_("villager"),
        on_delete=models.PROTECT,
        related_name="entries",
    )
    household = models.ForeignKey(
        "villagers.Household",
        verbose_name=_("household"),
        on_delete=models.PROTECT,
        related_name="entries",
    )
    village = models.ForeignKey(
        "villagers.Village",
        verbose_name=_("village"),
        on_delete=models.PROTECT,
        related_name="entries",
    )
    category = models.ForeignKey(
        Category,
        verbose_name=_("governance item"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
    )
    rule = models.ForeignKey(
        Rule,
        verbose_name=_("scoring rule"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
    )
    points = models.IntegerField(_("points"))
    act_date = models.DateField(_("date of the act"))
    villager_name = models.CharField(_("villager name"), max_length=64)
    category_name = models.CharField(_("governance item name"), max_length=64)
    rule_title = models.CharField(_("scored act"), max_length=200)
    claim = models.OneToOneField(
        Claim,
        verbose_name=_("claim"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="entry",
    )
    reverses = models.OneToOneField(
        "self",
        verbose_name=_("reverses entry"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reversed_by",
    )
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    idempotency_key = models.CharField(_("idempotency key"), max_length=100)
    payload_hash = models.CharField(_("content hash"), max_length=64, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approved by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    posted_at = models.DateTimeField(_("posted at"))

    history = HistoricalRecords()
    objects = LedgerEntryQuerySet.as_manager()

    class Meta:
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        ordering = ["-posted_at", "-id"]
        permissions = [("reverse_entry", _("Can reverse ledger entries"))]
        constraints = [
            models.UniqueConstraint(
                fields=["idempotency_key"], name="ledger_idempotency_key_unique"
            ),
            models.CheckConstraint(condition=~Q(points=0), name="ledger_points_not_zero"),
            models.CheckConstraint(
                condition=~Q(reverses=F("id")), name="ledger_not_self_reversing"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=["year_reset", "redemption"])
                | Q(rule__isnull=False, category__isnull=False),
                name="ledger_award_has_rule",
            ),
            models.CheckConstraint(
                condition=Q(kind="reversal", reverses__isnull=False)
                | ~Q(kind="reversal") & Q(reverses__isnull=True),
                name="ledger_reversal_names_original",
            ),
            # Only the scheduled yearly reset has no recording or approving user.
            models.CheckConstraint(
                condition=Q(kind="year_reset")
                | Q(recorded_by__isnull=False, approved_by__isnull=False),
                name="ledger_people_named",
            ),
        ]
        indexes = [
            # A villager's own entries page, newest first.
            models.Index(fields=["villager", "-posted_at"], name="ledger_villager_posted_idx"),
            # A household's entries on its page and in explanations.
            models.Index(fields=["household", "-posted_at"], name="ledger_household_posted_idx"),
        ]

    def __str__(self) -> str:
        return (
            f"{self.villager_name} {self.points:+d} · {self.rule_title or self.get_kind_display()}"
        )

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValidationError(
                _("Ledger entries cannot be changed; post a reversing entry instead.")
            )
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError(
            _("Ledger entries cannot be deleted; post a reversing entry instead.")
        )


class Balance(models.Model):
    """The sum of a villager's or a household's ledger entries in one period.

    Updated in the transaction that posts each entry, so it always equals the
    sum of its entries. ``period`` is "all", a year ("2026"), a quarter
    ("2026-Q4") or a month ("2026-12"). The honour account is kept for every
    period and never resets; the redeemable account is kept for "all" only
    and is reset each year by explicit ledger entries.
    """

    class Account(models.TextChoices):
        HONOUR = "honour", _("Honour points")
        REDEEMABLE = "redeemable", _("Redeemable points")

    class PeriodKind(models.TextChoices):
        MONTH = "month", _("Month")
        QUARTER = "quarter", _("Quarter")
        YEAR = "year", _("Year")
        ALL = "all", _("All time")

    village = models.ForeignKey(
        "villagers.Village", verbose_name=_("village"), on_delete=models.PROTECT, related_name="+"
    )
    villager = models.ForeignKey(
        "villagers.Villager",
        verbose_name=_("villager"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="balances",
    )
    household = models.ForeignKey(
        "villagers.Household",
        verbose_name=_("household"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="balances",
    )
    account = models.CharField(
        _("account"), max_length=12, choices=Account.choices, default=Account.HONOUR
    )
    period_kind = models.CharField(_("period kind"), max_length=8, choices=PeriodKind.choices)
    period = models.CharField(_("period"), max_length=8)
    points = models.IntegerField(_("points"), default=0)
    entry_count = models.PositiveIntegerField(_("entries"), default=0)

    class Meta:
        verbose_name = _("balance")
        verbose_name_plural = _("balances")
        constraints = [
            models.CheckConstraint(
                condition=Q(villager__isnull=True, household__isnull=False)
                | Q(villager__isnull=False, household__isnull=True),
                name="balance_one_account",
            ),
            models.UniqueConstraint(
                fields=["villager", "account", "period"],
                condition=Q(villager__isnull=False),
                name="balance_villager_account_period_unique",
            ),
            models.UniqueConstraint(
                fields=["household", "account", "period"],
                condition=Q(household__isnull=False),
                name="balance_household_account_period_unique",
            ),
        ]
        indexes = [
            # Rankings: one village's accounts in one period, highest first.
            models.Index(
                fields=["village", "account", "period", "-points"], name="balance_ranking_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.villager or self.household} {self.period}: {self.points}"


class PointsPolicy(models.Model):
    """A village's settings of the points scheme, created with defaults when first read."""

    DEFAULT_NOTICE_DAYS = 3
    DEFAULT_OBJECTION_REVIEW_DAYS = 7

    village = models.OneToOneField(
        "villagers.Village",
        verbose_name=_("village"),
        on_delete=models.CASCADE,
        related_name="points_policy",
    )
    notice_days = models.PositiveSmallIntegerField(
        _("public notice days"),
        default=DEFAULT_NOTICE_DAYS,
        validators=[MaxValueValidator(60)],
        help_text=_(
            "Days an approved claim stays on the public notice board before it is posted; 0 posts it on approval."
        ),
    )
    objection_review_days = models.PositiveSmallIntegerField(
        _("objection review days"),
        default=DEFAULT_OBJECTION_REVIEW_DAYS,
        validators=[MinValueValidator(1), MaxValueValidator(60)],
        help_text=_("Days within which an objection must be upheld or overturned."),
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("points policy")
        verbose_name_plural = _("points policies")
        constraints = [
            models.CheckConstraint(condition=Q(notice_days__lte=60), name="policy_notice_days_max"),
            models.CheckConstraint(
                condition=Q(objection_review_days__gte=1, objection_review_days__lte=60),
                name="policy_review_days_range",
            ),
        ]

    def __str__(self) -> str:
        return str(self.village)


class StarThreshold(models.Model):
    """The honour points a household needs in one year for a star level (星级文明户)."""

    village = models.ForeignKey(
        "villagers.Village",
        verbose_name=_("village"),
        on_delete=models.CASCADE,
        related_name="star_thresholds",
    )
    year = models.PositiveSmallIntegerField(
        _("year"), validators=[MinValueValidator(2000), MaxValueValidator(2100)]
    )
    stars = models.PositiveSmallIntegerField(
        _("stars"), validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    min_points = models.PositiveIntegerField(_("minimum honour points in the year"))

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("star household threshold")
        verbose_name_plural = _("star household thresholds")
        ordering = ["village", "-year", "stars"]
        constraints = [
            models.UniqueConstraint(
                fields=["village", "year", "stars"], name="star_threshold_unique"
            ),
            models.CheckConstraint(
                condition=Q(stars__gte=1, stars__lte=5), name="star_threshold_stars_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.village} {self.year} {self.stars}★ ≥ {self.min_points}"


class Objection(models.Model):
    """A villager's objection to a claim on public notice, decided by an approver."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        UPHELD = "upheld", _("Upheld: the claim is withdrawn")
        OVERTURNED = "overturned", _("Overturned: the claim stands")

    claim = models.ForeignKey(
        Claim, verbose_name=_("claim"), on_delete=models.PROTECT, related_name="objections"
    )
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("raised by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    reason = models.CharField(_("reason"), max_length=200)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.OPEN
    )
    raised_at = models.DateTimeField(_("raised at"))
    review_deadline = models.DateTimeField(_("decide by"))
    overdue_flagged_at = models.DateTimeField(_("flagged overdue at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.CharField(_("decision note"), max_length=200, blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("objection")
        verbose_name_plural = _("objections")
        ordering = ["review_deadline", "id"]
        permissions = [("decide_objection", _("Can decide objections to claims"))]
        constraints = [
            models.UniqueConstraint(
                fields=["claim", "raised_by"], name="objection_one_per_user_per_claim"
            ),
        ]
        indexes = [
            # The review queue and the overdue sweep: open objections by deadline.
            models.Index(fields=["status", "review_deadline"], name="objection_status_due_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.claim} · {self.get_status_display()}"


class ReconciliationRun(models.Model):
    """One nightly comparison of every stored balance with the sum of its entries."""

    started_at = models.DateTimeField(_("started at"))
    balances_checked = models.PositiveIntegerField(_("balances checked"), default=0)
    mismatch_count = models.PositiveIntegerField(_("differences found"), default=0)
    # A list of {"balance": id or null, "account": ..., "period": ..., "stored": n,
    # "expected": n, "villager": id, "household": id}.
    mismatches = models.JSONField(_("differences"), default=list, blank=True)

    class Meta:
        verbose_name = _("balance reconciliation")
        verbose_name_plural = _("balance reconciliations")
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.started_at:%Y-%m-%d %H:%M} ({self.mismatch_count})"
