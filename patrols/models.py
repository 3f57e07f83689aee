from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords


class Patrol(models.Model):
    """A district secretary's round of their district (巡查)."""

    district = models.ForeignKey(
        "villagers.District",
        verbose_name=_("district"),
        on_delete=models.PROTECT,
        related_name="patrols",
    )
    secretary = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("secretary"),
        on_delete=models.PROTECT,
        related_name="patrols",
    )
    started_at = models.DateTimeField(_("started at"))
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    notes = models.TextField(_("notes"), blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("patrol")
        verbose_name_plural = _("patrols")
        ordering = ["-started_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | Q(ended_at__gt=F("started_at")),
                name="patrol_ends_after_start",
                violation_error_message=_("A patrol must end after it starts."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.district} {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def duration(self):
        if self.ended_at is None:
            return None
        return self.ended_at - self.started_at


class Matter(models.Model):
    """Something to settle (事项), with its 三不出 deadline.

    ``deadline`` is fixed when the matter is reported, from the village's time
    limit for its severity. The deadline sweep compares it with the clock.
    """

    class Severity(models.TextChoices):
        SMALL = "small", _("Small matter")
        MEDIUM = "medium", _("Medium matter")
        BIG = "big", _("Big matter")

    class Status(models.TextChoices):
        REPORTED = "reported", _("Reported")
        ACCEPTED = "accepted", _("Accepted")
        IN_PROGRESS = "in_progress", _("In progress")
        RESOLVED = "resolved", _("Resolved")
        VERIFIED = "verified", _("Verified")

    OPEN_STATUSES = (Status.REPORTED, Status.ACCEPTED, Status.IN_PROGRESS)

    village = models.ForeignKey(
        "villagers.Village",
        verbose_name=_("village"),
        on_delete=models.PROTECT,
        related_name="matters",
    )
    district = models.ForeignKey(
        "villagers.District",
        verbose_name=_("district"),
        on_delete=models.PROTECT,
        related_name="matters",
    )
    category = models.ForeignKey(
        "points.Category",
        verbose_name=_("governance item"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
    )
    patrol = models.ForeignKey(
        Patrol,
        verbose_name=_("found on patrol"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="matters",
    )
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    severity = models.CharField(_("severity"), max_length=8, choices=Severity.choices)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.REPORTED
    )
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reported by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    reported_at = models.DateTimeField(_("reported at"))
    deadline = models.DateTimeField(_("deadline"))
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_matters",
    )
    resolution = models.TextField(_("resolution"), blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    overdue_at = models.DateTimeField(
        _("marked overdue at"),
        null=True,
        blank=True,
        help_text=_("Set by the deadline check when the matter passed its deadline unsettled."),
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("matter")
        verbose_name_plural = _("matters")
        ordering = ["deadline"]
        permissions = [
            ("handle_any_district", _("Can handle matters of every district of the village")),
            ("verify_matter", _("Can verify that a settled matter is really settled")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(deadline__gt=F("reported_at")),
                name="matter_deadline_after_report",
                violation_error_message=_("A matter's deadline must come after it was reported."),
            ),
        ]
        indexes = [
            # The deadline sweep: open matters not yet marked overdue, by deadline.
            models.Index(
                fields=["deadline"],
                condition=Q(
                    overdue_at__isnull=True, status__in=["reported", "accepted", "in_progress"]
                ),
                name="matter_sweep_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES


class Escalation(models.Model):
    """A matter passed up one level; the unique constraint records each level once."""

    class Level(models.TextChoices):
        VILLAGE = "village", _("Village party secretary")
        TOWNSHIP = "township", _("Township")

    matter = models.ForeignKey(
        Matter, verbose_name=_("matter"), on_delete=models.PROTECT, related_name="escalations"
    )
    level = models.CharField(_("level"), max_length=16, choices=Level.choices)
    escalated_at = models.DateTimeField(_("escalated at"))
    notified = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("notified"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # Copied so the record stays readable if the matter's title changes.
    matter_title = models.CharField(_("matter title"), max_length=200)

    class Meta:
        verbose_name = _("escalation")
        verbose_name_plural = _("escalations")
        ordering = ["-escalated_at"]
        constraints = [
            models.UniqueConstraint(fields=["matter", "level"], name="escalation_once_per_level"),
        ]

    def __str__(self) -> str:
        return f"{self.matter_title} → {self.get_level_display()}"
