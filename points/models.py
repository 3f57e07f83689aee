import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords


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
        help_text=_("Most points one villager may get under this rule in one cap period."),
    )
    cap_period = models.CharField(
        _("cap period"), max_length=8, choices=CapPeriod.choices, blank=True
    )
    photo_required = models.BooleanField(_("photo required"), default=False)
    note = models.CharField(_("note"), max_length=200, blank=True)
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


class Claim(models.Model):
    """Points recorded for a villager, waiting for an approver.

    ``submission_key`` comes from the form that created the claim, so a form
    sent twice creates one claim.
    """

    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("Submitted")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

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
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    recorded_at = models.DateTimeField(_("recorded at"))
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
    category is renamed later.
    """

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
        Category, verbose_name=_("governance item"), on_delete=models.PROTECT
    )
    rule = models.ForeignKey(Rule, verbose_name=_("scoring rule"), on_delete=models.PROTECT)
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
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approved by"),
        on_delete=models.PROTECT,
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
        ]
        indexes = [
            # A villager's own entries page, newest first.
            models.Index(fields=["villager", "-posted_at"], name="ledger_villager_posted_idx"),
            # A household's entries on its page and in explanations.
            models.Index(fields=["household", "-posted_at"], name="ledger_household_posted_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.villager_name} {self.points:+d} · {self.rule_title}"

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
    ("2026-Q4") or a month ("2026-12").
    """

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
                fields=["villager", "period"],
                condition=Q(villager__isnull=False),
                name="balance_villager_period_unique",
            ),
            models.UniqueConstraint(
                fields=["household", "period"],
                condition=Q(household__isnull=False),
                name="balance_household_period_unique",
            ),
        ]
        indexes = [
            # Rankings: one village's accounts in one period, highest first.
            models.Index(fields=["village", "period", "-points"], name="balance_ranking_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.villager or self.household} {self.period}: {self.points}"
