"""随手拍 pages: a villager reports a problem with a photo and follows its status."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from nengliangbang.flash import success_once
from nengliangbang.uploads import photo_error_field
from villagers.access import can_see_district
from villagers.models import Villager

from . import services
from .forms import ProblemReportForm
from .models import Matter, MatterPhoto


@login_required
def problem_report(request):
    """Show the report form to a villager and open a matter from it."""
    if not Villager.objects.filter(user=request.user).exists():
        return render(request, "points/not_linked.html")
    form = ProblemReportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.matter_report_by_villager(
                actor=request.user,
                category=data["category"],
                description=data["description"],
                place=data["place"],
                photo=data["photo"],
                form_key=data["form_key"],
            )
        except ValidationError as error:
            form.add_error(photo_error_field(error), error)
        except PermissionDenied as error:
            form.add_error(None, str(error))
        else:
            success_once(request, _("Your report was sent to the district secretary. Thank you."))
            return redirect("problem-list")
    status = 400 if form.errors else 200
    return render(request, "patrols/problem_report.html", {"form": form}, status=status)


@login_required
def problem_list(request):
    """List the problems the signed-in user reported, newest first, with their status."""
    matters = (
        Matter.objects.filter(reported_by=request.user)
        .select_related("district", "category")
        .prefetch_related("photos")
        .order_by("-reported_at")
    )
    return render(request, "patrols/problem_list.html", {"matters": matters})


@login_required
def matter_photo(request, photo_id: int):
    """Send a matter's photo to its reporter, its district's secretary or staff of the village."""
    photo = get_object_or_404(MatterPhoto.objects.select_related("matter__district"), pk=photo_id)
    matter = photo.matter
    user = request.user
    allowed = (
        matter.reported_by_id == user.pk
        or matter.district.secretary_id == user.pk
        or (
            user.has_perm("patrols.view_matter")
            and can_see_district(user, district_id=matter.district_id, village_id=matter.village_id)
        )
    )
    if not allowed:
        raise Http404
    response = FileResponse(photo.image.open("rb"), content_type="image/jpeg")
    response["Cache-Control"] = "private, max-age=3600"
    return response
