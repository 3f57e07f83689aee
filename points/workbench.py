"""The staff workbench: find a villager, approve claims, and read the village's figures."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from patrols.models import DailyPatrolCheck
from patrols.selectors import on_time_rates
from villagers.identity import mask_phone
from villagers.models import District, User, Village

from . import selectors, services
from .models import Claim


@login_required
def workbench(request):
    """Show the staff member's village at work: search, approvals, links and the dashboard."""
    user = _village_staff(request.user)
    village_id = user.village_id
    assert village_id is not None  # _village_staff admits only staff of a village
    query = request.GET.get("q", "")
    found = [
        (villager, mask_phone(villager.phone) if villager.phone else "")
        for villager in selectors.villager_search(village_id=village_id, text=query)
    ]
    today = timezone.localdate()
    dashboard = _dashboard(village_id, today)
    return render(
        request,
        "points/workbench.html",
        {
            "query": query,
            "found": found,
            "queue": selectors.approval_queue(village_id=village_id),
            "may_approve": user.has_perm("points.approve_claim"),
            "districts": District.objects.filter(village_id=village_id).order_by("name"),
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


def _dashboard(village_id: int, today) -> dict:
    month_start = today.replace(day=1)
    checks = DailyPatrolCheck.objects.filter(
        district__village_id=village_id, day__gte=month_start, day__lte=today
    ).aggregate(kept=Count("pk", filter=Q(kept=True)), days=Count("pk"))
    rates = on_time_rates(
        villages=Village.objects.filter(pk=village_id),
        month=month_start,
        now=timezone.now(),
        by="district",
    )
    return {
        "items": selectors.points_by_item_per_month(village_id=village_id, year=today.year),
        "rates": rates,
        "patrol_days_kept": checks["kept"],
        "patrol_days": checks["days"],
    }
