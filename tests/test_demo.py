"""The demo loader fills every page with plausible, consistent activity."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Sum

from patrols.models import Escalation, Matter, Patrol
from points.models import Balance, Category, Claim, LedgerEntry, Objection, StarThreshold
from villagers.models import Household, User, Village, Villager

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    # The demo stores a photo for every claim under a rule that needs one.
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def demo():
    output = StringIO()
    call_command("load_demo", claims=80, stdout=output)
    call_command("load_demo_patrols", stdout=output)
    return output.getvalue()


def test_demo_loads_roster_and_logins(demo):
    village = Village.objects.get(name="群英村")
    assert Villager.objects.filter(household__village=village).count() == 2033
    assert Household.objects.filter(village=village).count() == 560
    assert village.districts.count() == 6
    assert all(district.secretary for district in village.districts.all())
    assert village.secretary.username == "cunshuji"
    assert User.objects.get(username="cunmin").villager is not None
    assert "Demo logins (password for all: nengliang2026):" in demo


def test_demo_covers_every_item_and_state(demo):
    items_with_entries = set(LedgerEntry.objects.values_list("category_id", flat=True))
    assert items_with_entries == set(Category.objects.values_list("id", flat=True))
    assert set(Claim.objects.values_list("status", flat=True)) == set(Claim.Status.values)
    assert Objection.objects.filter(status=Objection.Status.OPEN).exists()
    assert StarThreshold.objects.filter(village__name="群英村").count() == 5
    assert LedgerEntry.objects.filter(reverses__isnull=False).exists()
    assert set(Matter.objects.values_list("status", flat=True)) == set(Matter.Status.values)
    assert Escalation.objects.exists()
    assert Patrol.objects.count() > 100


def test_demo_balances_equal_ledger(demo):
    balances = Balance.objects.filter(period="all", account="honour", household__isnull=False)
    for balance in balances[:50]:
        total = LedgerEntry.objects.filter(household=balance.household).aggregate(
            total=Sum("points")
        )["total"]
        assert balance.points == total


def test_demo_loads_once(demo):
    again = StringIO()
    call_command("load_demo", claims=80, stdout=again)
    assert "The demo village is already loaded." in again.getvalue()
    assert Villager.objects.count() == 2033


def test_demo_rankings_page(demo, client):
    village = Village.objects.get(name="群英村")
    response = client.get(f"/villages/{village.pk}/rankings/?board=household&period=year")
    assert response.status_code == 200
    assert "群英村积分排行榜" in response.text


def test_interrupted_demo_leaves_nothing(monkeypatch):
    from points.management.commands.load_demo import Command

    def stop(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(Command, "_matters", stop)
    with pytest.raises(KeyboardInterrupt):
        call_command("load_demo", claims=40, stdout=StringIO())

    assert not Villager.objects.exists()
    assert not Claim.objects.exists()
    assert not Patrol.objects.exists()


def test_demo_notice_board_lists_claims(demo, client):
    village = Village.objects.get(name="群英村")
    client.force_login(User.objects.get(username="cunmin"))
    response = client.get(f"/villages/{village.pk}/notice/")
    assert response.status_code == 200
    on_notice = Claim.objects.filter(status__in=["in_notice", "objected"]).count()
    assert on_notice > 0
    assert response.text.count('<li class="entry">') == on_notice


def test_patrol_summary_uses_singular_and_plural():
    from django.utils import translation

    from patrols.management.commands.load_demo_patrols import _summary

    with translation.override("en"):
        text = _summary(165, 1, 0, 2)
    assert text == (
        "Patrol scheme: 165 patrols, 1 reminder, 0 village escalations, 2 township escalations."
    )
    with translation.override("zh-hans"):
        assert "1 reminders" not in _summary(165, 1, 0, 2)
