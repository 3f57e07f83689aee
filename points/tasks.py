"""Scheduled work on claims, objections and balances; each task calls one service."""

import logging

from celery import shared_task
from django.utils import timezone

from . import services

logger = logging.getLogger(__name__)


@shared_task
def post_due_claims() -> int:
    """Post claims whose public notice ended with no open objection."""
    return len(services.claims_post_due(now=timezone.now()))


@shared_task
def flag_overdue_objections() -> int:
    """Flag objections left undecided past their review deadline."""
    return services.objections_flag_overdue(now=timezone.now())


@shared_task
def reconcile_balances() -> int:
    """Compare every balance with its entries; return the number of differences."""
    run = services.balances_reconcile(now=timezone.now())
    return run.mismatch_count


@shared_task
def reset_redeemable_points() -> int:
    """Reset redeemable points for the current year, once; later runs post nothing."""
    now = timezone.now()
    return services.redeemable_reset(year=timezone.localdate(now).year, now=now)
