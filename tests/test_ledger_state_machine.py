"""A Hypothesis state machine over the claim workflow keeps every balance equal to its entries."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from points.models import Balance, Claim, LedgerEntry, Objection
from points.periods import period_bounds
from points.services import (
    balances_reconcile,
    claim_approve,
    claim_reject,
    claim_submit,
    claims_post_due,
    entry_reverse,
    objection_decide,
    objection_raise,
)

from . import factories

pytestmark = pytest.mark.django_db

# Dates on both sides of a quarter's end, and the last day of a year.
ACT_DATES = [date(2025, 12, 31), date(2026, 3, 31), date(2026, 4, 1), date(2026, 11, 20)]
REFUSALS = (PermissionDenied, ValidationError)


def expected_balance(balance: Balance) -> tuple[int, int]:
    """Sum the entries a balance covers, computed apart from the services' own code."""
    entries = LedgerEntry.objects.all()
    if balance.villager_id:
        entries = entries.filter(villager_id=balance.villager_id)
    else:
        entries = entries.filter(household_id=balance.household_id)
    if balance.account == Balance.Account.HONOUR:
        entries = entries.filter(kind__in=LedgerEntry.HONOUR_KINDS)
    if balance.period_kind != Balance.PeriodKind.ALL:
        start, end = period_bounds(balance.period_kind, period_start(balance.period))
        entries = entries.filter(act_date__gte=start, act_date__lte=end)
    return entries.aggregate(total=Sum("points"))["total"] or 0, entries.count()


def period_start(period: str) -> date:
    if "-Q" in period:
        year, quarter = period.split("-Q")
        return date(int(year), (int(quarter) - 1) * 3 + 1, 1)
    if "-" in period:
        year, month = period.split("-")
        return date(int(year), int(month), 1)
    return date(int(period), 1, 1)


def test_balances_equal_entries_in_any_order(world):
    scored_rules = [
        factories.rule("volunteer", 5),
        factories.rule("waste", -3),
        factories.rule("affairs", 20),
    ]
    scored_rules[2].second_approval_above = 10
    scored_rules[2].save()
    villagers = [world.villager, world.spouse, world.neighbour]
    approvers = [world.approver, world.second_approver, world.village_admin]

    class LedgerMachine(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            # Each run of the machine starts from the world fixture and is
            # rolled back at the end, so runs do not see each other's rows.
            self.atomic = transaction.atomic()
            self.atomic.__enter__()
            self.now = timezone.now()

        def teardown(self):
            transaction.set_rollback(True)
            self.atomic.__exit__(None, None, None)

        def attempt(self, call):
            try:
                with transaction.atomic():
                    call()
            except REFUSALS:
                pass

        def claims(self, *statuses):
            return list(Claim.objects.filter(status__in=statuses).order_by("id"))

        @initialize(
            plan=st.lists(
                st.tuples(st.sampled_from(villagers), st.sampled_from(scored_rules)),
                min_size=2,
                max_size=6,
            )
        )
        def start_with_claims(self, plan):
            # Runs start with a few claims already approved once, so the
            # steps below reach notice, objections and postings often.
            for villager, scored in plan:
                claim = claim_submit(
                    actor=world.recorder, villager=villager, rule=scored, act_date=ACT_DATES[2]
                )
                claim_approve(actor=world.approver, claim_id=claim.pk)

        @rule(
            villager=st.sampled_from(villagers),
            scored=st.sampled_from(scored_rules),
            act_date=st.sampled_from(ACT_DATES),
        )
        def submit(self, villager, scored, act_date):
            self.attempt(
                lambda: claim_submit(
                    actor=world.recorder, villager=villager, rule=scored, act_date=act_date
                )
            )

        @rule(index=st.integers(0, 50), approver=st.sampled_from(approvers))
        def approve(self, index, approver):
            open_claims = self.claims(Claim.Status.SUBMITTED, Claim.Status.AWAITING_SECOND)
            if open_claims:
                claim = open_claims[index % len(open_claims)]
                self.attempt(lambda: claim_approve(actor=approver, claim_id=claim.pk))

        @rule(index=st.integers(0, 50))
        def reject(self, index):
            open_claims = self.claims(Claim.Status.SUBMITTED)
            if open_claims:
                claim = open_claims[index % len(open_claims)]
                self.attempt(
                    lambda: claim_reject(actor=world.approver, claim_id=claim.pk, reason="不符")
                )

        @rule(index=st.integers(0, 50))
        def object(self, index):
            on_notice = self.claims(Claim.Status.IN_NOTICE, Claim.Status.OBJECTED)
            if on_notice:
                claim = on_notice[index % len(on_notice)]
                self.attempt(
                    lambda: objection_raise(
                        actor=world.villager_user, claim_id=claim.pk, reason="有疑问"
                    )
                )

        @rule(index=st.integers(0, 50), upheld=st.booleans())
        def decide(self, index, upheld):
            open_objections = list(
                Objection.objects.filter(status=Objection.Status.OPEN).order_by("id")
            )
            if open_objections:
                objection = open_objections[index % len(open_objections)]
                self.attempt(
                    lambda: objection_decide(
                        actor=world.village_admin,
                        objection_id=objection.pk,
                        upheld=upheld,
                        note="已核实",
                    )
                )

        @rule()
        def post(self):
            self.now += timedelta(days=4)
            claims_post_due(now=self.now)

        @rule(index=st.integers(0, 50))
        def reverse(self, index):
            awards = list(
                LedgerEntry.objects.filter(
                    kind=LedgerEntry.Kind.AWARD, reversed_by__isnull=True
                ).order_by("id")
            )
            if awards:
                entry = awards[index % len(awards)]
                self.attempt(
                    lambda: entry_reverse(actor=world.approver, entry_id=entry.pk, reason="冲正")
                )

        @invariant()
        def balances_equal_entries(self):
            for balance in Balance.objects.all():
                assert (balance.points, balance.entry_count) == expected_balance(balance), balance

        @invariant()
        def reconciliation_agrees(self):
            assert balances_reconcile(now=self.now).mismatch_count == 0

        @invariant()
        def posted_claims_have_one_entry(self):
            posted = Claim.objects.filter(status=Claim.Status.POSTED)
            assert LedgerEntry.objects.filter(claim__in=posted).count() == posted.count()
            assert (
                not LedgerEntry.objects.exclude(claim__status=Claim.Status.POSTED)
                .filter(claim__isnull=False)
                .exists()
            )

    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=40,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )
