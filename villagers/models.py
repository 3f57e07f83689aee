import uuid
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from .identity import decrypt_id_number, mask_id_number


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
    # Which population types take part in the points scheme; read through
    # Villager.objects.taking_part() and Villager.takes_part_in_points.
    points_for_registered = models.BooleanField(
        _("registered residents take part in points"), default=True
    )
    points_for_new_residents = models.BooleanField(
        _("new residents take part in points"), default=True
    )
    points_for_employees = models.BooleanField(
        _("company employees take part in points"), default=True
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("village")
        verbose_name_plural = _("villages")
        permissions = [
            ("view_every_district", _("Can see the work of every district of the village")),
        ]
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

    def population_types_in_points(self) -> list[str]:
        """Return the ``Villager.PopulationType`` values that take part in the points scheme."""
        flags = {
            Villager.PopulationType.REGISTERED: self.points_for_registered,
            Villager.PopulationType.NEW_RESIDENT: self.points_for_new_residents,
            Villager.PopulationType.EMPLOYEE: self.points_for_employees,
        }
        return [population_type for population_type, taking_part in flags.items() if taking_part]


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
    ranking_opt_out = models.BooleanField(
        _("left out of public rankings"),
        default=False,
        help_text=_(
            "The household asked not to appear on public rankings or on its door-plaque page."
        ),
    )

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


class VillagerQuerySet(models.QuerySet):
    def taking_part(self) -> "VillagerQuerySet":
        """Filter to active villagers whose population type takes part in their village's points."""
        by_type = (
            Q(
                population_type=Villager.PopulationType.REGISTERED,
                household__village__points_for_registered=True,
            )
            | Q(
                population_type=Villager.PopulationType.NEW_RESIDENT,
                household__village__points_for_new_residents=True,
            )
            | Q(
                population_type=Villager.PopulationType.EMPLOYEE,
                household__village__points_for_employees=True,
            )
        )
        return self.filter(by_type, status=Villager.Status.ACTIVE)


class Villager(models.Model):
    """A person on the village roster.

    ``id_number_digest`` is an HMAC-SHA256 of the ID number under
    ``settings.PERSONAL_DATA_KEY``. The digest finds a person again on re-import
    and enforces one person per number. A plain hash would not do, because the
    ID number space (area, birth date, sequence) is small enough to enumerate.
    ``id_number_encrypted`` holds the full number under AES-GCM with a key
    derived from the same setting (see ``villagers.identity``). The masked
    number that staff see (first 6 and last 4 characters) is decrypted and
    masked on each read and never stored, because characters 7 to 14 are the
    birth date: a stored masked number next to ``birth_date`` would give the
    full number back to anyone with a database dump.

    ``birth_date`` stays in clear because the ranking selects villagers aged
    14 or over in SQL, and an encrypted date cannot be compared in a query.
    That is safe only while no part of the ID number is stored in clear, in
    this table, its history or the stored upload reports. For the same reason
    staff screens and masked exports show the birth year, never the date,
    next to a masked number.

    ``phone`` is stored in clear as the 11 normalised digits, with an index:
    village staff call villagers, so the application must show the full number
    to them, and a later phone login looks villagers up by it.
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
    id_number_encrypted = models.TextField(_("encrypted ID number"), blank=True, editable=False)
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
    moved_out_on = models.DateField(_("moved out on"), null=True, blank=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("login"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="villager",
    )

    objects = VillagerQuerySet.as_manager()
    history = HistoricalRecords(excluded_fields=["id_number_digest", "id_number_encrypted"])

    class Meta:
        verbose_name = _("villager")
        verbose_name_plural = _("villagers")
        ordering = ["household__number", "id"]
        constraints = [
            models.UniqueConstraint(fields=["id_number_digest"], name="villager_id_number_unique"),
        ]
        indexes = [
            # Looking a villager up by phone number, for a phone login.
            models.Index(fields=["phone"], name="villager_phone_idx"),
        ]
        permissions = [
            ("import_roster", _("Can import and export the village roster")),
            ("view_full_personal_data", _("Can export full ID numbers and phone numbers")),
            ("view_full_phone", _("Can see villagers' full phone numbers")),
        ]

    def __str__(self) -> str:
        # The household number distinguishes the many villagers who share a name.
        return f"{self.name}（{self.household.number}）"

    @property
    def id_number_masked(self) -> str:
        """The ID number with only its first 6 and last 4 characters shown, or "" if none is stored."""
        if not self.id_number_encrypted:
            return ""
        full = decrypt_id_number(self.id_number_encrypted, digest=self.id_number_digest)
        return mask_id_number(full)

    @property
    def birth_year(self) -> int:
        return self.birth_date.year

    @property
    def is_head(self) -> bool:
        return self.relation_to_head == HEAD_RELATION

    @property
    def takes_part_in_points(self) -> bool:
        """Whether the villager is active and of a population type the village scores."""
        village = self.household.village
        return (
            self.status == self.Status.ACTIVE
            and self.population_type in village.population_types_in_points()
        )


class VillagerMove(models.Model):
    """A change of a villager's household or district, or a move out, with its date.

    Roster imports write one row per change. The villager row stays (never
    deleted), so ledger entries keep pointing at the person. Households and
    districts are copied by name as well, so the record stays readable after
    a household is renumbered.
    """

    class Kind(models.TextChoices):
        HOUSEHOLD = "household", _("Moved to another household")
        DISTRICT = "district", _("Moved to another district")
        MOVED_OUT = "moved_out", _("Moved out")
        RETURNED = "returned", _("Back on the roster")

    villager = models.ForeignKey(
        Villager, verbose_name=_("villager"), on_delete=models.PROTECT, related_name="moves"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    moved_on = models.DateField(_("date"))
    from_household = models.CharField(_("from household"), max_length=32, blank=True)
    to_household = models.CharField(_("to household"), max_length=32, blank=True)
    from_district = models.CharField(_("from district"), max_length=64, blank=True)
    to_district = models.CharField(_("to district"), max_length=64, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    recorded_at = models.DateTimeField(_("recorded at"))
    source = models.CharField(_("source"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("villager move")
        verbose_name_plural = _("villager moves")
        ordering = ["villager", "moved_on", "id"]
        indexes = [
            # A villager's moves, listed on the villager's admin page.
            models.Index(fields=["villager", "moved_on"], name="villagermove_villager_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.villager_id} {self.kind} {self.moved_on}"


class RosterExport(models.Model):
    """A log entry of one roster export: its author, time and, for full numbers, the reason.

    The exported data itself is not stored.
    """

    village = models.ForeignKey(
        Village, verbose_name=_("village"), on_delete=models.PROTECT, related_name="+"
    )
    exported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("exported by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    exported_at = models.DateTimeField(_("exported at"))
    unmasked = models.BooleanField(_("full ID and phone numbers"))
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    row_count = models.PositiveIntegerField(_("rows"))

    class Meta:
        verbose_name = _("roster export")
        verbose_name_plural = _("roster exports")
        ordering = ["-exported_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(unmasked=False) | ~Q(reason=""),
                name="rosterexport_unmasked_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.village_id} {self.exported_at:%Y-%m-%d %H:%M}"


class PersonalDataAccess(models.Model):
    """A log entry of one showing of full ID numbers or phones: who, when, where and why.

    The data shown is not stored, only how many villagers it covered. The
    village party secretary and district secretaries see full phones by their
    role, so the role is stored as the reason. An unmasked roster export
    stores the reason its author typed.
    """

    class Kind(models.TextChoices):
        PHONE_LIST = "phone_list", _("Full phones on the villager list")
        ROSTER_EXPORT = "roster_export", _("Roster export with full ID and phone numbers")
        VILLAGER_PAGE = "villager_page", _("Villager page with the full birth date")

    village = models.ForeignKey(
        Village, verbose_name=_("village"), on_delete=models.PROTECT, related_name="+"
    )
    viewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("viewed by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # The username, kept readable after the account is deleted.
    viewer_name = models.CharField(_("user name"), max_length=150)
    viewed_at = models.DateTimeField(_("viewed at"))
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    reason = models.CharField(_("reason"), max_length=200)
    villager_count = models.PositiveIntegerField(_("villagers"))
    path = models.CharField(_("page"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("personal data access")
        verbose_name_plural = _("personal data accesses")
        ordering = ["-viewed_at"]
        indexes = [
            # The admin list of one village's accesses, newest first.
            models.Index(fields=["village", "-viewed_at"], name="personaldataaccess_list_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(reason=""), name="personaldataaccess_has_reason"),
        ]

    def __str__(self) -> str:
        return f"{self.viewer_name} {self.viewed_at:%Y-%m-%d %H:%M}"


# The roster's word for the household head in the 与户主关系 column.
HEAD_RELATION = "户主"


class PrivateStorage(FileSystemStorage):
    """Files under settings.PRIVATE_FILES_ROOT, which no URL serves.

    The folder is read from the settings on each use, not once at start-up,
    so tests that point the setting at a temporary folder take effect. Files
    are written readable by their owner only (0600), and folders this storage
    creates are 0700, because rosters in it carry full ID numbers.
    """

    def __init__(self) -> None:
        super().__init__(file_permissions_mode=0o600, directory_permissions_mode=0o700)

    @property  # type: ignore[override]
    def base_location(self) -> str:
        return str(settings.PRIVATE_FILES_ROOT)

    @property  # type: ignore[override]
    def location(self) -> str:
        return str(Path(settings.PRIVATE_FILES_ROOT).resolve())


def private_storage() -> FileSystemStorage:
    """Return the storage for files that only permission-checked code reads."""
    return PrivateStorage()


def roster_upload_path(instance: "RosterUpload", filename: str) -> str:
    # A random name: the user's file name is kept in ``file_name`` only.
    suffix = Path(filename).suffix.lower()[:8]
    return f"rosters/{uuid.uuid4().hex}{suffix}"


class RosterUpload(models.Model):
    """A roster uploaded in the admin, from its preview through to its import.

    The file stays in private storage between the preview and the import, and
    ``token`` lets exactly one confirmation through (a double click or a
    reloaded page finds the state already moved on).
    """

    class State(models.TextChoices):
        CHECKING = "checking", _("Checking")
        CHECKED = "checked", _("Checked, waiting for confirmation")
        QUEUED = "queued", _("Queued for import")
        IMPORTING = "importing", _("Importing")
        DONE = "done", _("Imported")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled, file deleted")

    village = models.ForeignKey(
        Village, verbose_name=_("village"), on_delete=models.PROTECT, related_name="+"
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    uploaded_at = models.DateTimeField(_("uploaded at"))
    file = models.FileField(_("file"), upload_to=roster_upload_path, storage=private_storage)
    file_name = models.CharField(_("file name"), max_length=200)
    token = models.UUIDField(default=uuid.uuid4, editable=False, unique=True)
    state = models.CharField(_("state"), max_length=16, choices=State.choices)
    rows_read = models.PositiveIntegerField(_("rows read"), default=0)
    rows_total = models.PositiveIntegerField(_("rows in the file"), null=True, blank=True)
    # The counts of the preview and, once imported, of the import, and the
    # villagers moved out. The outcome of each row is in RosterUploadRow.
    preview = models.JSONField(_("preview"), null=True, blank=True)
    result = models.JSONField(_("result"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("roster upload")
        verbose_name_plural = _("roster uploads")
        ordering = ["-uploaded_at"]

    def __str__(self) -> str:
        return self.file_name

    @property
    def is_running(self) -> bool:
        return self.state in (self.State.CHECKING, self.State.QUEUED, self.State.IMPORTING)


class RosterUploadRow(models.Model):
    """The outcome of one spreadsheet row of an upload's preview or, once imported, its import.

    One table row per spreadsheet row lets the preview page read one page of
    rows with a query, so neither the upload nor the page holds every row.
    """

    upload = models.ForeignKey(
        RosterUpload, verbose_name=_("roster upload"), on_delete=models.CASCADE, related_name="rows"
    )
    row_number = models.PositiveIntegerField(_("row"))
    name = models.CharField(_("name"), max_length=64, blank=True)
    # A villagers.roster.RowStatus value.
    status = models.CharField(_("outcome"), max_length=16)
    detail = models.TextField(_("detail"), blank=True)

    class Meta:
        verbose_name = _("roster upload row")
        verbose_name_plural = _("roster upload rows")
        ordering = ["upload", "row_number"]
        indexes = [
            # One page of an upload's rows, optionally of one outcome.
            models.Index(
                fields=["upload", "status", "row_number"], name="rosteruploadrow_page_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.upload_id} {self.row_number}"
