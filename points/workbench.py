"""The staff workbench: find a villager, approve claims, and read the village's figures."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from patrols.models import DailyPatrolCheck
from patrols.selectors import on_time_rates
from villagers.access import districts_for, sees_every_district
from villagers.identity import mask_phone
from villagers.models import District, User, Village

from . import selectors, services
from .models import Claim

# Claims of the approval queue shown at once, oldest first.
QUEUE_LENGTH = 30


@login_required
def workbench(request):
    """Show the staff member's village at work: search, approvals, links and the dashboard."""
    user = _village_staff(request.user)
    village_id = user.village_id
    assert village_id is not None  # _village_staff admits only staff of a village
    # A district secretary works on their own districts only.
    districts = None if sees_every_district(user) else districts_for(user)
    query = request.GET.get("q", "")
    found = [
        (villager, mask_phone(villager.phone) if villager.phone else "")
        for villager in selectors.villager_search(
            village_id=village_id, text=query, districts=districts
        )
    ]
    today = timezone.localdate()
    dashboard = _dashboard(village_id, today, districts)
    waiting = selectors.approval_queue(
        village_id=village_id, districts=districts, approver=user, limit=None
    )
    return render(
        request,
        "points/workbench.html",
        {
            "query": query,
            "found": found,
            "queue": waiting[:QUEUE_LENGTH],
            "queue_total": waiting.count(),
            "may_approve": user.has_perm("points.approve_claim"),
            "links": _links(user),
            "districts": _plaque_districts(user, village_id, districts),
            "dashboard": dashboard,
            "chart_data": {"items": dashboard["items"]},
            "today": today,
        },
    )


@login_required
@require_POST
def claim_decide(request, claim_id: int):
    """Approve or reject one claim of the queue, by the rules of the points services."""
    user = _village_staff(request.user)
    village_id = user.village_id
    if village_id is None:
        raise Http404
    if not user.has_perm("points.approve_claim"):
        raise PermissionDenied
    if not Claim.objects.filter(pk=claim_id, villager__household__village_id=village_id).exists():
        raise Http404
    try:
        if request.POST.get("decision") == "approve":
            services.claim_approve(actor=user, claim_id=claim_id)
            messages.success(request, _("Claim approved."))
        else:
            services.claim_reject(
                actor=user, claim_id=claim_id, reason=request.POST.get("reason", "")
            )
            messages.success(request, _("Claim rejected."))
    except (PermissionDenied, ValidationError) as error:
        messages.error(request, " ".join(getattr(error, "messages", [str(error)])))
    return redirect("workbench")


def _village_staff(user: User) -> User:
    if not user.is_staff or user.village_id is None:
        raise Http404
    return user


def _links(user: User) -> dict[str, bool]:
    """Return which of the workbench's links ``user`` may open, by the checks of their pages."""
    return {
        # points.views.batch_entry admits village staff who may add claims.
        "batch_entry": user.has_perm("points.add_claim"),
        # patrols.views.matter_board admits staff who may view matters.
        "matter_board": user.has_perm("patrols.view_matter"),
        # Only a district's secretary can start its patrols.
        "patrols": user.has_perm("patrols.add_patrol"),
    }


def _plaque_districts(user: User, village_id: int, districts) -> QuerySet[District]:
    """Return the districts whose door-plaque sheet ``user`` may print, as plaque_sheet checks."""
    if not user.has_perm("villagers.view_household"):
        return District.objects.none()
    if districts is None:
        districts = District.objects.filter(village_id=village_id)
    return districts.order_by("id")


def _dashboard(village_id: int, today, districts) -> dict:
    month_start = today.replace(day=1)
    checks = DailyPatrolCheck.objects.filter(
        district__village_id=village_id, day__gte=month_start, day__lte=today
    )
    if districts is not None:
        checks = checks.filter(district__in=districts)
    counts = checks.aggregate(kept=Count("pk", filter=Q(kept=True)), days=Count("pk"))
    rates = on_time_rates(
        villages=Village.objects.filter(pk=village_id),
        month=month_start,
        now=timezone.now(),
        by="district",
        districts=districts,
    )
    return {
        "items": selectors.points_by_item_per_month(
            village_id=village_id, year=today.year, districts=districts
        ),
        "rates": rates,
        "patrol_days_kept": counts["kept"],
        "patrol_days": counts["days"],
    }
