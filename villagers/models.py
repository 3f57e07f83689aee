from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords


class User(AbstractUser):
    """A person who signs in: village staff, a township viewer or a villager.

    ``village`` scopes staff and villagers to one village, and ``township``
    scopes a township viewer to every village of that township.
    """

    village = models.ForeignKey(
        "villagers.Village",
        verbose_name=_("village"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="users",
    )
    township = models.ForeignKey(
        "villagers.Township",
        verbose_name=_("township"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="users",
    )
    language = models.CharField(
        _("language"),
        max_length=8,
        choices=settings.LANGUAGES,
        default="zh-hans",
        help_text=_("Language of the notifications this user receives."),
    )

    class Meta(AbstractUser.Meta):  # type: ignore[name-defined]
        verbose_name = _("user")
        verbose_name_plural = _("users")


class Township(models.Model):
    name = models.CharField(_("name"), max_length=64, unique=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("township")
        verbose_name_plural = _("townships")

    def __str__(self) -> str:
        return self.name


# Bounds of a village's 三不出 time limits. A limit outside them is a typing
# mistake: a huge one would silently switch escalation off.
MATTER_LIMIT_MIN = timedelta(minutes=10)
MATTER_LIMIT_MAX = timedelta(days=90)


def validate_matter_limit(value: timedelta) -> None:
    if not MATTER_LIMIT_MIN <= value <= MATTER_LIMIT_MAX:
        raise ValidationError(_("Enter a time limit between 10 minutes and 90 days."))


def _default_limit(severity: str) -> timedelta:
    return settings.MATTER_LIMIT_DEFAULTS[severity]


def default_small_limit() -> timedelta:
    return _default_limit("small")


def default_medium_limit() -> timedelta:
    return _default_limit("medium")


def default_big_limit() -> timedelta:
    return _default_limit("big")


class Village(models.Model):
    class NameDisplay(models.TextChoices):
        FULL = "full", _("Full name")
        MASKED = "masked", _("Masked name, such as 张*明")
        HOUSEHOLD_NUMBER = "household_number", _("Household number only")

    township = models.ForeignKey(
        Township, verbose_name=_("township"), on_delete=models.PROTECT, related_name="villages"
    )
    name = models.CharField(_("name"), max_length=64)
    secretary = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("village party secretary"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    ranking_name_display = models.CharField(
        _("names on public rankings"),
        max_length=20,
        choices=NameDisplay.choices,
        default=NameDisplay.MASKED,
    )
    small_matter_limit = models.DurationField(
        _("time limit for a small matter"),
        default=default_small_limit,
        validators=[validate_matter_limit],
        help_text=_("Days, then hours:minutes:seconds, such as 1:00:00 for one hour."),
    )
    medium_matter_limit = models.DurationField(
        _("time limit for a medium matter"),
        default=default_medium_limit,
        validators=[validate_matter_limit],
        help_text=_("Days, then hours:minutes:seconds, such as 1:00:00 for one hour."),
    )
    big_matter_limit = models.DurationField(
        _("time limit for a big matter"),
        default=default_big_limit,
        validators=[validate_matter_limit],
        help_text=_("Days, then hours:minutes:seconds, such as 1:00:00 for one hour."),
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("village")
        verbose_name_plural = _("villages")
        constraints = [
            models.UniqueConstraint(
                fields=["township", "name"], name="village_name_unique_in_township"
            ),
            models.CheckConstraint(
                condition=Q(small_matter_limit__gte=MATTER_LIMIT_MIN)
                & Q(small_matter_limit__lte=F("medium_matter_limit"))
                & Q(medium_matter_limit__lte=F("big_matter_limit"))
                & Q(big_matter_limit__lte=MATTER_LIMIT_MAX),
                name="village_matter_limits_in_order",
                violation_error_message=_(
                    "Time limits must grow from small to medium to big matters, "
                    "and each must be between 10 minutes and 90 days."
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.name


class District(models.Model):
    """A 片区 of a village, in the charge of its district secretary."""

    village = models.ForeignKey(
        Village, verbose_name=_("village"), on_delete=models.PROTECT, related_name="districts"
    )
    name = models.CharField(_("name"), max_length=64)
    secretary = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("district secretary"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="districts",
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("district")
        verbose_name_plural = _("districts")
        ordering = ["village", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["village", "name"], name="district_name_unique_in_village"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Household(models.Model):
    village = models.ForeignKey(
        Village, verbose_name=_("village"), on_delete=models.PROTECT, related_name="households"
    )
    district = models.ForeignKey(
        District, verbose_name=_("district"), on_delete=models.PROTECT, related_name="households"
    )
    number = models.CharField(_("household number"), max_length=32)
    village_group = models.CharField(_("village group"), max_length=32, blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("household")
        verbose_name_plural = _("households")
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(
                fields=["village", "number"], name="household_number_unique_in_village"
            ),
        ]

    def __str__(self) -> str:
        return self.number


class Villager(models.Model):
    """A person on the village roster.

    The full ID number is not stored. ``id_number_digest`` is an HMAC-SHA256 of
    it under ``settings.PERSONAL_DATA_KEY``. The digest finds a person again on
    re-import and enforces one person per number, yet without the key a leaked
    database dump does not give back the full number. A plain hash would not do,
    because the ID number space (area, birth date, sequence) is small enough to
    enumerate. The dump does contain ``id_number_masked`` (first 6 and last 4
    characters, as staff screens show it) and the birth date.
    """

    class Sex(models.TextChoices):
        MALE = "male", _("Male")
        FEMALE = "female", _("Female")

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        MOVED_OUT = "moved_out", _("Moved out")
        DECEASED = "deceased", _("Deceased")

    class PopulationType(models.TextChoices):
        REGISTERED = "registered", _("Registered resident")
        NEW_RESIDENT = "new_resident", _("New resident")
        EMPLOYEE = "employee", _("Company employee")

    household = models.ForeignKey(
        Household, verbose_name=_("household"), on_delete=models.PROTECT, related_name="members"
    )
    name = models.CharField(_("name"), max_length=64)
    relation_to_head = models.CharField(_("relation to household head"), max_length=16)
    sex = models.CharField(_("sex"), max_length=8, choices=Sex.choices)
    birth_date = models.DateField(_("birth date"))
    id_number_digest = models.CharField(_("ID number digest"), max_length=64, editable=False)
    id_number_masked = models.CharField(_("ID number"), max_length=18, editable=False)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    ethnicity = models.CharField(_("ethnic group"), max_length=16, blank=True)
    political_status = models.CharField(_("political status"), max_length=16, blank=True)
    is_party_member = models.BooleanField(_("party member"), default=False)
    education = models.CharField(_("education"), max_length=16, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.ACTIVE
    )
    population_type = models.CharField(
        _("population type"),
        max_length=16,
        choices=PopulationType.choices,
        default=PopulationType.REGISTERED,
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("login"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="villager",
    )

    history = HistoricalRecords(excluded_fields=["id_number_digest"])

    class Meta:
        verbose_name = _("villager")
        verbose_name_plural = _("villagers")
        ordering = ["household__number", "id"]
        constraints = [
            models.UniqueConstraint(fields=["id_number_digest"], name="villager_id_number_unique"),
        ]

    def __str__(self) -> str:
        # The household number distinguishes the many villagers who share a name.
        return f"{self.name}（{self.household.number}）"

    @property
    def is_head(self) -> bool:
        return self.relation_to_head == HEAD_RELATION


# The roster's word for the household head in the 与户主关系 column.
HEAD_RELATION = "户主"
