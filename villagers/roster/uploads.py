"""Services behind the admin's roster upload: upload, preview, confirm, import.

A file is checked with a dry run and its report stored as the preview. Only
after the user confirms is it imported, with every check run again on the
same file. Small files are handled within the request; larger ones by a
Celery task that stores its progress on the RosterUpload row.
"""

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ..access import can_act_in_village
from ..models import RosterUpload, RosterUploadRow, User, Village
from .applying import RosterReport, roster_import
from .reading import RosterFileError

logger = logging.getLogger(__name__)

IMPORT_PERMISSION = "villagers.import_roster"
# Files up to this size are checked and imported within the request, and
# larger files go to a Celery worker. The sample roster has 2,033 rows in
# 184 kB, so this is an estimated 3,000 rows.
INLINE_MAX_BYTES = 300_000
# The largest file accepted. At the sample roster's 90 bytes per row, a
# township's 50,000 rows come to an estimated 5 MB.
UPLOAD_MAX_BYTES = 50_000_000
# Row outcomes inserted per INSERT statement.
ROW_BATCH_SIZE = 2_000


class AlreadyImported(Exception):
    """Raised inside the import's transaction when another run already imported the upload."""


def roster_upload_create(*, village: Village, actor: User, upload: UploadedFile) -> RosterUpload:
    """Store an uploaded roster and start its preview.

    Raises PermissionDenied when ``actor`` may not import into ``village``, and
    ValidationError when the file is too large.
    """
    _check_access(actor, village)
    if (upload.size or 0) > UPLOAD_MAX_BYTES:
        raise ValidationError(
            _("The file is larger than %(limit)s MB. Split the roster into several files.")
            % {"limit": UPLOAD_MAX_BYTES // 1_000_000}
        )
    with transaction.atomic():
        roster_upload = RosterUpload(
            village=village,
            uploaded_by=actor,
            uploaded_at=timezone.now(),
            file_name=(upload.name or "")[:200],
            state=RosterUpload.State.CHECKING,
        )
        roster_upload.file.save(upload.name or "roster", upload, save=False)
        roster_upload.save()
        if not _runs_inline(roster_upload):
            from ..tasks import check_roster_upload

            transaction.on_commit(lambda: check_roster_upload.delay(roster_upload.pk))
    if _runs_inline(roster_upload):
        roster_upload_check(upload_id=roster_upload.pk)
        roster_upload.refresh_from_db()
    return roster_upload


def roster_upload_check(*, upload_id: int) -> None:
    """Run the dry run of an upload and store its report as the preview."""
    roster_upload = RosterUpload.objects.select_related("village").get(pk=upload_id)
    if roster_upload.state != RosterUpload.State.CHECKING:
        return
    try:
        report = roster_import(
            path=roster_upload.file.path,
            village=roster_upload.village,
            actor=roster_upload.uploaded_by,
            dry_run=True,
            progress=_progress_writer(upload_id),
        )
    except RosterFileError as error:
        _fail(upload_id, RosterUpload.State.CHECKING, str(error))
        return
    except Exception:
        logger.exception("roster upload %s could not be checked", upload_id)
        _fail(
            upload_id,
            RosterUpload.State.CHECKING,
            _("The check failed. Try again, or tell the administrator."),
        )
        raise
    with transaction.atomic():
        checked = RosterUpload.objects.filter(
            pk=upload_id, state=RosterUpload.State.CHECKING
        ).update(
            state=RosterUpload.State.CHECKED,
            preview=report_as_json(report),
            rows_read=len(report.rows),
            rows_total=len(report.rows),
        )
        if checked:
            _store_rows(upload_id, report)
    logger.info("roster upload %s checked: %s rows", upload_id, len(report.rows))


def roster_upload_confirm(*, roster_upload: RosterUpload, token: str, actor: User) -> bool:
    """Queue the import of a checked upload; return False when it was already confirmed.

    The state moves from CHECKED to QUEUED in one conditional UPDATE that also
    matches the token, so a double click or a reload confirms only once.
    """
    _check_access(actor, roster_upload.village)
    with transaction.atomic():
        confirmed = RosterUpload.objects.filter(
            pk=roster_upload.pk, token=token, state=RosterUpload.State.CHECKED
        ).update(state=RosterUpload.State.QUEUED, rows_read=0)
        if confirmed and not _runs_inline(roster_upload):
            from ..tasks import import_roster_upload

            transaction.on_commit(lambda: import_roster_upload.delay(roster_upload.pk))
    if confirmed and _runs_inline(roster_upload):
        roster_upload_apply(upload_id=roster_upload.pk)
    return bool(confirmed)


def roster_upload_cancel(*, roster_upload: RosterUpload, token: str, actor: User) -> bool:
    """Cancel a checked upload and delete its file; return False when it was no longer waiting.

    Like confirming, one conditional UPDATE moves the state, so an upload is
    either confirmed or cancelled, never both.
    """
    _check_access(actor, roster_upload.village)
    with transaction.atomic():
        cancelled = RosterUpload.objects.filter(
            pk=roster_upload.pk, token=token, state=RosterUpload.State.CHECKED
        ).update(state=RosterUpload.State.CANCELLED, finished_at=timezone.now())
        if cancelled:
            transaction.on_commit(lambda: _delete_file(roster_upload.pk))
    if cancelled:
        logger.info("roster upload %s cancelled by user %s", roster_upload.pk, actor.pk)
    return bool(cancelled)


def roster_uploads_purge(*, now: datetime) -> int:
    """Delete the files of uploads not imported within ROSTER_UPLOAD_KEEP_HOURS; return how many.

    Checked uploads become cancelled first, in a conditional UPDATE, so a
    confirmation at the same moment either wins and imports or finds the
    upload cancelled. Files of failed and cancelled uploads go too.
    """
    cutoff = now - timedelta(hours=settings.ROSTER_UPLOAD_KEEP_HOURS)
    old = RosterUpload.objects.filter(uploaded_at__lt=cutoff).exclude(file="")
    old.filter(state__in=[RosterUpload.State.CHECKING, RosterUpload.State.CHECKED]).update(
        state=RosterUpload.State.CANCELLED,
        error=_("Not confirmed within %(hours)s hours, so the file was deleted.")
        % {"hours": settings.ROSTER_UPLOAD_KEEP_HOURS},
        finished_at=now,
    )
    purged = 0
    finished = [RosterUpload.State.FAILED, RosterUpload.State.CANCELLED, RosterUpload.State.DONE]
    for upload_id in old.filter(state__in=finished).values_list("pk", flat=True):
        _delete_file(upload_id)
        purged += 1
    if purged:
        logger.info("deleted the files of %s roster uploads older than %s", purged, cutoff)
    return purged


def _delete_file(upload_id: int) -> None:
    roster_upload = RosterUpload.objects.get(pk=upload_id)
    if roster_upload.file:
        roster_upload.file.delete(save=False)
    RosterUpload.objects.filter(pk=upload_id).update(file="")


def roster_upload_apply(*, upload_id: int) -> None:
    """Import a confirmed upload, checking every row again, and store the result.

    A run that is delivered again after its worker died finds the state
    IMPORTING and runs again: the killed run's transaction wrote nothing. The
    state becomes DONE inside the import's transaction, so a second run that
    overlaps the first rolls back instead of importing twice.
    """
    claimed = RosterUpload.objects.filter(
        pk=upload_id, state__in=[RosterUpload.State.QUEUED, RosterUpload.State.IMPORTING]
    ).update(state=RosterUpload.State.IMPORTING)
    if not claimed:
        return
    roster_upload = RosterUpload.objects.select_related("village", "uploaded_by").get(pk=upload_id)

    def mark_done(report: RosterReport) -> None:
        locked = RosterUpload.objects.select_for_update().get(pk=upload_id)
        if locked.state != RosterUpload.State.IMPORTING:
            raise AlreadyImported
        locked.state = RosterUpload.State.DONE
        locked.result = report_as_json(report)
        locked.rows_read = len(report.rows)
        locked.finished_at = timezone.now()
        locked.save(update_fields=["state", "result", "rows_read", "finished_at"])
        _store_rows(upload_id, report)
        transaction.on_commit(lambda: locked.file.delete(save=False))

    try:
        roster_import(
            path=roster_upload.file.path,
            village=roster_upload.village,
            actor=roster_upload.uploaded_by,
            progress=_progress_writer(upload_id),
            before_commit=mark_done,
        )
    except AlreadyImported:
        logger.info("roster upload %s was already imported by another run", upload_id)
    except RosterFileError as error:
        _fail(upload_id, RosterUpload.State.IMPORTING, str(error))
    except Exception:
        logger.exception("roster upload %s failed", upload_id)
        _fail(
            upload_id,
            RosterUpload.State.IMPORTING,
            _("The import failed and nothing was saved. Try again, or tell the administrator."),
        )
        raise
    else:
        logger.info("roster upload %s imported", upload_id)


def _store_rows(upload_id: int, report: RosterReport) -> None:
    """Replace the upload's stored row outcomes with the report's, inserting them in batches."""
    RosterUploadRow.objects.filter(upload_id=upload_id).delete()
    batch: list[RosterUploadRow] = []
    for row in report.rows:
        batch.append(
            RosterUploadRow(
                upload_id=upload_id,
                row_number=row.row_number,
                name=row.name[:64],
                status=row.status,
                detail=row.detail,
            )
        )
        if len(batch) == ROW_BATCH_SIZE:
            RosterUploadRow.objects.bulk_create(batch)
            batch = []
    RosterUploadRow.objects.bulk_create(batch)


def report_as_json(report: RosterReport) -> dict[str, Any]:
    return {
        "counts": {
            "created": report.created,
            "updated": report.updated,
            "moved": report.moved,
            "unchanged": report.unchanged,
            "rejected": len(report.rejected),
            "moved_out": len(report.moved_out),
            "households_created": report.households_created,
            "districts_created": report.districts_created,
        },
        # Masked ID numbers are left out because the villager table stores the
        # birth date, which is the part a masked number hides. The page reads
        # them from the villagers by id.
        "moved_out": [
            {
                "villager_id": person.villager_id,
                "name": person.name,
                "household_number": person.household_number,
            }
            for person in report.moved_out
        ],
        "new_districts": [
            {
                "name": district.name,
                "rows": sorted(district.rows),
                "row_count": district.row_count,
            }
            for district in report.new_districts.values()
        ],
    }


def _check_access(actor: User, village: Village) -> None:
    if not (actor.has_perm(IMPORT_PERMISSION) and can_act_in_village(actor, village.pk)):
        raise PermissionDenied(_("You may not import the roster of this village."))


def _runs_inline(roster_upload: RosterUpload) -> bool:
    return roster_upload.file.size <= INLINE_MAX_BYTES


def _progress_writer(upload_id: int):
    def write(rows_read: int) -> None:
        RosterUpload.objects.filter(pk=upload_id).update(rows_read=rows_read)

    return write


def _fail(upload_id: int, from_state: str, message: str) -> None:
    RosterUpload.objects.filter(pk=upload_id, state=from_state).update(
        state=RosterUpload.State.FAILED, error=message, finished_at=timezone.now()
    )
    logger.info("roster upload %s failed in state %s", upload_id, from_state)
