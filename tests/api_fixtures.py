"""Tokens, clients and data shared by the API tests."""

from datetime import date, timedelta

from django.test import Client

from api.services import token_issue
from patrols.daily import district_check_day
from patrols.meetings import follow_up_add, meeting_create
from patrols.models import DailyPatrolCheck
from patrols.services import matter_move, matter_report
from points.models import PointsPolicy, StarThreshold
from points.services import claim_approve, claim_submit, entry_reverse, objection_raise
from villagers import roles

from .factories import UserFactory, approve_and_post, rule

ACT_DATE = date(2026, 11, 20)


def token_for(user, *, write: bool = False, days: int = 30) -> str:
    """Issue a token for ``user`` and return its secret."""
    return token_issue(actor=None, user=user, days=days, can_write=write)[1]


def client_for(secret: str, language: str | None = None) -> Client:
    headers = {"HTTP_AUTHORIZATION": f"Token {secret}"}
    if language:
        headers["HTTP_ACCEPT_LANGUAGE"] = language
    return Client(**headers)


def post_points(world, villager, *, points_rule=None, act_date=ACT_DATE):
    """Submit and approve a claim in the villager's village; return the ledger entry.

    The village gets no public notice days, so the approval posts the claim at once.
    """
    village_b = villager.household.village_id == world.village_b.pk
    recorder = world.outsider if village_b else world.recorder
    approver = world.approver_b if village_b else world.approver
    claim = claim_submit(
        actor=recorder, villager=villager, rule=points_rule or rule(), act_date=act_date
    )
    return approve_and_post(actor=approver, claim_id=claim.pk)


def build_api_world(world):
    """Add to ``world`` ledger entries and matters in villages A and B, and B's staff."""
    world.approver_b = UserFactory(
        username="shenheyuan_b", village=world.village_b, is_staff=True, roles=[roles.APPROVER]
    )
    world.secretary_b1 = UserFactory(
        username="pianqu_b1",
        village=world.village_b,
        is_staff=True,
        roles=[roles.DISTRICT_SECRETARY],
    )
    world.district_b1.secretary = world.secretary_b1
    world.district_b1.save()

    world.entry_a = post_points(world, world.villager)
    world.entry_a2 = post_points(world, world.neighbour, act_date=ACT_DATE - timedelta(days=40))
    world.entry_reversed = post_points(world, world.spouse)
    world.reversal = entry_reverse(
        actor=world.approver, entry_id=world.entry_reversed.pk, reason="记错了人"
    )
    world.entry_b = post_points(world, world.villager_b)

    world.matter_a = matter_report(
        actor=world.secretary_a1, district=world.district_a1, severity="medium", title="路灯不亮"
    )
    world.matter_a_closed = matter_report(
        actor=world.secretary_a1, district=world.district_a1, severity="big", title="河道垃圾"
    )
    matter_move(
        actor=world.secretary_a1,
        matter_id=world.matter_a_closed.pk,
        status="resolved",
        resolution="已清理",
    )
    world.matter_b = matter_report(
        actor=world.secretary_b1, district=world.district_b1, severity="small", title="外村事项"
    )
    add_notice_and_stars(world)
    add_patrol_checks_and_meetings(world)
    return world


def add_notice_and_stars(world) -> None:
    """Put two claims of village A on public notice, one objected to; set A's star thresholds."""
    PointsPolicy.objects.filter(village=world.village_a).update(notice_days=7)
    world.claim_notice = _approved_claim(world, world.neighbour)
    world.claim_objected = _approved_claim(world, world.spouse)
    world.objection = objection_raise(
        actor=world.villager_user, claim_id=world.claim_objected.pk, reason="那天没看到他"
    )
    world.claim_b = claim_submit(
        actor=world.outsider, villager=world.villager_b, rule=rule(), act_date=ACT_DATE
    )
    points = world.entry_a.points
    world.star_thresholds = [
        StarThreshold.objects.create(
            village=world.village_a, year=ACT_DATE.year, stars=1, min_points=1
        ),
        StarThreshold.objects.create(
            village=world.village_a, year=ACT_DATE.year, stars=2, min_points=points
        ),
        StarThreshold.objects.create(
            village=world.village_a, year=ACT_DATE.year, stars=3, min_points=points + 1
        ),
        StarThreshold.objects.create(
            village=world.village_b, year=ACT_DATE.year, stars=1, min_points=1
        ),
    ]


def _approved_claim(world, villager):
    claim = claim_submit(actor=world.recorder, villager=villager, rule=rule(), act_date=ACT_DATE)
    return claim_approve(actor=world.approver, claim_id=claim.pk)


def add_patrol_checks_and_meetings(world) -> None:
    """Record patrol checks of two days in A's districts and B's, and a meeting in A and B."""
    for district in (world.district_a1, world.district_a2, world.district_b1):
        district_check_day(district=district, day=ACT_DATE)
    # A kept day is recorded directly: patrols long enough would need a real patrol clock.
    DailyPatrolCheck.objects.create(
        district=world.district_a1,
        day=ACT_DATE + timedelta(days=1),
        secretary=world.secretary_a1,
        qualifying_patrols=2,
        kept=True,
        checked_at=world.matter_a.reported_at,
    )
    world.meeting_a = meeting_create(
        actor=world.village_admin,
        village=world.village_a,
        date=ACT_DATE,
        attendees=[world.secretary_a1, world.secretary_a2],
        minutes="讨论路灯",
    )
    world.follow_up_a = follow_up_add(
        actor=world.village_admin,
        meeting=world.meeting_a,
        decision="一周内修好路灯",
        owner=world.secretary_a1,
        due_date=ACT_DATE + timedelta(days=7),
        matter=world.matter_a,
    )
    world.meeting_b = meeting_create(
        actor=world.outsider, village=world.village_b, date=ACT_DATE, attendees=[]
    )
    world.follow_up_b = follow_up_add(
        actor=world.outsider,
        meeting=world.meeting_b,
        decision="外村决定",
        owner=world.outsider,
        due_date=ACT_DATE + timedelta(days=7),
    )
