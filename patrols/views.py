"""Phone pages for district secretaries, the patrol calendar and the staff matters board."""

from datetime import date, timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.middleware import session_hold_for_patrol, session_release_patrol
from nengliangbang.uploads import photo_error_field
from villagers.access import can_see_district, districts_for, sees_every_district, villages_for
from villagers.models import District, User

from . import selectors, services
from .forms import BoardFilterForm, FindingForm, NotesForm, PhotoForm, StartForm, StopForm
from .models import Patrol, PatrolPhoto


def _staff(request) -> User:
    if not request.user.is_staff:
        raise PermissionDenied
    return request.user


@login_required
def patrol_home(request, forms=None, status=200):
    """Show the running patrol with its forms, or a start button per district of the user."""
    user = _staff(request)
    running = Patrol.objects.filter(secretary=user, ended_at__isnull=True).first()
    forms = forms or {}
    context = {
        "form_errors": [error for form in forms.values() for error in form.non_field_errors()],
        "running": running,
        "districts": District.objects.filter(secretary=user).order_by("id"),
        "start_form": StartForm(),
        "stop_form": forms.get("stop") or StopForm(),
        "notes_form": forms.get("notes")
        or NotesForm(initial={"notes": running.notes if running else ""}),
        "photo_form": forms.get("photo") or PhotoForm(),
        "finding_form": forms.get("finding") or FindingForm(),
        "recent": Patrol.objects.filter(secretary=user, ended_at__isnull=False)[:5],
    }
    if running is not None:
        context["photos"] = running.photos.all()
        context["findings"] = running.matters.all()
    return render(request, "patrols/home.html", context, status=status)


def _run(request, call, *, form_name: str, form, success: str):
    """Call a service; on a refusal show the page again with the form and its message."""
    try:
        call()
    except ValidationError as error:
        field = photo_error_field(error) if "photo" in form.fields else None
        for message in error.messages:
            form.add_error(field, message)
        return patrol_home(request, forms={form_name: form}, status=400)
    messages.success(request, success)
    return redirect("patrol-home")


@login_required
@require_POST
def patrol_start(request):
    user = _staff(request)
    form = StartForm(request.POST)
    if not form.is_valid():
        return redirect("patrol-home")
    district = get_object_or_404(District, pk=form.cleaned_data["district"])
    try:
        services.patrol_start(
            actor=user, district=district, start_key=form.cleaned_data["start_key"]
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        session_hold_for_patrol(request.session)
    return redirect("patrol-home")


@login_required
@require_POST
def patrol_stop(request, patrol_id: int):
    user = _staff(request)
    form = StopForm(request.POST)
    if not form.is_valid():
        return patrol_home(request, forms={"stop": form}, status=400)
    response = _run(
        request,
        lambda: services.patrol_finish(
            actor=user, patrol_id=patrol_id, ended_at=form.cleaned_data["ended_at"]
        ),
        form_name="stop",
        form=form,
        success=_("Patrol stopped."),
    )
    if response.status_code == 302:  # stopped: back to the idle limit
        session_release_patrol(request.session)
    return response


@login_required
@require_POST
def patrol_notes(request, patrol_id: int):
    user = _staff(request)
    form = NotesForm(request.POST)
    if not form.is_valid():
        return patrol_home(request, forms={"notes": form}, status=400)
    return _run(
        request,
        lambda: services.patrol_notes_save(
            actor=user, patrol_id=patrol_id, notes=form.cleaned_data["notes"]
        ),
        form_name="notes",
        form=form,
        success=_("Notes saved."),
    )


@login_required
@require_POST
def patrol_photo_add(request, patrol_id: int):
    user = _staff(request)
    form = PhotoForm(request.POST, request.FILES)
    if not form.is_valid():
        return patrol_home(request, forms={"photo": form}, status=400)
    return _run(
        request,
        lambda: services.patrol_photo_add(
            actor=user,
            patrol_id=patrol_id,
            upload=form.cleaned_data["photo"],
            form_key=form.cleaned_data["form_key"],
        ),
        form_name="photo",
        form=form,
        success=_("Photo added."),
    )


@login_required
@require_POST
def patrol_finding_add(request, patrol_id: int):
    user = _staff(request)
    form = FindingForm(request.POST)
    if not form.is_valid():
        return patrol_home(request, forms={"finding": form}, status=400)
    data = form.cleaned_data
    return _run(
        request,
        lambda: services.patrol_finding_add(
            actor=user,
            patrol_id=patrol_id,
            severity=data["severity"],
            title=data["title"],
            description=data["description"],
            form_key=data["form_key"],
        ),
        form_name="finding",
        form=form,
        success=_("Finding reported as a matter."),
    )


@login_required
def patrol_photo(request, photo_id: int):
    """Send a patrol photo to its secretary or to staff who may view the village's patrols."""
    photo = get_object_or_404(PatrolPhoto.objects.select_related("patrol__district"), pk=photo_id)
    patrol = photo.patrol
    allowed = patrol.secretary_id == request.user.pk or (
        request.user.has_perm("patrols.view_patrol")
        and can_see_district(
            request.user, district_id=patrol.district_id, village_id=patrol.district.village_id
        )
    )
    if not allowed:
        raise Http404
    return FileResponse(photo.image.open("rb"), content_type="image/jpeg")


def _may_see_calendar(viewer: User, secretary: User) -> bool:
    if viewer.pk == secretary.pk:
        return True
    if secretary.village_id is None:
        return False
    in_scope = villages_for(viewer).filter(pk=secretary.village_id).exists()
    oversees = viewer.has_perm("patrols.handle_any_district") or viewer.township_id is not None
    return viewer.is_staff and in_scope and oversees


@login_required
def patrol_calendar(request, user_id: int):
    """Show one secretary's month: each day kept, missed or not yet checked."""
    secretary = get_object_or_404(User, pk=user_id)
    if not _may_see_calendar(request.user, secretary):
        raise Http404
    month = _parse_month(request.GET.get("month")) or timezone.localdate().replace(day=1)
    previous = (month.replace(day=1) - timedelta(days=1)).replace(day=1)
    following = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
    return render(
        request,
        "patrols/calendar.html",
        {
            "secretary": secretary,
            "month": month,
            "previous": previous,
            "following": following,
            "weeks": selectors.patrol_calendar(secretary=secretary, month=month),
        },
    )


def _parse_month(value: str | None) -> date | None:
    try:
        year, month = (int(part) for part in (value or "").split("-"))
        return date(year, month, 1)
    except ValueError:
        return None


@login_required
def matter_board(request):
    """List open matters with time left and urgency, and the month's on-time rates."""
    user = _staff(request)
    if not user.has_perm("patrols.view_matter"):
        raise PermissionDenied
    villages = villages_for(user)
    # A district secretary sees the matters of their own districts only.
    scope = None if sees_every_district(user) else districts_for(user)
    districts = districts_for(user).select_related("village").order_by("village__name", "name")
    form = BoardFilterForm(request.GET or None, districts=districts)
    filters = form.cleaned_data if form.is_valid() else {}
    now = timezone.now()
    month = filters.get("month") or timezone.localdate().replace(day=1)
    matters = selectors.board_matters(
        villages=villages,
        districts=scope,
        district_id=filters.get("district"),
        severity=filters.get("severity"),
    )
    return render(
        request,
        "patrols/board.html",
        {
            "form": form,
            "rows": selectors.board_rows(matters, now=now),
            "month": month,
            "rate_tables": [
                (
                    _("By village"),
                    selectors.on_time_rates(
                        villages=villages, month=month, now=now, by="village", districts=scope
                    ),
                ),
                (
                    _("By district"),
                    selectors.on_time_rates(
                        villages=villages, month=month, now=now, by="district", districts=scope
                    ),
                ),
            ],
        },
    )
