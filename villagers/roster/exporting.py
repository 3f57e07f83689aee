"""Exporting a village's roster to .xlsx in the layout that the import reads."""

import logging
from typing import IO

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from ..identity import decrypt_id_number, mask_phone
from ..models import PersonalDataAccess, RosterExport, User, Village, Villager
from ..services import personal_data_access_record
from .columns import COLUMN_HEADINGS
from .normalising import POPULATION_TYPE_LABELS

logger = logging.getLogger(__name__)

FULL_DATA_PERMISSION = "villagers.view_full_personal_data"

# The exported columns, in the order of the sample roster, by column key.
EXPORT_COLUMNS = (
    "serial",
    "district",
    "village_group",
    "household_number",
    "name",
    "sex",
    "relation",
    "id_number",
    "birth_date",
    "ethnicity",
    "phone",
    "political_status",
    "education",
    "address",
    "population_type",
    "note",
)
_SEX_WORDS: dict[str, str] = {Villager.Sex.MALE: "男", Villager.Sex.FEMALE: "女"}
_TEXT_FORMAT = "@"
_DATE_FORMAT = "yyyy-mm-dd"


def roster_export(
    *, village: Village, actor: User | None, output: IO[bytes], unmasked: bool, reason: str = ""
) -> int:
    """Write the active villagers of ``village`` to ``output`` as .xlsx and return the row count.

    ID numbers and phones are masked unless ``unmasked``, which needs the
    ``view_full_personal_data`` permission and a reason. Every export is
    logged as a RosterExport row naming ``actor`` and the reason, never the data.

    Raises PermissionDenied when an unmasked export is not allowed or has no reason.
    """
    reason = reason.strip()
    if unmasked:
        if actor is None or not actor.has_perm(FULL_DATA_PERMISSION):
            raise PermissionDenied(
                _("Only the village party secretary may export full ID and phone numbers.")
            )
        if not reason:
            raise PermissionDenied(_("Give the reason for exporting full ID and phone numbers."))

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=village.name[:31])
    sheet.append([_("%(village)s roster") % {"village": village.name}])
    sheet.append([])
    sheet.append([COLUMN_HEADINGS[key][0] for key in EXPORT_COLUMNS])
    villagers = (
        Villager.objects.filter(household__village=village, status=Villager.Status.ACTIVE)
        .select_related("household__district")
        .order_by("household__number", "id")
    )
    count = 0
    # Heads first within each household, as offices list them.
    for household_members in _by_household(villagers.iterator(chunk_size=2000)):
        for villager in sorted(household_members, key=lambda member: not member.is_head):
            count += 1
            sheet.append(_row(sheet, count, villager, unmasked))

    with transaction.atomic():
        RosterExport.objects.create(
            village=village,
            exported_by=actor,
            exported_at=timezone.now(),
            unmasked=unmasked,
            reason=reason,
            row_count=count,
        )
        if unmasked and actor is not None:
            personal_data_access_record(
                actor=actor,
                village_id=village.pk,
                kind=PersonalDataAccess.Kind.ROSTER_EXPORT,
                reason=reason,
                villager_count=count,
            )
        workbook.save(output)
    logger.info(
        "roster of village %s exported by user %s: %s rows, unmasked %s",
        village.pk,
        actor.pk if actor else None,
        count,
        unmasked,
    )
    return count


def _by_household(villagers):
    members: list[Villager] = []
    for villager in villagers:
        if members and members[0].household_id != villager.household_id:
            yield members
            members = []
        members.append(villager)
    if members:
        yield members


def _row(sheet, serial: int, villager: Villager, unmasked: bool) -> list:
    household = villager.household
    id_number = villager.id_number_masked
    phone = mask_phone(villager.phone) if villager.phone else ""
    if unmasked:
        phone = villager.phone
        if villager.id_number_encrypted:
            id_number = decrypt_id_number(
                villager.id_number_encrypted, digest=villager.id_number_digest
            )
    values = {
        "serial": serial,
        "district": household.district.name,
        "village_group": household.village_group,
        "household_number": household.number,
        "name": villager.name,
        "sex": _SEX_WORDS.get(villager.sex, ""),
        "relation": villager.relation_to_head,
        "id_number": id_number,
        # A masked export shows the birth year only, because the full date is
        # what the masked ID number hides.
        "birth_date": villager.birth_date if unmasked else villager.birth_year,
        "ethnicity": villager.ethnicity,
        "phone": phone,
        "political_status": villager.political_status,
        "education": villager.education,
        "address": household.address,
        "population_type": POPULATION_TYPE_LABELS.get(villager.population_type, ""),
        "note": "",
    }
    row = []
    for key in EXPORT_COLUMNS:
        cell = WriteOnlyCell(sheet, value=values[key])
        if key == "birth_date" and unmasked:
            cell.number_format = _DATE_FORMAT
        elif key != "serial":
            # Text cells keep ID numbers, phones and 户号 like 010001 as typed.
            cell.number_format = _TEXT_FORMAT
        row.append(cell)
    return row
