"""Read queries shared by the points pages and API: rankings, balances, notice, explanations."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.contrib.postgres.expressions import ArraySubquery
from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce, ExtractMonth, JSONObject
from django.urls import reverse
from django.utils import timezone

from villagers.models import HEAD_RELATION, District, Household, User, Village, Villager

from .models import Balance, Category, Claim, LedgerEntry, Rule, StarThreshold
from .periods import ALL_TIME, month_key, period_bounds, quarter_key, year_key

# The boards list at most this many rows, so accounts tied with the last row may be cut.
RANKING_SIZE = 100

# Children younger than this never appear by name on a public ranking.
MINIMUM_RANKING_AGE = 14


@dataclass(frozen=True)
class RankingRow:
    """One place on a board.

    ``household_number`` is empty on a villager row that shows a name, and
    ``name`` is empty where the village shows household numbers only.
    """

    rank: int
    points: int
    household_number: str
    name: str


@dataclass(frozen=True)
class Ranking:
    rows: list[RankingRow]
    # True when the period has more accounts than the board shows.
    truncated: bool


@dataclass(frozen=True)
class Totals:
    """Points of one account this month, this year and all time."""

    month: int = 0
    year: int = 0
    all_time: int = 0


def ranking_period(kind: str, day: date) -> str:
    """Return the balance period key of the month, quarter or year containing ``day``."""
    if kind == "month":
        return month_key(day)
    if kind == "quarter":
        return quarter_key(day)
    if kind == "year":
        return year_key(day)
    raise ValueError(f"rankings cover a month or a year, not {kind!r}")


def mask_name(name: str) -> str:
    """Keep the first and last character and hide the rest: 张*明, 欧*明, 张*.

    One asterisk stands for any number of hidden characters, so the mask does
    not give away the length of the name.
    """
    name = name.strip()
    if len(name) <= 2:
        return name[:1] + "*"
    return f"{name[0]}*{name[-1]}"


def public_name(name: str, display: str) -> str:
    """Return the form of ``name`` that a ranking may show under ``display``."""
    if display == Village.NameDisplay.FULL:
        return name.strip()
    if display == Village.NameDisplay.MASKED:
        return mask_name(name)
    return ""


def notice_public_name(villager: Villager, display: str, today: date) -> str:
    """Return the villager's name as the notice board shows it, or "" for a minor.

    A villager under the minimum ranking age is never named in public; the
    board shows their household number only.
    """
    if villager.birth_date > latest_birth_date_ranked(today):
        return ""
    return public_name(villager.name, display)


def latest_birth_date_ranked(today: date) -> date:
    """Return the latest birth date of a villager old enough to be ranked by name."""
    year = today.year - MINIMUM_RANKING_AGE
    try:
        return today.replace(year=year)
    except ValueError:
        # Today is 29 February and that year has none: someone born on
        # 28 February has had the birthday, someone born on 1 March has not.
        return date(year, 2, 28)


def household_ranking(
    *, village: Village, period: str, today: date, district_id: int | None = None
) -> Ranking:
    """Rank the village's (or one district's) households by their points in ``period``, in one query.

    A household shows its number, and its head's name in the form the village
    allows, unless the head is not active, does not take part in points or is
    under the minimum age. Households that opted out, households with no
    member taking part, and households with a net deduction are left out.
    """
    display = village.ranking_name_display
    taking_part = Villager.objects.taking_part().filter(household=OuterRef("household_id"))
    balances = _ranked_household_balances(village=village, period=period).order_by(
        "-points", "household__number"
    )
    if district_id is not None:
        balances = balances.filter(household__district_id=district_id)
    if display == Village.NameDisplay.HOUSEHOLD_NUMBER:
        numbers = balances.values_list("points", "household__number")[: RANKING_SIZE + 1]
        rows = [(points, number, "") for points, number in numbers]
    else:
        head = taking_part.filter(
            relation_to_head=HEAD_RELATION,
            birth_date__lte=latest_birth_date_ranked(today),
        ).order_by("id")
        rows = list(
            balances.annotate(head_name=Subquery(head.values("name")[:1])).values_list(
                "points", "household__number", "head_name"
            )[: RANKING_SIZE + 1]
        )

    return _household_board(rows, display)


def _ranked_household_balances(*, village: Village, period: str) -> QuerySet[Balance]:
    """Return the honour balances in ``period`` of the households a public board may show."""
    taking_part = Villager.objects.taking_part().filter(household=OuterRef("household_id"))
    return Balance.objects.filter(
        Exists(taking_part),
        village=village,
        account=Balance.Account.HONOUR,
        period=period,
        household__isnull=False,
        household__ranking_opt_out=False,
        points__gte=0,
    )


def _household_board(rows: list[tuple], display: str) -> Ranking:
    """Build the board from (points, household number, head name) rows, one more than shown."""
    ranked = []
    for rank, (points, number, head_name) in _ranks(rows[:RANKING_SIZE]):
        name = public_name(head_name, display) if head_name else ""
        ranked.append(RankingRow(rank=rank, points=points, household_number=number, name=name))
    return Ranking(rows=ranked, truncated=len(rows) > RANKING_SIZE)


def villager_ranking(
    *, village: Village, period: str, today: date, district_id: int | None = None
) -> Ranking:
    """Rank the village's (or one district's) villagers by their points in ``period``, in one query.

    Left out: villagers who are not active, whose population type does not
    take part, who are under the minimum age, whose household opted out, or
    whose points are a net deduction.
    """
    display = village.ranking_name_display
    balances = Balance.objects.filter(
        village=village,
        account=Balance.Account.HONOUR,
        period=period,
        villager__in=Villager.objects.taking_part(),
        villager__birth_date__lte=latest_birth_date_ranked(today),
        villager__household__ranking_opt_out=False,
        points__gte=0,
    )
    if district_id is not None:
        balances = balances.filter(villager__household__district_id=district_id)
    rows = list(
        balances.order_by("-points", "villager__household__number", "villager_id").values_list(
            "points", "villager__household__number", "villager__name"
        )[: RANKING_SIZE + 1]
    )

    return _villager_board(rows, display)


def _villager_board(rows: list[tuple], display: str) -> Ranking:
    """Build the board from (points, household number, name) rows, one more than shown."""
    ranked = []
    for rank, (points, number, name) in _ranks(rows[:RANKING_SIZE]):
        if display == Village.NameDisplay.HOUSEHOLD_NUMBER:
            row = RankingRow(rank=rank, points=points, household_number=number, name="")
        else:
            row = RankingRow(
                rank=rank, points=points, household_number="", name=public_name(name, display)
            )
        ranked.append(row)
    return Ranking(rows=ranked, truncated=len(rows) > RANKING_SIZE)


def item_ranking(
    *,
    village: Village,
    category: Category,
    board: str,
    period_kind: str,
    today: date,
    district_id: int | None = None,
) -> Ranking:
    """Rank households or villagers by their points for one governance item in a period.

    Summed from ledger entries, since balances are not kept per item; the same
    people are left out as on the overall boards.
    """
    start, end = period_bounds(period_kind, today)
    entries = LedgerEntry.objects.filter(
        village=village,
        category=category,
        kind__in=LedgerEntry.HONOUR_KINDS,
        act_date__range=(start, end),
    )
    if district_id is not None:
        entries = entries.filter(household__district_id=district_id)
    display = village.ranking_name_display
    if board == "household":
        return _household_board(_household_item_rows(entries, today), display)
    rows = list(
        entries.filter(
            villager__in=Villager.objects.taking_part(),
            villager__birth_date__lte=latest_birth_date_ranked(today),
            villager__household__ranking_opt_out=False,
        )
        .values("villager_id")
        .annotate(total=Sum("points"))
        .filter(total__gte=0)
        .order_by("-total", "villager__household__number", "villager_id")
        .values_list("total", "villager__household__number", "villager__name")[: RANKING_SIZE + 1]
    )
    return _villager_board(rows, display)


def _household_item_rows(entries: QuerySet[LedgerEntry], today: date) -> list[tuple]:
    taking_part = Villager.objects.taking_part().filter(household=OuterRef("household_id"))
    head = taking_part.filter(
        relation_to_head=HEAD_RELATION, birth_date__lte=latest_birth_date_ranked(today)
    ).order_by("id")
    return list(
        entries.filter(Exists(taking_part), household__ranking_opt_out=False)
        .values("household_id")
        .annotate(total=Sum("points"), head_name=Subquery(head.values("name")[:1]))
        .filter(total__gte=0)
        .order_by("-total", "household__number")
        .values_list("total", "household__number", "head_name")[: RANKING_SIZE + 1]
    )


def _ranks(rows: list[tuple]):
    """Yield (rank, row) for rows sorted by points, highest first, in the first column.

    Equal points share a rank and the next rank skips the places they took
    (standard competition ranking: 1, 2, 2, 4).
    """
    rank = 0
    previous_points = None
    for place, row in enumerate(rows, start=1):
        if row[0] != previous_points:
            rank = place
            previous_points = row[0]
        yield rank, row


def villager_totals(villager: Villager, today: date) -> tuple[Totals, Totals]:
    """Return the villager's and their household's totals, read from Balance in one query."""
    periods = {month_key(today): "month", year_key(today): "year", ALL_TIME: "all_time"}
    rows = Balance.objects.filter(
        Q(villager=villager) | Q(household_id=villager.household_id),
        account=Balance.Account.HONOUR,
        period__in=periods,
    ).values_list("villager_id", "period", "points")

    own: dict[str, int] = {}
    household: dict[str, int] = {}
    for villager_id, period, points in rows:
        target = own if villager_id is not None else household
        target[periods[period]] = points
    return Totals(**own), Totals(**household)


def villager_entries(villager: Villager) -> QuerySet[LedgerEntry]:
    """Return the villager's ledger entries, newest act first.

    ``is_reversed`` marks an entry that a later entry cancelled. A reversal
    keeps the original's act date and is posted later, so it sorts just above
    the entry it cancels.
    """
    return (
        LedgerEntry.objects.filter(villager=villager)
        .annotate(is_reversed=Exists(LedgerEntry.objects.filter(reverses=OuterRef("pk"))))
        .order_by("-act_date", "-posted_at", "-id")
    )


# Star households ------------------------------------------------------------------


def household_stars(*, household: Household, year: int) -> tuple[int, int]:
    """Return the household's star level and its honour points in ``year``."""
    points = (
        Balance.objects.filter(
            household=household, account=Balance.Account.HONOUR, period=str(year)
        )
        .values_list("points", flat=True)
        .first()
        or 0
    )
    return star_level(village_id=household.village_id, year=year, points=points), points


def star_level(*, village_id: int, year: int, points: int) -> int:
    """Return the highest star level whose threshold for ``year`` the points reach.

    Each village sets its thresholds per year; 0 when none is reached or none is set.
    """
    return (
        StarThreshold.objects.filter(village_id=village_id, year=year, min_points__lte=points)
        .order_by("-stars")
        .values_list("stars", flat=True)
        .first()
        or 0
    )


# Public notice board ------------------------------------------------------------------


def notice_board(*, village: Village, now: datetime) -> QuerySet[Claim]:
    """Return the village's claims on public notice now, the soonest to end first."""
    return (
        Claim.objects.filter(
            villager__household__village=village,
            status__in=Claim.PENDING_POST,
            notice_ends_at__gt=now,
        )
        .select_related("villager__household", "rule__category")
        .order_by("notice_ends_at", "id")
    )


# Explanations ------------------------------------------------------------------------


def villager_explanation(villager: Villager) -> dict:
    """Return the villager's balances and every entry behind them, as plain data."""
    entries = LedgerEntry.objects.filter(villager=villager)
    balance_rows = (
        Balance.objects.filter(villager=villager)
        .order_by("account", "period")
        .values("account", "period", "points", "entry_count")
    )
    data = _explain(entries, balance_rows)
    data["villager"] = {
        "id": villager.pk,
        "name": villager.name,
        "household": villager.household.number,
    }
    return data


def household_explanation(household: Household, *, year: int) -> dict:
    """Return the household's balances, star level and every entry behind them.

    The balances, the honour points of ``year`` and the star level they reach
    come from one query, so the explanation always takes two.
    """
    entries = LedgerEntry.objects.filter(household=household)
    summary = _household_summary(household, year=year)
    data = _explain(entries, summary["balance_rows"])
    data["household"] = {"id": household.pk, "number": household.number}
    data["stars"] = {
        "year": year,
        "stars": summary["stars"],
        "honour_points": summary["year_points"],
    }
    return data


def _household_summary(household: Household, *, year: int) -> dict:
    """Return the household's balance rows, honour points in ``year`` and star level."""
    year_points = Balance.objects.filter(
        household=OuterRef("pk"), account=Balance.Account.HONOUR, period=str(year)
    ).values("points")[:1]
    stars = (
        StarThreshold.objects.filter(
            village_id=OuterRef("village_id"), year=year, min_points__lte=OuterRef("year_points")
        )
        .order_by("-stars")
        .values("stars")[:1]
    )
    balance_rows = (
        Balance.objects.filter(household=OuterRef("pk"))
        .order_by("account", "period")
        .values(
            row=JSONObject(
                account="account", period="period", points="points", entry_count="entry_count"
            )
        )
    )
    summary = (
        Household.objects.filter(pk=household.pk)
        .annotate(year_points=Coalesce(Subquery(year_points), 0))
        .annotate(stars=Coalesce(Subquery(stars), 0))
    )
    if connection.vendor == "postgresql":
        return (
            summary.annotate(balance_rows=ArraySubquery(balance_rows))
            .values("year_points", "stars", "balance_rows")
            .get()
        )
    # SQLite, which the no-server demo runs on, has no arrays: read the
    # balance rows with a second query.
    result = summary.values("year_points", "stars").get()
    result["balance_rows"] = list(
        Balance.objects.filter(household=household)
        .order_by("account", "period")
        .values("account", "period", "points", "entry_count")
    )
    return result


def _explain(entries: QuerySet[LedgerEntry], balance_rows: Iterable[Mapping[str, Any]]) -> dict:
    rows = list(
        entries.select_related(
            "rule",
            "recorded_by",
            "approved_by",
            "claim__first_approved_by",
            "reversed_by",
        ).order_by("act_date", "posted_at", "id")
    )
    honour_sum = sum(row.points for row in rows if row.kind in LedgerEntry.HONOUR_KINDS)
    return {
        "balances": [
            {
                "account": row["account"],
                "period": row["period"],
                "points": row["points"],
                "entries": row["entry_count"],
            }
            for row in balance_rows
        ],
        "honour_sum_of_entries": honour_sum,
        "redeemable_sum_of_entries": sum(row.points for row in rows),
        "entries": [_explain_entry(row) for row in rows],
    }


def _explain_entry(entry: LedgerEntry) -> dict:
    claim = entry.claim
    reversed_by = getattr(entry, "reversed_by", None)
    return {
        "id": entry.pk,
        "kind": entry.kind,
        "kind_label": str(entry.get_kind_display()),
        "act_date": entry.act_date.isoformat(),
        "posted_at": _iso(entry.posted_at),
        "points": entry.points,
        "villager": entry.villager_name,
        "item": entry.category_name,
        "rule": _explain_rule(entry.rule),
        "evidence": _explain_evidence(claim),
        "recorded_by": _person(entry.recorded_by),
        "first_approved_by": _person(claim.first_approved_by) if claim else None,
        "approved_by": _person(entry.approved_by),
        "notice_from": _iso(claim.notice_starts_at) if claim else None,
        "notice_until": _iso(claim.notice_ends_at) if claim else None,
        "reverses": entry.reverses_id,
        "reversed_by": reversed_by.pk if reversed_by else None,
        "reason": entry.reason,
        "idempotency_key": entry.idempotency_key,
    }


def _explain_rule(rule: Rule | None) -> dict | None:
    if rule is None:
        return None
    return {
        "id": rule.pk,
        "title": rule.title,
        "version": rule.version,
        "points": rule.points,
        "valid_from": rule.valid_from.isoformat(),
        "valid_to": rule.valid_to.isoformat() if rule.valid_to else None,
    }


def _explain_evidence(claim: Claim | None) -> dict | None:
    if claim is None:
        return None
    return {
        "claim": claim.pk,
        "channel": claim.channel,
        "note": claim.note,
        "photo_url": reverse("claim-photo", args=[claim.pk]) if claim.photo else None,
        "recorded_at": claim.recorded_at.isoformat(),
    }


def _person(user: User | None) -> str | None:
    if user is None:
        return None
    return user.get_full_name() or user.get_username()


def _iso(moment: datetime | None) -> str | None:
    # Local time (Asia/Shanghai) with its offset: the pages show the first
    # 16 characters, which must be the villagers' own date and time.
    return timezone.localtime(moment).isoformat() if moment else None


# A villager's home page --------------------------------------------------------------


@dataclass(frozen=True)
class HouseholdYear:
    """A household's honour points in one year, by month and by governance item."""

    by_month: list[tuple[str, int]]
    by_item: list[tuple[str, int]]


def household_year(*, household: Household, year: int) -> HouseholdYear:
    """Return the household's honour points in ``year`` per month (all twelve) and per item."""
    entries = LedgerEntry.objects.filter(
        household=household, kind__in=LedgerEntry.HONOUR_KINDS, act_date__year=year
    )
    months = dict(
        entries.annotate(month=ExtractMonth("act_date"))
        .values("month")
        .annotate(total=Sum("points"))
        .values_list("month", "total")
    )
    by_item = list(
        entries.values("category_name")
        .annotate(total=Sum("points"))
        .order_by("-total", "category_name")
        .values_list("category_name", "total")
    )
    by_month = [(f"{year}-{month:02d}", months.get(month, 0)) for month in range(1, 13)]
    return HouseholdYear(by_month=by_month, by_item=by_item)


def household_rank(*, household: Household, year: int, today: date) -> int | None:
    """Return the household's place among the village's ranked households in ``year``.

    The place counts every ranked household, also those below the part of the
    board that is shown. It is None for a household the board leaves out.
    Equal points share a place, as on the board.
    """
    balances = _ranked_household_balances(village=household.village, period=str(year))
    own_points = balances.filter(household=household).values_list("points", flat=True).first()
    if own_points is None:
        return None
    return balances.filter(points__gt=own_points).count() + 1


def household_public_head(*, household: Household, today: date) -> str:
    """Return the head's name as the village shows it on rankings, or "" when it shows none."""
    head = (
        Villager.objects.taking_part()
        .filter(
            household=household,
            relation_to_head=HEAD_RELATION,
            birth_date__lte=latest_birth_date_ranked(today),
        )
        .order_by("id")
        .values_list("name", flat=True)
        .first()
    )
    return public_name(head, household.village.ranking_name_display) if head else ""


# Staff workbench -----------------------------------------------------------------------


def villager_search(
    *,
    village_id: int,
    text: str,
    districts: QuerySet[District] | None = None,
    limit: int = 20,
) -> QuerySet[Villager]:
    """Find active villagers of the village by name, household number or phone's last digits.

    ``districts``, when given, limits the search to households of those districts.
    """
    text = text.strip()
    if not text:
        return Villager.objects.none()
    match = Q(name__contains=text) | Q(household__number=text)
    if text.isdigit() and len(text) >= 4:
        match |= Q(phone__endswith=text)
    villagers = Villager.objects.filter(
        match, household__village_id=village_id, status=Villager.Status.ACTIVE
    )
    if districts is not None:
        villagers = villagers.filter(household__district__in=districts)
    return villagers.select_related("household").order_by("household__number", "id")[:limit]


def approval_queue(
    *,
    village_id: int,
    districts: QuerySet[District] | None = None,
    approver: User | None = None,
    limit: int | None = 30,
) -> QuerySet[Claim]:
    """Return the village's claims waiting for a first or second approval, oldest first.

    ``districts``, when given, limits the queue to villagers of those districts.
    ``approver``, when given, leaves out the claims the points services would
    not let them decide: those they recorded, approved first, or that are for
    their own household.
    """
    claims = Claim.objects.filter(
        villager__household__village_id=village_id,
        status__in=(Claim.Status.SUBMITTED, Claim.Status.AWAITING_SECOND),
    )
    if approver is not None:
        claims = claims.exclude(recorded_by=approver).exclude(first_approved_by=approver)
        own_household = (
            Villager.objects.filter(user=approver).values_list("household_id", flat=True).first()
        )
        if own_household is not None:
            claims = claims.exclude(villager__household_id=own_household)
    if districts is not None:
        claims = claims.filter(villager__household__district__in=districts)
    claims = claims.select_related("villager__household", "rule__category", "recorded_by")
    claims = claims.order_by("recorded_at", "id")
    return claims if limit is None else claims[:limit]


def points_by_item_per_month(
    *, village_id: int, year: int, districts: QuerySet[District] | None = None
) -> dict:
    """Return honour points of the village per governance item per month of ``year``, as chart data.

    ``districts``, when given, counts only the entries of households of those districts.
    """
    entries = LedgerEntry.objects.filter(
        village_id=village_id, kind__in=LedgerEntry.HONOUR_KINDS, act_date__year=year
    )
    if districts is not None:
        entries = entries.filter(household__district__in=districts)
    rows = (
        entries.annotate(month=ExtractMonth("act_date"))
        .values("category_name", "month")
        .annotate(total=Sum("points"))
        .values_list("category_name", "month", "total")
    )
    items: dict[str, list[int]] = {}
    for item, month, total in rows:
        items.setdefault(item, [0] * 12)[month - 1] = total
    return {
        "labels": [f"{year}-{month:02d}" for month in range(1, 13)],
        "series": [
            {"label": item, "values": values, "total": sum(values)}
            for item, values in sorted(items.items())
        ],
    }
