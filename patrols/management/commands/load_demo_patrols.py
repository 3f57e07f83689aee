"""Add patrols, daily checks, a Tuesday meeting and waiting matters to the demo village."""

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from patrols.daily import patrols_check_recent_days
from patrols.meetings import follow_up_add, last_tuesday, meeting_create
from patrols.models import Matter, Meeting, Patrol
from patrols.services import (
    matter_move,
    matters_sweep_overdue,
    matters_sweep_reminders,
    matters_sweep_township,
    patrol_log,
)
from villagers.models import District, User, Village

DEMO_VILLAGE = "群英村"
PATROL_DAYS = 6


def _summary(patrols: int, reminders: int, escalated: int, township: int) -> str:
    """Say what the patrol scheme added, with the right plural for each count."""
    return _("Patrol scheme: %(patrols)s, %(reminders)s, %(village)s, %(township)s.") % {
        "patrols": ngettext("%(count)d patrol", "%(count)d patrols", patrols) % {"count": patrols},
        "reminders": ngettext("%(count)d reminder", "%(count)d reminders", reminders)
        % {"count": reminders},
        "village": ngettext(
            "%(count)d village escalation", "%(count)d village escalations", escalated
        )
        % {"count": escalated},
        "township": ngettext(
            "%(count)d township escalation", "%(count)d township escalations", township
        )
        % {"count": township},
    }


def _secretary(district: District) -> User:
    if district.secretary is None:
        raise CommandError(f"Demo district {district.name} has no secretary; run load_demo again.")
    return district.secretary


def _village_secretary(village: Village) -> User:
    if village.secretary is None:
        raise CommandError("Run load_demo first: the demo village has no secretary.")
    return village.secretary


class Command(BaseCommand):
    help = "Add patrol-scheme activity to the demo village that load_demo created."

    @transaction.atomic
    def handle(self, *args, **options):
        village = Village.objects.filter(name=DEMO_VILLAGE).select_related("secretary").first()
        if village is None or village.secretary is None:
            raise CommandError("Run load_demo first: the demo village 群英村 is missing.")
        now = timezone.now()
        self._align_due_times(village)
        self._log_patrols(village, now)
        self._wait_on_villagers(village)
        self._hold_meeting(village)
        patrols_check_recent_days(today=timezone.localdate())
        reminded = matters_sweep_reminders(now=now)
        escalated = matters_sweep_overdue(now=now)
        township = matters_sweep_township(now=now)
        patrols = Patrol.objects.filter(district__village=village).count()
        self.stdout.write(_summary(patrols, len(reminded), len(escalated), len(township)))

    def _align_due_times(self, village: Village) -> None:
        # load_demo moves deadlines into the past; the other due times follow them.
        matters = Matter.objects.filter(village=village)
        matters.update(
            time_limit=F("deadline") - F("reported_at"),
            remind_at=F("deadline") - timedelta(minutes=15),
        )
        matters.filter(severity=Matter.Severity.BIG).update(township_due_at=F("deadline"))
        matters.exclude(severity=Matter.Severity.BIG).update(
            township_due_at=F("deadline") + F("time_limit")
        )

    def _log_patrols(self, village: Village, now) -> None:
        # Every district patrols each day except the last district every third day.
        districts = list(village.districts.select_related("secretary").order_by("name"))
        for days_back in range(PATROL_DAYS, 0, -1):
            day_start = timezone.localtime(now - timedelta(days=days_back)).replace(
                hour=8, minute=0, second=0, microsecond=0
            )
            for index, district in enumerate(districts):
                if index == len(districts) - 1 and days_back % 3 == 0:
                    continue
                started_at = day_start + timedelta(minutes=20 * index)
                if Patrol.objects.filter(
                    secretary=_secretary(district), started_at=started_at
                ).exists():
                    continue
                try:
                    patrol_log(
                        actor=_secretary(district),
                        district=district,
                        started_at=started_at,
                        ended_at=started_at + timedelta(minutes=65),
                        notes="巡查正常",
                    )
                except ValidationError:
                    continue  # load_demo already logged a patrol at this time.

    def _wait_on_villagers(self, village: Village) -> None:
        for matter in Matter.objects.filter(village=village, status=Matter.Status.IN_PROGRESS)[:2]:
            matter_move(
                actor=_secretary(matter.district), matter_id=matter.pk, status=Matter.Status.WAITING
            )

    def _hold_meeting(self, village: Village) -> None:
        tuesday = last_tuesday(timezone.localdate())
        if Meeting.objects.filter(village=village, date=tuesday).exists():
            return
        secretaries = [_secretary(district) for district in village.districts.all()]
        meeting = meeting_create(
            actor=_village_secretary(village),
            village=village,
            date=tuesday,
            attendees=[_village_secretary(village), *secretaries],
            minutes="各片区汇报本周问题，逐项商定解决办法。",
        )
        for item in meeting.agenda.select_related("matter__district__secretary")[:3]:
            follow_up_add(
                actor=_village_secretary(village),
                meeting=meeting,
                decision=f"{item.matter_title}：本周内处理完毕并回访",
                owner=_secretary(item.matter.district),
                due_date=tuesday + timedelta(days=7),
                matter=item.matter,
            )
