"""Load the demo village: the invented 群英村 roster plus a season of activity.

This is the only place where the project invents activity. Every claim,
approval, reversal, patrol and matter goes through the same services as real
use, so balances, history and escalations are what real use would produce.
"""

import io
import random
from datetime import datetime, time, timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from PIL import Image

from patrols.models import Matter, Patrol
from patrols.services import matter_move, matter_report, matters_sweep_overdue, patrol_log
from points.models import Balance, Claim, LedgerEntry, Rule, StarThreshold
from points.services import (
    claim_approve,
    claim_reject,
    claim_submit,
    claims_post_due,
    entry_reverse,
    objection_decide,
    objection_raise,
    policy_for,
)
from villagers import roles
from villagers.models import District, Household, Township, User, Village, Villager
from villagers.roster import roster_import

ROSTER = Path(settings.BASE_DIR) / "data" / "roster_qunying.xlsx"
TOWNSHIP_NAME = "益农镇"
VILLAGE_NAME = "群英村"
# The demo villager also signs in with this invented phone number and DEMO_PASSWORD.
DEMO_PHONE = "13900000001"
DEMO_PASSWORD = "nengliang2026"  # noqa: S105 - printed for the demo's invented users
SEASON_DAYS = 100
CLAIM_COUNT = 1500
SEED = 20261204

MATTER_TITLES = [
    ("small", "路灯不亮"),
    ("small", "垃圾桶满溢未清运"),
    ("small", "门前杂物堆放"),
    ("medium", "邻里因排水沟起争执"),
    ("medium", "独居老人需要上门照护"),
    ("medium", "河道漂浮垃圾"),
    ("big", "违章搭建需要拆除"),
    ("big", "村道路面塌陷"),
]


class Command(BaseCommand):
    help = "Load the demo village 群英村: roster, staff logins and a season of points, patrols and matters."

    def add_arguments(self, parser):
        parser.add_argument(
            "--claims",
            type=int,
            default=CLAIM_COUNT,
            help=f"How many points claims to invent (default {CLAIM_COUNT}).",
        )

    def handle(self, *args, **options):
        if Village.objects.filter(name=VILLAGE_NAME, entries__isnull=False).exists():
            self.stdout.write("The demo village is already loaded.")
            self._print_logins()
            return
        if not ROSTER.exists():
            raise CommandError(f"The demo roster {ROSTER} is missing from the checkout.")

        # One transaction, so an interrupted load leaves nothing behind and the
        # next run starts over instead of finding a half-loaded village.
        with transaction.atomic():
            self._load(options["claims"])
        self._print_logins()

    def _load(self, claims: int) -> None:
        rng = random.Random(SEED)
        village = self._village()
        report = roster_import(path=ROSTER, village=village, actor=None)
        self.stdout.write(
            f"Roster: {report.created} created, {report.updated} updated, "
            f"{report.unchanged} unchanged, {len(report.rejected)} rejected."
        )
        staff = self._staff(village)
        self._points(village, staff, rng, claims)
        self._patrols(village, rng)
        self._matters(village, staff, rng)

    def _village(self) -> Village:
        township, _ = Township.objects.get_or_create(name=TOWNSHIP_NAME)
        village, _ = Village.objects.get_or_create(township=township, name=VILLAGE_NAME)
        return village

    def _user(self, username, *, village=None, township=None, role=None, superuser=False, name=""):
        user, _ = User.objects.get_or_create(username=username)
        user.village = village
        user.township = township
        user.first_name = name
        user.is_staff = role not in (None, roles.VILLAGER) or superuser
        user.is_superuser = superuser
        user.set_password(DEMO_PASSWORD)
        user.save()
        if role:
            user.groups.add(Group.objects.get(name=role))
        return user

    def _staff(self, village: Village) -> dict[str, User]:
        staff = {
            "admin": self._user("admin", superuser=True, name="系统管理员"),
            "village_admin": self._user(
                "cunshuji", village=village, role=roles.VILLAGE_ADMIN, name="村书记"
            ),
            "recorder": self._user(
                "jifenyuan", village=village, role=roles.RECORDER, name="记分员"
            ),
            "approver": self._user(
                "shenheyuan", village=village, role=roles.APPROVER, name="审核员"
            ),
            # Claims above a rule's threshold need a second approver.
            "second_approver": self._user(
                "shenheyuan2", village=village, role=roles.APPROVER, name="审核员二"
            ),
            "township": self._user(
                "zhenjie", township=village.township, role=roles.TOWNSHIP_VIEWER, name="镇街"
            ),
        }
        village.secretary = staff["village_admin"]
        village.save()
        for number, district in enumerate(village.districts.order_by("id"), start=1):
            secretary = self._user(
                f"pianqu{number}",
                village=village,
                role=roles.DISTRICT_SECRETARY,
                name=district.name,
            )
            district.secretary = secretary
            district.save()
        head = Villager.objects.filter(household__village=village, relation_to_head="户主")[0]
        head.user = self._user("cunmin", village=village, role=roles.VILLAGER, name=head.name)
        head.phone = DEMO_PHONE
        head.save()
        # One household asked to stay off the public rankings and its plaque page.
        opted_out = (
            Household.objects.filter(village=village)
            .exclude(pk=head.household_id)
            .order_by("number")
            .first()
        )
        if opted_out is not None:
            opted_out.ranking_opt_out = True
            opted_out.save(update_fields=["ranking_opt_out"])
        return staff

    def _points(self, village: Village, staff: dict[str, User], rng: random.Random, count: int):
        today = timezone.localdate()
        now = timezone.now()
        adults = list(
            Villager.objects.filter(
                household__village=village, birth_date__lte=today - timedelta(days=14 * 365)
            ).select_related("household")
        )
        party_members = [villager for villager in adults if villager.is_party_member]
        # Large awards need a second approver, so the demo shows that step too.
        Rule.objects.filter(points__gte=10).update(second_approval_above=9)
        rules = list(Rule.objects.select_related("category"))
        rewards = [rule for rule in rules if rule.points > 0]
        deductions = [rule for rule in rules if rule.points < 0]
        recorders = [staff["recorder"], staff["village_admin"]]
        approved = []
        for number in range(count):
            if number < len(rules):
                rule = rules[number]  # every rule once, so every item has entries
            else:
                rule = rng.choice(deductions if rng.random() < 0.06 else rewards)
            act_date = today - timedelta(days=rng.randrange(SEASON_DAYS))
            people = party_members if rule.category.code == "party" else adults
            claim = claim_submit(
                actor=rng.choice(recorders),
                villager=rng.choice(people),
                rule=rule,
                act_date=act_date,
                photo=_demo_photo(rng) if rule.photo_required else None,
            )
            if number % 50 == 49:
                continue  # left waiting for approval
            if number % 40 == 39:
                claim_reject(
                    actor=staff["approver"], claim_id=claim.pk, reason="证据不足，请补充材料"
                )
                continue
            claim = self._approve(claim, staff)
            if claim.status != Claim.Status.REJECTED:
                approved.append(claim)
        self._end_old_notices(approved, today)
        posted = claims_post_due(now=now, limit=len(approved) + 1)
        entries = list(LedgerEntry.objects.filter(claim_id__in=posted))
        for entry in rng.sample(entries, k=min(8, len(entries))):
            entry_reverse(actor=staff["approver"], entry_id=entry.pk, reason="录入有误，冲正")
        self._objections(village, staff)
        self._stars(village, today)
        self.stdout.write(
            f"Points: {Claim.objects.count()} claims, {len(posted)} posted, 8 reversals, "
            f"{Claim.objects.filter(status=Claim.Status.IN_NOTICE).count()} on public notice."
        )

    def _approve(self, claim: Claim, staff: dict[str, User]) -> Claim:
        try:
            claim = claim_approve(actor=staff["approver"], claim_id=claim.pk)
        except ValidationError:
            return claim_reject(
                actor=staff["approver"], claim_id=claim.pk, reason="超过该项积分上限"
            )
        if (
            claim.status == Claim.Status.AWAITING_SECOND
            and claim.recorded_by != staff["village_admin"]
        ):
            claim = claim_approve(actor=staff["village_admin"], claim_id=claim.pk)
        return claim

    def _end_old_notices(self, claims: list[Claim], today) -> None:
        """Demo only: move the notice of claims for acts over a week old into the past.

        Every claim was approved just now, so without this all of them would
        still be on notice; the recent ones stay there to fill the board.
        """
        tz = timezone.get_current_timezone()
        for claim in claims:
            if claim.status != Claim.Status.IN_NOTICE or claim.act_date > today - timedelta(days=7):
                continue
            notice = policy_for(claim.villager.household.village_id).notice_days
            starts = datetime.combine(claim.act_date + timedelta(days=1), time(9), tzinfo=tz)
            Claim.objects.filter(pk=claim.pk).update(
                decided_at=starts,
                notice_starts_at=starts,
                notice_ends_at=starts + timedelta(days=notice),
            )

    def _objections(self, village: Village, staff: dict[str, User]) -> None:
        """Let the demo villager object to two claims on notice; the approver upholds one."""
        objector = User.objects.get(username="cunmin")
        own_household = objector.villager.household_id
        on_notice = list(
            Claim.objects.filter(
                villager__household__village=village,
                status=Claim.Status.IN_NOTICE,
                recorded_by=staff["recorder"],
            )
            .exclude(villager__household_id=own_household)
            .order_by("id")[:2]
        )
        reasons = ["那天他外出打工，没有参加这次志愿服务", "照片不是他家的院子"]
        for claim, reason in zip(on_notice, reasons, strict=False):
            objection_raise(actor=objector, claim_id=claim.pk, reason=reason)
        if len(on_notice) == 2:
            objection = on_notice[1].objections.get()
            objection_decide(
                actor=staff["approver"],
                objection_id=objection.pk,
                upheld=True,
                note="经片区书记核实，情况属实，撤回该条积分",
            )

    def _stars(self, village: Village, today) -> None:
        """Set this year's star thresholds so that the top fifth of households earn stars."""
        year_points = sorted(
            Balance.objects.filter(
                village=village,
                household__isnull=False,
                account=Balance.Account.HONOUR,
                period=str(today.year),
            ).values_list("points", flat=True),
            reverse=True,
        )
        if not year_points:
            return
        for stars, share in enumerate([0.2, 0.1, 0.05, 0.02, 0.01], start=1):
            index = min(len(year_points) - 1, int(len(year_points) * share))
            StarThreshold.objects.update_or_create(
                village=village,
                year=today.year,
                stars=stars,
                defaults={"min_points": max(1, year_points[index])},
            )

    def _patrols(self, village: Village, rng: random.Random) -> None:
        today = timezone.localdate()
        tz = timezone.get_current_timezone()
        for district in District.objects.filter(village=village).select_related("secretary"):
            secretary = _secretary(district)
            for days_ago in range(1, 31):
                if rng.random() < 0.1:
                    continue  # a missed day, for the patrol check to find
                day = today - timedelta(days=days_ago)
                start = datetime.combine(day, time(8, rng.randrange(0, 60)), tzinfo=tz)
                minutes = rng.choice([45, 60, 70, 80, 90, 120])
                patrol_log(
                    actor=secretary,
                    district=district,
                    started_at=start,
                    ended_at=start + timedelta(minutes=minutes),
                    notes="巡查片区道路、河道和垃圾分类点",
                )
        self.stdout.write(f"Patrols: {Patrol.objects.count()} logged.")

    def _matters(self, village: Village, staff: dict[str, User], rng: random.Random) -> None:
        now = timezone.now()
        districts = list(village.districts.select_related("secretary"))
        plans = [
            # (hours ago it was reported, the states it then went through)
            (0.2, []),
            (3, ["accepted"]),
            (10, ["in_progress"]),
            (30, []),
            (50, ["accepted", "in_progress", "resolved"]),
            (80, ["in_progress", "resolved", "verified"]),
            (200, ["accepted"]),
            (2, ["resolved", "verified"]),
        ]
        for index in range(48):
            severity, title = MATTER_TITLES[index % len(MATTER_TITLES)]
            hours_ago, moves = plans[index % len(plans)]
            district = districts[index % len(districts)]
            matter = matter_report(
                actor=_secretary(district), district=district, severity=severity, title=title
            )
            # Demo only: move the report into the past so deadlines fall in every state.
            reported_at = now - timedelta(hours=hours_ago, minutes=rng.randrange(60))
            Matter.objects.filter(pk=matter.pk).update(
                reported_at=reported_at,
                deadline=reported_at + (matter.deadline - matter.reported_at),
            )
            for status in moves:
                # The village party secretary verifies what a district settled.
                verifier = staff["village_admin"] if status == "verified" else _secretary(district)
                matter_move(
                    actor=verifier,
                    matter_id=matter.pk,
                    status=status,
                    resolution="已现场处理完毕" if status == "resolved" else "",
                )
        escalated = matters_sweep_overdue(now=now)
        self.stdout.write(
            f"Matters: {Matter.objects.count()} reported, {len(escalated)} overdue and escalated."
        )

    def _print_logins(self) -> None:
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for username, role in [
            ("admin", "superuser"),
            ("cunshuji", roles.VILLAGE_ADMIN),
            ("pianqu1 … pianqu6", roles.DISTRICT_SECRETARY),
            ("jifenyuan", roles.RECORDER),
            ("shenheyuan", roles.APPROVER),
            ("shenheyuan2", f"{roles.APPROVER} (second approvals)"),
            ("zhenjie", roles.TOWNSHIP_VIEWER),
            ("cunmin", roles.VILLAGER),
        ]:
            self.stdout.write(f"  {username:<18} {role}")
        self.stdout.write(f"  phone {DEMO_PHONE}  the same villager, signing in by phone number")
        village = Village.objects.filter(name=VILLAGE_NAME).first()
        district = District.objects.filter(village=village).order_by("name").first()
        if district is not None:
            self.stdout.write(
                f"Door plaques of {district.name}: /districts/{district.pk}/plaques/ "
                "(sign in as cunshuji)"
            )


def _demo_photo(rng: random.Random) -> ContentFile:
    """Return a small plain JPEG in a random green, standing in for a villager's photo."""
    buffer = io.BytesIO()
    colour = (rng.randrange(40, 90), rng.randrange(120, 200), rng.randrange(40, 90))
    Image.new("RGB", (64, 48), colour).save(buffer, format="JPEG")
    return ContentFile(buffer.getvalue(), name="demo.jpg")


def _secretary(district: District) -> User:
    if district.secretary is None:
        raise CommandError(f"District {district.name} has no secretary.")
    return district.secretary
