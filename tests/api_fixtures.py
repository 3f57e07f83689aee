"""Tokens, clients and data shared by the API tests."""

from datetime import date, timedelta

from django.test import Client

from api.services import token_issue
from patrols.services import matter_move, matter_report
from points.services import claim_approve, claim_submit, entry_reverse
from villagers import roles

from .factories import UserFactory, rule

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
    """Submit and approve a claim in the villager's village; return the ledger entry."""
    village_b = villager.household.village_id == world.village_b.pk
    recorder = world.outsider if village_b else world.recorder
    approver = world.approver_b if village_b else world.approver
    claim = claim_submit(
        actor=recorder, villager=villager, rule=points_rule or rule(), act_date=act_date
    )
    return claim_approve(actor=approver, claim_id=claim.pk)


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
    return world
