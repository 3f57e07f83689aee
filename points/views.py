"""Pages for villagers and staff: rankings, entries, explanations, notice board, claims."""

import segno
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from nengliangbang.flash import success_once
from villagers.access import (
    can_act_in_village,
    can_see_district,
    scope_to_districts,
    villages_for,
)
from villagers.models import District, Household, User, Village, Villager

from . import selectors, services
from .forms import BatchEntryForm, ObjectionForm, SelfClaimForm, claim_error_field
from .models import Category, Claim
from .periods import period_bounds

BOARDS = ("household", "villager")
PERIOD_KINDS = ("month", "quarter", "year")
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
    """Show a public board of one village or district: households or villagers, by period and item."""
    village = get_object_or_404(Village, pk=village_id)
    board = _choice(request.GET.get("board"), BOARDS)
    period_kind = _choice(request.GET.get("period"), PERIOD_KINDS)
    districts = list(District.objects.filter(village=village).order_by("id"))
    district = _picked(districts, request.GET.get("district"))
    categories = list(Category.objects.filter(is_active=True))
    category = _picked(categories, request.GET.get("item"))

    today = timezone.localdate()
    district_id = district.pk if district else None
    if category is not None:
        ranking = selectors.item_ranking(
            village=village,
            category=category,
            board=board,
            period_kind=period_kind,
            today=today,
            district_id=district_id,
        )
    else:
        period = selectors.ranking_period(period_kind, today)
        board_of = (
            selectors.household_ranking if board == "household" else selectors.villager_ranking
        )
        ranking = board_of(village=village, period=period, today=today, district_id=district_id)
    start, end = period_bounds(period_kind, today)
    return render(
        request,
        "points/rankings.html",
        {
            "village": village,
            "board": board,
            "period_kind": period_kind,
            "period_start": start,
            "period_end": end,
            "districts": districts,
            "district": district,
            "categories": categories,
            "category": category,
            "today": today,
            "ranking": ranking,
            "ranking_size": selectors.RANKING_SIZE,
            "minimum_age": selectors.MINIMUM_RANKING_AGE,
            "shows_names": village.ranking_name_display != Village.NameDisplay.HOUSEHOLD_NUMBER,
        },
    )


def _choice(value: str | None, allowed: tuple[str, ...]) -> str:
    return value if value in allowed else allowed[0]


def _picked(options: list, raw_id: str | None):
    """Return the option whose id is ``raw_id``, or None for a blank or unknown id."""
    return next((option for option in options if str(option.pk) == raw_id), None)


@login_required
def my_entries(request):
    """Show the signed-in villager's balances and ledger entries.

    Staff without a villager record have no points of their own and go to the
    rankings instead.
    """
    villager = (
        Villager.objects.select_related("household__village").filter(user=request.user).first()
    )
    if villager is None:
        if request.user.is_staff:
            if request.user.village_id is not None:
                return redirect("rankings", village_id=request.user.village_id)
            return redirect("home")
        return render(request, "points/not_linked.html")
    today = timezone.localdate()
    household = villager.household
    year = selectors.household_year(household=household, year=today.year)
    extra = {
        "year": year,
        "rank": selectors.household_rank(household=household, year=today.year, today=today),
        "chart_data": {
            "months": {
                "labels": [m for m, _ in year.by_month],
                "values": [p for _, p in year.by_month],
            },
            "items": {
                "labels": [i for i, _ in year.by_item],
                "values": [p for _, p in year.by_item],
            },
        },
    }
    return _render_entries(request, villager, "points/my_entries.html", extra)


@login_required
def villager_entries(request, villager_id: int):
    """Show one villager's balances and ledger entries to staff who may see that village.

    Anyone else gets 404, the same as for an id that does not exist, so the
    page does not reveal which villager ids exist.
    """
    villager = get_object_or_404(Villager.objects.select_related("household"), pk=villager_id)
    if not _may_view_entries(request.user, villager.household):
        raise Http404
    return _render_entries(request, villager, "points/villager_entries.html")


def _render_entries(request, villager: Villager, template: str, extra: dict | None = None):
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
            "today": today,
            "stars": (
                selectors.star_level(
                    village_id=villager.household.village_id,
                    year=today.year,
                    points=household_totals.year,
                ),
                household_totals.year,
            ),
            "page": entries.get_page(request.GET.get("page")),
            **(extra or {}),
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


def _may_view_village(user: User, village_id: int) -> bool:
    """Return whether ``user`` is staff of the village or a township viewer over it."""
    if can_act_in_village(user, village_id):
        return True
    return user.is_staff and villages_for(user).filter(pk=village_id).exists()


def _may_view_entries(user: User, household: Household) -> bool:
    """Return whether ``user`` is staff who may see the household's district.

    That is staff of the village who see every district, the secretary of the
    household's district, and township viewers over the village.
    """
    return user.is_staff and can_see_district(
        user, district_id=household.district_id, village_id=household.village_id
    )


# Explanations ---------------------------------------------------------------------


@login_required
def villager_explanation(request, villager_id: int):
    """List every entry behind a villager's balances: to staff of the village and to the villager."""
    villager = explainable_villager(request.user, villager_id)
    data = selectors.villager_explanation(villager)
    return render(request, "points/explanation.html", {"data": data, "subject": villager})


@login_required
def household_explanation(request, household_id: int):
    """List every entry behind a household's balances, with its star level."""
    household = explainable_household(request.user, household_id)
    data = selectors.household_explanation(household, year=timezone.localdate().year)
    shown = _entries_shown(data, month=request.GET.get("month"), item=request.GET.get("item"))
    return render(request, "points/explanation.html", {"data": data, "subject": household, **shown})


def _entries_shown(data: dict, *, month: str | None, item: str | None) -> dict:
    """Keep only the entries of one month ("2026-12") or one governance item, when asked."""
    if month:
        data["entries"] = [e for e in data["entries"] if e["act_date"].startswith(month + "-")]
        return {"only": month}
    if item:
        data["entries"] = [e for e in data["entries"] if e["item"] == item]
        return {"only": item}
    return {}


def explainable_villager(user: User, villager_id: int) -> Villager:
    """Return the villager if ``user`` may see their points in detail, else raise 404."""
    villager = get_object_or_404(Villager.objects.select_related("household"), pk=villager_id)
    if villager.user_id != user.pk and not _may_view_entries(user, villager.household):
        raise Http404
    return villager


def explainable_household(user: User, household_id: int) -> Household:
    household = get_object_or_404(Household, pk=household_id)
    member = Villager.objects.filter(user=user, household=household).exists()
    if not member and not _may_view_entries(user, household):
        raise Http404
    return household


# Public notice board and objections ---------------------------------------------------------


@login_required
def notice_board(request, village_id: int):
    """Show the village's claims on public notice, each with an objection form."""
    village = get_object_or_404(Village, pk=village_id)
    is_villager = _is_villager_of(request.user, village.pk)
    if not is_villager and not _may_view_village(request.user, village.pk):
        raise Http404
    display = village.ranking_name_display
    today = timezone.localdate()
    # Each claim gets its own form, with ids unique on the page (id_claim12_reason);
    # the field names stay plain, so claim_object reads them as before.
    claims = [
        (
            claim,
            selectors.notice_public_name(claim.villager, display, today),
            ObjectionForm(auto_id=f"id_claim{claim.pk}_%s"),
        )
        for claim in selectors.notice_board(village=village, now=timezone.now())
    ]
    return render(
        request,
        "points/notice_board.html",
        {
            "village": village,
            "claims": claims,
            "may_object": is_villager,
        },
    )


@login_required
@require_POST
def claim_object(request, claim_id: int):
    """Raise an objection to a claim on notice, then return to the board."""
    claim = get_object_or_404(Claim.objects.select_related("villager__household"), pk=claim_id)
    village_id = claim.villager.household.village_id
    if not _is_villager_of(request.user, village_id):
        raise Http404
    form = ObjectionForm(request.POST)
    if not form.is_valid():
        for error in form.errors.get("reason", []):
            messages.error(request, str(error))
        return redirect("notice-board", village_id=village_id)
    try:
        services.objection_raise(
            actor=request.user, claim_id=claim.pk, reason=form.cleaned_data["reason"]
        )
    except (PermissionDenied, ValidationError) as error:
        messages.error(request, " ".join(getattr(error, "messages", [str(error)])))
    else:
        messages.success(
            request, _("Your objection was recorded; the village office will review it.")
        )
    return redirect("notice-board", village_id=village_id)


def _is_villager_of(user: User, village_id: int) -> bool:
    return Villager.objects.filter(
        user=user, household__village_id=village_id, status=Villager.Status.ACTIVE
    ).exists()


# Ways in: a villager's own claim, staff batch entry ------------------------------------------


@login_required
def claim_for_self(request):
    """Let a signed-in villager claim points for themself, with a photo where needed."""
    villager = Villager.objects.select_related("household").filter(user=request.user).first()
    if villager is None:
        return render(request, "points/not_linked.html")
    form = SelfClaimForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.claim_submit(
                actor=request.user,
                villager=villager,
                rule=form.cleaned_data["rule"],
                act_date=form.cleaned_data["act_date"],
                note=form.cleaned_data["note"],
                photo=form.cleaned_data.get("photo"),
                submission_key=form.cleaned_data["form_key"],
                channel=Claim.Channel.SELF,
            )
        except ValidationError as error:
            form.add_error(claim_error_field(error, form), error)
        except PermissionDenied as error:
            form.add_error(None, str(error))
        else:
            success_once(request, _("Your claim was sent; an approver will review it."))
            return redirect("my-entries")
    return render(request, "points/claim_self.html", {"form": form, "villager": villager})


@login_required
def batch_entry(request):
    """Record one rule for many villagers at once (everyone at a meeting), all or none."""
    user = request.user
    if not user.is_staff or user.village_id is None or not user.has_perm("points.add_claim"):
        raise Http404
    form = BatchEntryForm(
        request.POST or None,
        village_id=user.village_id,
        villagers=scope_to_districts(Villager.objects.all(), user, "household__district"),
    )
    household = request.GET.get("household")
    if household and request.method != "POST":
        # Quick entry from the workbench or a door plaque lists one household only.
        villagers = form.fields["villagers"]
        villagers.queryset = villagers.queryset.filter(household__number=household)  # type: ignore[attr-defined]
    if request.method == "POST" and form.is_valid():
        try:
            claims = services.claim_batch_submit(
                actor=user,
                rule=form.cleaned_data["rule"],
                villagers=form.cleaned_data["villagers"],
                act_date=form.cleaned_data["act_date"],
                note=form.cleaned_data["note"],
                batch_key=form.cleaned_data["batch_key"],
            )
        except (PermissionDenied, ValidationError) as error:
            form.add_error(None, error if isinstance(error, ValidationError) else str(error))
        else:
            messages.success(
                request,
                ngettext(
                    "%(count)d claim recorded; it waits for an approver.",
                    "%(count)d claims recorded; they wait for an approver.",
                    len(claims),
                )
                % {"count": len(claims)},
            )
            return redirect("batch-entry")
    return render(request, "points/batch_entry.html", {"form": form})


# Evidence photos ----------------------------------------------------------------------


@login_required
def claim_photo(request, claim_id: int):
    """Send a claim's photo to staff of the village, to the villager, and to the village while on notice."""
    claim = get_object_or_404(Claim.objects.select_related("villager__household"), pk=claim_id)
    village_id = claim.villager.household.village_id
    on_notice = claim.status in Claim.PENDING_POST
    allowed = (
        claim.villager.user_id == request.user.pk
        or _may_view_entries(request.user, claim.villager.household)
        # A claim on public notice shows on the village's notice board.
        or (on_notice and _is_villager_of(request.user, village_id))
        or (on_notice and _may_view_village(request.user, village_id))
    )
    if not allowed or not claim.photo:
        raise Http404
    response = FileResponse(claim.photo.open("rb"), content_type="image/jpeg")
    response["Cache-Control"] = "private, max-age=3600"
    return response


# Household door plaques ---------------------------------------------------------------


def household_public(request, household_id: int):
    """Show the page a door-plaque QR code opens, with only what the village shows on its rankings.

    A household that opted out of public rankings shows its number and village only.
    """
    household = get_object_or_404(Household.objects.select_related("village"), pk=household_id)
    today = timezone.localdate()
    context = {
        "household": household,
        "village": household.village,
        "today": today,
        "may_record": request.user.has_perm("points.add_claim")
        and can_act_in_village(request.user, household.village_id)
        and can_see_district(
            request.user, district_id=household.district_id, village_id=household.village_id
        ),
    }
    if not household.ranking_opt_out:
        stars, points = selectors.household_stars(household=household, year=today.year)
        context.update(
            shown=points >= 0,
            stars=stars,
            points=points,
            rank=selectors.household_rank(household=household, year=today.year, today=today),
            head=selectors.household_public_head(household=household, today=today),
        )
    return render(request, "points/household_public.html", context)


@login_required
def plaque_sheet(request, district_id: int):
    """Render a printable A4 sheet of one district's door plaques, one QR code per household."""
    district = get_object_or_404(District.objects.select_related("village"), pk=district_id)
    user = request.user
    if (
        not user.has_perm("villagers.view_household")
        or not can_act_in_village(user, district.village_id)
        or not can_see_district(user, district_id=district.pk, village_id=district.village_id)
    ):
        raise Http404
    households = Household.objects.filter(district=district).order_by("number")
    plaques = [
        (
            household,
            qr_svg(request.build_absolute_uri(reverse("household-public", args=[household.pk]))),
        )
        for household in households
    ]
    return render(request, "points/plaque_sheet.html", {"district": district, "plaques": plaques})


def qr_svg(url: str) -> str:
    """Return an inline SVG QR code of ``url``, drawn on the server by segno.

    The SVG holds only path data computed from the URL, never the URL as text,
    so it is safe to mark safe.
    """
    svg = segno.make(url, error="m").svg_inline(scale=4, dark="#000", light="#fff")
    return mark_safe(svg)  # noqa: S308  # nosec B308 B703
