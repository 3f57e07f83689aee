"""Admin pages for the roster: upload, preview, confirm and follow an import; export."""

import uuid
from io import BytesIO

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .access import villages_for
from .models import RosterUpload, Village, Villager
from .roster import RowStatus, rows_text
from .roster.exporting import FULL_DATA_PERMISSION, roster_export
from .roster.uploads import (
    IMPORT_PERMISSION,
    roster_upload_cancel,
    roster_upload_confirm,
    roster_upload_create,
)

# Rows of the preview table per page.
PREVIEW_PAGE_SIZE = 100
# Seconds between reloads of a page that shows a running check or import.
REFRESH_SECONDS = 2

STATUS_LABELS = {
    RowStatus.NEW: gettext_lazy("New"),
    RowStatus.UPDATED: gettext_lazy("Updated"),
    RowStatus.MOVED: gettext_lazy("Moved"),
    RowStatus.UNCHANGED: gettext_lazy("Unchanged"),
    RowStatus.REJECTED: gettext_lazy("Rejected"),
}


class VillageChoiceForm(forms.Form):
    village = forms.ModelChoiceField(label=gettext_lazy("village"), queryset=Village.objects.none())

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        villages = villages_for(user)
        if not user.is_superuser:
            villages = villages.filter(pk=user.village_id)
        self.fields["village"].queryset = villages.order_by("name")  # type: ignore[attr-defined]
        if villages.count() == 1:
            self.fields["village"].initial = villages.get()


class RosterUploadForm(VillageChoiceForm):
    file = forms.FileField(
        label=gettext_lazy("roster file"),
        help_text=gettext_lazy("An .xlsx workbook, or a .csv file in UTF-8 or GBK."),
    )


class RosterExportForm(VillageChoiceForm):
    unmasked = forms.BooleanField(
        label=gettext_lazy("full ID and phone numbers"),
        required=False,
        help_text=gettext_lazy("Only the village party secretary may export full numbers."),
    )
    reason = forms.CharField(
        label=gettext_lazy("reason"),
        max_length=200,
        required=False,
        help_text=gettext_lazy("Required for full numbers: why they are needed."),
    )

    def clean(self):
        cleaned = super().clean() or {}
        if cleaned.get("unmasked") and not cleaned.get("reason", "").strip():
            self.add_error("reason", _("Give the reason for exporting full ID and phone numbers."))
        return cleaned


class RosterAdminMixin:
    """Adds the roster upload and export pages to the villager admin."""

    admin_site: object

    def get_urls(self):
        wrap = self.admin_site.admin_view  # type: ignore[attr-defined]
        return [
            path("roster/upload/", wrap(self.upload_view), name="villagers_roster_upload"),
            path(
                "roster/upload/<int:pk>/",
                wrap(self.upload_detail_view),
                name="villagers_roster_upload_detail",
            ),
            path("roster/export/", wrap(self.export_view), name="villagers_roster_export"),
            *super().get_urls(),  # type: ignore[misc]
        ]

    def _context(self, request: HttpRequest, title: str, **extra) -> dict:
        return {
            **self.admin_site.each_context(request),  # type: ignore[attr-defined]
            "title": title,
            "opts": self.model._meta,  # type: ignore[attr-defined]
            **extra,
        }

    def upload_view(self, request: HttpRequest) -> HttpResponse:
        _require(request, IMPORT_PERMISSION)
        form = RosterUploadForm(request.POST or None, request.FILES or None, user=request.user)
        if request.method == "POST" and form.is_valid():
            try:
                roster_upload = roster_upload_create(
                    village=form.cleaned_data["village"],
                    actor=request.user,  # type: ignore[arg-type]
                    upload=form.cleaned_data["file"],
                )
            except ValidationError as error:
                form.add_error("file", error)
            else:
                return redirect("admin:villagers_roster_upload_detail", roster_upload.pk)
        recent = RosterUpload.objects.filter(village__in=villages_for(request.user))[:10]  # type: ignore[arg-type]
        return TemplateResponse(
            request,
            "admin/villagers/roster_upload.html",
            self._context(request, _("Import a roster"), form=form, recent=recent),
        )

    def upload_detail_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        _require(request, IMPORT_PERMISSION)
        roster_upload = get_object_or_404(
            RosterUpload.objects.select_related("village", "uploaded_by"),
            pk=pk,
            village__in=villages_for(request.user),  # type: ignore[arg-type]
        )
        token = _posted_token(request)
        if request.method == "POST" and "cancel" in request.POST:
            cancelled = token is not None and roster_upload_cancel(
                roster_upload=roster_upload,
                token=token,
                actor=request.user,  # type: ignore[arg-type]
            )
            if not cancelled:
                messages.warning(request, _("This roster can no longer be cancelled."))
            return redirect("admin:villagers_roster_upload_detail", roster_upload.pk)
        if request.method == "POST":
            confirmed = token is not None and roster_upload_confirm(
                roster_upload=roster_upload,
                token=token,
                actor=request.user,  # type: ignore[arg-type]
            )
            if not confirmed:
                messages.warning(request, _("This roster was already confirmed."))
            return redirect("admin:villagers_roster_upload_detail", roster_upload.pk)

        report = roster_upload.result or roster_upload.preview or {}
        status = request.GET.get("status", "")
        rows = roster_upload.rows.order_by("row_number")
        if status:
            rows = rows.filter(status=status)
        page = Paginator(rows, PREVIEW_PAGE_SIZE).get_page(request.GET.get("page"))
        percent = None
        if roster_upload.rows_total:
            percent = min(100, round(100 * roster_upload.rows_read / roster_upload.rows_total))
        context = self._context(
            request,
            _("Roster %(file)s") % {"file": roster_upload.file_name},
            upload=roster_upload,
            counts=report.get("counts"),
            moved_out=_moved_out_rows(report.get("moved_out", [])),
            new_districts=_new_districts(report.get("new_districts", [])),
            page=page,
            rows=[
                (row.row_number, row.name, STATUS_LABELS[row.status], row.status, row.detail)
                for row in page
            ],
            status=status,
            statuses=list(STATUS_LABELS.items()),
            percent=percent,
            refresh_seconds=REFRESH_SECONDS if roster_upload.is_running else None,
            can_confirm=roster_upload.state == RosterUpload.State.CHECKED,
        )
        return TemplateResponse(request, "admin/villagers/roster_upload_detail.html", context)

    def export_view(self, request: HttpRequest) -> HttpResponseBase:
        _require(request, IMPORT_PERMISSION)
        form = RosterExportForm(request.POST or None, user=request.user)
        can_unmask = request.user.has_perm(FULL_DATA_PERMISSION)
        if not can_unmask:
            del form.fields["unmasked"]
            del form.fields["reason"]
        if request.method == "POST" and form.is_valid():
            village = form.cleaned_data["village"]
            output = BytesIO()
            try:
                roster_export(
                    village=village,
                    actor=request.user,  # type: ignore[arg-type]
                    output=output,
                    unmasked=form.cleaned_data.get("unmasked", False),
                    reason=form.cleaned_data.get("reason", ""),
                )
            except PermissionDenied as error:
                form.add_error(None, str(error))
            else:
                output.seek(0)
                name = f"roster-{village.pk}-{timezone.localdate():%Y%m%d}.xlsx"
                return FileResponse(output, as_attachment=True, filename=name)
        return TemplateResponse(
            request,
            "admin/villagers/roster_export.html",
            self._context(request, _("Export the roster"), form=form),
        )


def _moved_out_rows(moved_out: list[dict]) -> list[dict]:
    """Add each moved-out villager's masked ID number, which the stored report leaves out."""
    ids = [person["villager_id"] for person in moved_out if "villager_id" in person]
    villagers = Villager.objects.in_bulk(ids)
    rows = []
    for person in moved_out:
        villager = villagers.get(person.get("villager_id"))
        masked = villager.id_number_masked if villager else ""
        rows.append({**person, "id_number_masked": masked})
    return rows


def _new_districts(new_districts: list[dict]) -> list[dict]:
    """Add to each district the import creates the text that lists the rows naming it."""
    return [
        {
            "name": district["name"],
            "rows": rows_text(
                [(row, name) for row, name in district["rows"]], district["row_count"]
            ),
        }
        for district in new_districts
    ]


def _posted_token(request: HttpRequest) -> str | None:
    """Return the posted confirmation token, or None when it is missing or not a UUID."""
    try:
        return str(uuid.UUID(request.POST.get("token", "")))
    except ValueError:
        return None


def _require(request: HttpRequest, permission: str) -> None:
    if not request.user.has_perm(permission):
        raise PermissionDenied
