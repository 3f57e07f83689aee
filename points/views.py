"""Pages for villagers and staff: the village rankings and ledger entries."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from villagers.access import can_act_in_village, villages_for
from villagers.models import User, Village, Villager

from . import selectors

BOARDS = ("household", "villager")
PERIOD_KINDS = ("month", "year")
ENTRIES_PER_PAGE = 50


def home(request):
    """Send the user to their village's rankings, or list the villages to choose from."""
    village_id = _own_village_id(request.user)
    if village_id is not None:
        return redirect("rankings", village_id=village_id)

    villages = list(Village.objects.select_related("township").order_by("township__name", "name"))
    if len(villages) == 1:
        return redirect("rankings", village_id=villages[0].pk)
    return render(request, "points/home.html", {"villages": villages})


def rankings(request, village_id: int):
    """Show the public household or villager board of one village for this month or year."""
    village = get_object_or_404(Village, pk=village_id)
    board = request.GET.get("board")
    if board not in BOARDS:
        board = BOARDS[0]
    period_kind = request.GET.get("period")
    if period_kind not in PERIOD_KINDS:
        period_kind = PERIOD_KINDS[0]

    today = timezone.localdate()
    period = selectors.ranking_period(period_kind, today)
    if board == "household":
        ranking = selectors.household_ranking(village=village, period=period, today=today)
    else:
        ranking = selectors.villager_ranking(village=village, period=period, today=today)
    return render(
        request,
        "points/rankings.html",
        {
            "village": village,
            "board": board,
            "period_kind": period_kind,
            "today": today,
            "ranking": ranking,
            "ranking_size": selectors.RANKING_SIZE,
            "minimum_age": selectors.MINIMUM_RANKING_AGE,
            "shows_names": village.ranking_name_display != Village.NameDisplay.HOUSEHOLD_NUMBER,
        },
    )


@login_required
def my_entries(request):
    """Show the signed-in villager's balances and ledger entries.

    Staff without a villager record have no points of their own and go to the
    rankings instead.
    """
    villager = Villager.objects.select_related("household").filter(user=request.user).first()
    if villager is None:
        if request.user.is_staff:
            if request.user.village_id is not None:
                return redirect("rankings", village_id=request.user.village_id)
            return redirect("home")
        return render(request, "points/not_linked.html")
    return _render_entries(request, villager, "points/my_entries.html")


@login_required
def villager_entries(request, villager_id: int):
    """Show one villager's balances and ledger entries to staff who may see that village.

    Anyone else gets 404, the same as for an id that does not exist, so the
    page does not reveal which villager ids exist.
    """
    villager = get_object_or_404(Villager.objects.select_related("household"), pk=villager_id)
    if not _may_view_entries(request.user, villager.household.village_id):
        raise Http404
    return _render_entries(request, villager, "points/villager_entries.html")


def _render_entries(request, villager: Villager, template: str):
    today = timezone.localdate()
    own_totals, household_totals = selectors.villager_totals(villager, today)
    entries = Paginator(selectors.villager_entries(villager), ENTRIES_PER_PAGE)
    return render(
        request,
        template,
        {
            "villager": villager,
            "own_totals": own_totals,
            "household_totals": household_totals,
            "page": entries.get_page(request.GET.get("page")),
        },
    )


def _own_village_id(user: User) -> int | None:
    """Return the village of a signed-in staff member or villager, if they have one."""
    if not user.is_authenticated:
        return None
    if user.village_id is not None:
        return user.village_id
    return (
        Villager.objects.filter(user=user).values_list("household__village_id", flat=True).first()
    )


def _may_view_entries(user: User, village_id: int) -> bool:
    """Return whether ``user`` is staff of the village or a township viewer over it."""
    if can_act_in_village(user, village_id):
        return True
    return user.is_staff and villages_for(user).filter(pk=village_id).exists()
