"""The rows the access matrix requests its URLs with: villages A and B, with marked data.

Each marker is a string that appears in exactly one village's or district's
rows, so that a response body containing it shows that row. ``MARKERS`` names
the personas allowed to see each one.
"""

import uuid
from datetime import timedelta

from django.core.files.base import ContentFile
from django.utils import timezone

from patrols.models import (
    Escalation,
    MatterPhoto,
    MissedMeeting,
    Patrol,
    PatrolPhoto,
    PatrolPolicy,
)
from patrols.services import matter_report
from points.models import Claim, Objection, PointsPolicy
from points.services import claim_submit
from villagers import roles
from villagers.models import Household, PersonalDataAccess, RosterExport, RosterUpload

from .api_fixtures import ACT_DATE, build_api_world
from .factories import UserFactory, rule
from .personas import build_world

# Persona names, as the matrix's table uses them.
ANONYMOUS = "anonymous"
VILLAGER = "villager"
VILLAGE_ADMIN = "village_admin"
SECRETARY_A1 = "secretary_a1"
RECORDER = "recorder"
APPROVER = "approver"
SECRETARY_A2 = "secretary_a2"
VILLAGE_B = "village_b_user"
TOWNSHIP = "township_viewer"
OTHER_TOWNSHIP = "other_township_viewer"

# The world's attribute of each persona's user. The anonymous visitor has none.
PERSONA_USERS = {
    ANONYMOUS: None,
    VILLAGER: "villager_user",
    VILLAGE_ADMIN: "village_admin",
    SECRETARY_A1: "secretary_a1",
    RECORDER: "recorder",
    APPROVER: "approver",
    SECRETARY_A2: "secretary_a2",
    VILLAGE_B: "outsider",
    TOWNSHIP: "township_viewer",
    OTHER_TOWNSHIP: "other_township_viewer",
}

_A_WHOLE_VILLAGE = {VILLAGE_ADMIN, RECORDER, APPROVER, TOWNSHIP}
_B = {VILLAGE_B, OTHER_TOWNSHIP}

# Marker string: the personas that may see it in a response.
MARKERS: dict[str, frozenset[str]] = {
    # Villagers, by full name: household A1 (the villager's own), household A2, village B.
    "李小红": frozenset(_A_WHOLE_VILLAGE | {SECRETARY_A1, VILLAGER}),
    "王大力": frozenset(_A_WHOLE_VILLAGE | {SECRETARY_A2}),
    "赵外村": frozenset(_B),
    # Household addresses.
    "幸福路甲一号": frozenset(_A_WHOLE_VILLAGE | {SECRETARY_A1, VILLAGER}),
    "和平路甲二号": frozenset(_A_WHOLE_VILLAGE | {SECRETARY_A2}),
    "新围路乙一号": frozenset(_B),
    # Matters of district A1, district A2 and village B. Recorders and
    # approvers have no matter permission.
    "甲一井盖丢失": frozenset({VILLAGE_ADMIN, SECRETARY_A1, TOWNSHIP}),
    "甲二水管漏水": frozenset({VILLAGE_ADMIN, SECRETARY_A2, TOWNSHIP}),
    "外村事项": frozenset(_B),
    # A decision of village B's meeting, and the username of village B's staff.
    "外村决定": frozenset(_B),
    "waicun": frozenset(_B),
}

# A few bytes stand in for a photo: the photo views only stream the file.
PHOTO_BYTES = b"\xff\xd8\xff\xe0 not a real jpeg"


def build_matrix_world():
    """Build the suite's world and API data, then the marked rows the matrix needs."""
    world = build_api_world(build_world())
    world.villager_user_b = UserFactory(
        username="cunmin_b", village=world.village_b, roles=[roles.VILLAGER]
    )
    _mark_households(world)
    # Matters reported after the meetings, so no meeting agenda lists them.
    world.matter_a1 = matter_report(
        actor=world.secretary_a1, district=world.district_a1, severity="big", title="甲一井盖丢失"
    )
    world.matter_a2 = matter_report(
        actor=world.secretary_a2, district=world.district_a2, severity="big", title="甲二水管漏水"
    )
    _add_photos_and_patrols(world)
    _add_claims(world)
    _add_service_rows(world)
    return world


def _mark_households(world) -> None:
    for household, address in [
        (world.household_a1, "幸福路甲一号"),
        (world.household_a2, "和平路甲二号"),
        (world.household_b1, "新围路乙一号"),
    ]:
        Household.objects.filter(pk=household.pk).update(address=address)


def _add_photos_and_patrols(world) -> None:
    now = timezone.now()
    world.matter_photo_a = MatterPhoto.objects.create(
        matter=world.matter_a1, image=ContentFile(PHOTO_BYTES, name="a.jpg"), uploaded_at=now
    )
    world.matter_photo_b = MatterPhoto.objects.create(
        matter=world.matter_b, image=ContentFile(PHOTO_BYTES, name="b.jpg"), uploaded_at=now
    )
    world.patrol_a = Patrol.objects.create(
        district=world.district_a1,
        secretary=world.secretary_a1,
        started_at=now - timedelta(minutes=30),
        start_key=uuid.uuid4(),
    )
    world.patrol_b = Patrol.objects.create(
        district=world.district_b1,
        secretary=world.secretary_b1,
        started_at=now - timedelta(minutes=30),
        start_key=uuid.uuid4(),
    )
    world.patrol_photo_a = PatrolPhoto.objects.create(
        patrol=world.patrol_a,
        image=ContentFile(PHOTO_BYTES, name="a.jpg"),
        uploaded_at=now,
        form_key=uuid.uuid4(),
    )
    world.patrol_photo_b = PatrolPhoto.objects.create(
        patrol=world.patrol_b,
        image=ContentFile(PHOTO_BYTES, name="b.jpg"),
        uploaded_at=now,
        form_key=uuid.uuid4(),
    )


def _add_claims(world) -> None:
    """Give the posted claims of A1 and B a photo; add a claim of A1 waiting for approval."""
    world.photo_claim_a = world.entry_a.claim
    world.photo_claim_b = world.entry_b.claim
    for claim in (world.photo_claim_a, world.photo_claim_b):
        claim.photo.save("photo.jpg", ContentFile(PHOTO_BYTES), save=False)
        Claim.objects.filter(pk=claim.pk).update(photo=claim.photo.name)
    world.claim_waiting_a = claim_submit(
        actor=world.recorder, villager=world.spouse, rule=rule(), act_date=ACT_DATE
    )
    # Village B has no villager login, so its objection is written directly.
    now = timezone.now()
    world.objection_b = Objection.objects.create(
        claim=world.photo_claim_b,
        raised_by=world.outsider,
        reason="外村异议",
        raised_at=now,
        review_deadline=now + timedelta(days=7),
    )


def _add_service_rows(world) -> None:
    """Add the rows that only scheduled checks and exports write, in both villages."""
    now = timezone.now()
    for suffix, village, matter, user in [
        ("a", world.village_a, world.matter_a1, world.village_admin),
        ("b", world.village_b, world.matter_b, world.outsider),
    ]:
        setattr(
            world,
            f"escalation_{suffix}",
            Escalation.objects.create(
                matter=matter,
                level=Escalation.Level.VILLAGE,
                escalated_at=now,
                notified=user,
                matter_title=matter.title,
            ),
        )
        setattr(
            world,
            f"missed_meeting_{suffix}",
            MissedMeeting.objects.create(village=village, date=ACT_DATE, flagged_at=now),
        )
        setattr(
            world,
            f"roster_export_{suffix}",
            RosterExport.objects.create(
                village=village, exported_by=user, exported_at=now, unmasked=False, row_count=1
            ),
        )
        setattr(
            world,
            f"data_access_{suffix}",
            PersonalDataAccess.objects.create(
                village=village,
                viewed_by=user,
                viewer_name=user.username,
                viewed_at=now,
                kind=PersonalDataAccess.Kind.PHONE_LIST,
                reason="matrix",
                villager_count=1,
            ),
        )
        setattr(
            world,
            f"roster_upload_{suffix}",
            RosterUpload.objects.create(
                village=village,
                uploaded_by=user,
                uploaded_at=now,
                file="rosters/matrix.csv",
                file_name="matrix.csv",
                state=RosterUpload.State.DONE,
            ),
        )
        setattr(
            world,
            f"points_policy_{suffix}",
            PointsPolicy.objects.get_or_create(village=village)[0],
        )
        setattr(
            world,
            f"patrol_policy_{suffix}",
            PatrolPolicy.objects.get_or_create(village=village)[0],
        )
    world.balance_a = world.entry_a.household.balances.first()
    world.balance_b = world.entry_b.household.balances.first()
    world.check_a = world.district_a1.patrol_checks.first()
    world.check_b = world.district_b1.patrol_checks.first()
    world.star_threshold_a, *_, world.star_threshold_b = world.star_thresholds
    # Migrations seed the items and rules without history, so a save records a version.
    world.category = world.entry_a.rule.category
    world.category.save()
    world.rule = world.entry_a.rule
    world.rule.save()
