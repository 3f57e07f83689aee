from datetime import timedelta

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from nengliangbang.uploads import photo_upload_path


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
    # The one-time key of the start form, so a double tap starts one patrol.
    start_key = models.UUIDField(_("start form key"), null=True, blank=True, unique=True)

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
            models.UniqueConstraint(
                fields=["secretary"],
                condition=Q(ended_at__isnull=True),
                name="patrol_one_running_per_secretary",
                violation_error_message=_("You already have a patrol running; stop it first."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.district} {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def duration(self):
        if self.ended_at is None:
            return None
        return self.ended_at - self.started_at

    @property
    def duration_minutes(self) -> int | None:
        duration = self.duration
        return None if duration is None else int(duration.total_seconds() // 60)


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
        WAITING = "waiting", _("Waiting on the villager")
        RESOLVED = "resolved", _("Resolved")
        VERIFIED = "verified", _("Verified")

    # Statuses whose clock runs: the deadline sweep looks only at these.
    RUNNING_STATUSES = (Status.REPORTED, Status.ACCEPTED, Status.IN_PROGRESS)
    # Unsettled statuses. A matter waiting on the villager is open, but its clock is paused.
    OPEN_STATUSES = (*RUNNING_STATUSES, Status.WAITING)
    CLOSED_STATUSES = (Status.RESOLVED, Status.VERIFIED)

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
    place = models.CharField(_("place"), max_length=100, blank=True)
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
    time_limit = models.DurationField(
        _("time limit"), help_text=_("The village's limit for this severity when it was reported.")
    )
    deadline = models.DateTimeField(_("deadline"))
    remind_at = models.DateTimeField(
        _("reminder due at"), help_text=_("When the assignee is reminded of the deadline.")
    )
    township_due_at = models.DateTimeField(
        _("township escalation due at"),
        help_text=_(
            "The deadline for a big matter; for others, the deadline plus the time limit again."
        ),
    )
    paused_at = models.DateTimeField(
        _("waiting since"),
        null=True,
        blank=True,
        help_text=_("Set while the matter waits on the villager, when the clock stopped."),
    )
    paused_seconds = models.PositiveIntegerField(
        _("seconds paused"),
        default=0,
        help_text=_("Time spent waiting on the villager, added to every deadline."),
    )
    form_key = models.UUIDField(_("form key"), null=True, blank=True, unique=True)
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
    reminded_at = models.DateTimeField(_("reminded at"), null=True, blank=True)
    township_escalated_at = models.DateTimeField(
        _("escalated to the township at"), null=True, blank=True
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("matter")
        verbose_name_plural = _("matters")
        ordering = ["deadline"]
        permissions = [
            ("handle_any_district", _("Can handle matters of every district of the village")),
            ("verify_matter", _("Can verify that a settled matter is really settled")),
            ("report_own_matter", _("Can report a problem with a photo as a villager")),
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
            # The reminder sweep: running matters not yet reminded, by reminder time.
            models.Index(
                fields=["remind_at"],
                condition=Q(
                    reminded_at__isnull=True, status__in=["reported", "accepted", "in_progress"]
                ),
                name="matter_remind_sweep_idx",
            ),
            # The township sweep: running matters not yet sent up, by their township time.
            models.Index(
                fields=["township_due_at"],
                condition=Q(
                    township_escalated_at__isnull=True,
                    status__in=["reported", "accepted", "in_progress"],
                ),
                name="matter_township_sweep_idx",
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


class PatrolPolicy(models.Model):
    """A village's settings of the patrol scheme; a village without a row uses the defaults."""

    village = models.OneToOneField(
        "villagers.Village",
        verbose_name=_("village"),
        on_delete=models.CASCADE,
        related_name="patrol_policy",
    )
    minimum_patrol_minutes = models.PositiveIntegerField(
        _("minimum patrol minutes"),
        default=60,
        validators=[MinValueValidator(1), MaxValueValidator(720)],
        help_text=_("A patrol counts for the daily check only if it lasts at least this long."),
    )
    patrols_per_day = models.PositiveIntegerField(
        _("patrols per day"),
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(10)],
        help_text=_("How many such patrols each district needs every day."),
    )
    reminder_lead = models.DurationField(
        _("reminder lead time"),
        default=timedelta(minutes=15),
        help_text=_(
            "How long before a matter's deadline its assignee is reminded; "
            "never more than half the matter's time limit."
        ),
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("patrol policy")
        verbose_name_plural = _("patrol policies")
        constraints = [
            models.CheckConstraint(
                condition=Q(reminder_lead__gt=timedelta(0)),
                name="patrol_policy_reminder_lead_positive",
                violation_error_message=_("The reminder lead time must be more than zero."),
            ),
        ]

    def __str__(self) -> str:
        return str(self.village)

    @classmethod
    def for_village(cls, village) -> "PatrolPolicy":
        """Return the village's policy, or an unsaved one with the defaults.

        A village loaded with ``select_related("patrol_policy")`` costs no query.
        """
        if type(village).patrol_policy.is_cached(village):
            # A missing row is cached too, and reading it raises an AttributeError.
            policy = getattr(village, "patrol_policy", None)
        else:
            policy = cls.objects.filter(village=village).first()
        return policy or cls(village=village)


def photo_path(instance, filename: str) -> str:
    return photo_upload_path("patrols")


class PatrolPhoto(models.Model):
    """A photo taken on a patrol, stripped of metadata by ``photo_clean``."""

    patrol = models.ForeignKey(
        Patrol, verbose_name=_("patrol"), on_delete=models.PROTECT, related_name="photos"
    )
    image = models.ImageField(_("photo"), upload_to=photo_path)
    uploaded_at = models.DateTimeField(_("uploaded at"))
    form_key = models.UUIDField(_("form key"), unique=True)

    class Meta:
        verbose_name = _("patrol photo")
        verbose_name_plural = _("patrol photos")
        ordering = ["uploaded_at"]

    def __str__(self) -> str:
        return f"{self.patrol} {self.uploaded_at:%H:%M}"


def matter_photo_path(instance, filename: str) -> str:
    return photo_upload_path("matters")


class MatterPhoto(models.Model):
    """A photo sent with a matter, stripped of metadata by ``photo_clean``."""

    matter = models.ForeignKey(
        Matter, verbose_name=_("matter"), on_delete=models.PROTECT, related_name="photos"
    )
    image = models.ImageField(_("photo"), upload_to=matter_photo_path)
    uploaded_at = models.DateTimeField(_("uploaded at"))

    class Meta:
        verbose_name = _("matter photo")
        verbose_name_plural = _("matter photos")
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return f"{self.matter} {self.uploaded_at:%Y-%m-%d %H:%M}"


class DailyPatrolCheck(models.Model):
    """The outcome of the morning check of one district's patrols on one day.

    The unique constraint records each district and day once, so a check run
    twice notifies once.
    """

    district = models.ForeignKey(
        "villagers.District",
        verbose_name=_("district"),
        on_delete=models.CASCADE,
        related_name="patrol_checks",
    )
    day = models.DateField(_("day"))
    secretary = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("secretary"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="patrol_checks",
    )
    qualifying_patrols = models.PositiveIntegerField(_("patrols long enough"))
    kept = models.BooleanField(_("kept"))
    checked_at = models.DateTimeField(_("checked at"))

    class Meta:
        verbose_name = _("daily patrol check")
        verbose_name_plural = _("daily patrol checks")
        ordering = ["-day"]
        constraints = [
            models.UniqueConstraint(fields=["district", "day"], name="patrol_check_once_per_day"),
        ]

    def __str__(self) -> str:
        return f"{self.district} {self.day}"


class Meeting(models.Model):
    """A Tuesday meeting (周二例会) of a village's districts."""

    village = models.ForeignKey(
        "villagers.Village",
        verbose_name=_("village"),
        on_delete=models.PROTECT,
        related_name="meetings",
    )
    date = models.DateField(_("date"))
    attendees = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("attendees"), related_name="meetings", blank=True
    )
    minutes = models.TextField(_("minutes"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"))

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("meeting")
        verbose_name_plural = _("meetings")
        ordering = ["-date"]
        constraints = [
            models.UniqueConstraint(fields=["village", "date"], name="meeting_once_per_day"),
        ]

    def __str__(self) -> str:
        return f"{self.village} {self.date}"


class AgendaItem(models.Model):
    """An open matter put on a meeting's agenda when the meeting was created."""

    meeting = models.ForeignKey(
        Meeting, verbose_name=_("meeting"), on_delete=models.CASCADE, related_name="agenda"
    )
    matter = models.ForeignKey(
        Matter, verbose_name=_("matter"), on_delete=models.PROTECT, related_name="agenda_items"
    )
    # Copied so the agenda reads as it stood at the meeting.
    district_name = models.CharField(_("district"), max_length=100)
    matter_title = models.CharField(_("matter title"), max_length=200)
    was_overdue = models.BooleanField(_("overdue at the meeting"))

    class Meta:
        verbose_name = _("agenda item")
        verbose_name_plural = _("agenda items")
        ordering = ["district_name", "-was_overdue", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["meeting", "matter"], name="agenda_matter_once"),
        ]

    def __str__(self) -> str:
        return self.matter_title


class FollowUp(models.Model):
    """A decision of a meeting, owned by one person and tracked until it is done."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        DONE = "done", _("Done")

    meeting = models.ForeignKey(
        Meeting, verbose_name=_("meeting"), on_delete=models.PROTECT, related_name="follow_ups"
    )
    matter = models.ForeignKey(
        Matter,
        verbose_name=_("matter"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="follow_ups",
    )
    decision = models.TextField(_("decision"))
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.PROTECT,
        related_name="follow_ups",
    )
    due_date = models.DateField(_("due date"))
    status = models.CharField(
        _("status"), max_length=8, choices=Status.choices, default=Status.OPEN
    )
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("follow-up")
        verbose_name_plural = _("follow-ups")
        ordering = ["due_date", "pk"]

    def __str__(self) -> str:
        return self.decision[:60]


class MissedMeeting(models.Model):
    """A Tuesday that passed without a meeting of the village; recorded once."""

    village = models.ForeignKey(
        "villagers.Village",
        verbose_name=_("village"),
        on_delete=models.CASCADE,
        related_name="missed_meetings",
    )
    date = models.DateField(_("Tuesday"))
    flagged_at = models.DateTimeField(_("flagged at"))

    class Meta:
        verbose_name = _("missed meeting")
        verbose_name_plural = _("missed meetings")
        ordering = ["-date"]
        constraints = [
            models.UniqueConstraint(fields=["village", "date"], name="missed_meeting_once"),
        ]

    def __str__(self) -> str:
        return f"{self.village} {self.date}"
