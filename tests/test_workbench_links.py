"""The workbench shows each staff member only the links and rows their role may open."""

import pytest
from django.urls import reverse

from points.services import claim_submit

from .api_fixtures import ACT_DATE
from .factories import rule

WORKBENCH_STAFF = ["village_admin", "secretary_a1", "secretary_a2", "recorder", "approver"]


def main_text(response) -> str:
    """Return the page's own content, without the navigation bar of every page."""
    text = response.content.decode()
    return text[text.index("<main") : text.index("</main>")]


def page_links(response) -> set[str]:
    """Return which of the batch entry and matters board links the workbench shows."""
    text = main_text(response)
    urls = (reverse("batch-entry"), reverse("matter-board"))
    return {url for url in urls if f'href="{url}"' in text}


@pytest.mark.parametrize("persona", WORKBENCH_STAFF)
def test_links_only_to_pages_that_open(client, world, persona):
    client.force_login(getattr(world, persona))

    shown = page_links(client.get(reverse("workbench")))

    for url in (reverse("batch-entry"), reverse("matter-board")):
        status = client.get(url).status_code
        if url in shown:
            assert status == 200, url
        else:
            assert status in (403, 404), url


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("village_admin", {reverse("batch-entry"), reverse("matter-board")}),
        ("secretary_a1", {reverse("batch-entry"), reverse("matter-board")}),
        ("recorder", {reverse("batch-entry")}),
        ("approver", set()),
    ],
)
def test_links_by_role(client, world, persona, expected):
    client.force_login(getattr(world, persona))

    assert page_links(client.get(reverse("workbench"))) == expected


@pytest.mark.parametrize(("persona", "shown"), [("secretary_a1", True), ("village_admin", False)])
def test_patrol_link_only_for_secretaries(client, world, persona, shown):
    client.force_login(getattr(world, persona))

    text = main_text(client.get(reverse("workbench")))

    assert (f'href="{reverse("patrol-home")}"' in text) is shown


def test_plaque_links_only_for_own_districts(client, world):
    client.force_login(world.secretary_a1)

    text = client.get(reverse("workbench")).content.decode()

    assert reverse("plaque-sheet", args=[world.district_a1.pk]) in text
    assert reverse("plaque-sheet", args=[world.district_a2.pk]) not in text


def test_no_plaque_links_without_household_permission(client, world):
    world.approver.groups.clear()
    client.force_login(world.approver)

    text = client.get(reverse("workbench")).content.decode()

    assert reverse("plaque-sheet", args=[world.district_a1.pk]) not in text


@pytest.mark.parametrize(("persona", "found"), [("secretary_a1", True), ("secretary_a2", False)])
def test_search_only_in_own_districts(client, world, persona, found):
    client.force_login(getattr(world, persona))

    text = client.get(reverse("workbench"), {"q": "张小明"}).content.decode()

    assert ("<strong>张小明</strong>" in text) is found


@pytest.mark.parametrize(("persona", "shown"), [("secretary_a1", True), ("secretary_a2", False)])
def test_queue_only_of_own_districts(client, world, persona, shown):
    # The spouse lives in district A1.
    claim_submit(actor=world.recorder, villager=world.spouse, rule=rule(), act_date=ACT_DATE)
    client.force_login(getattr(world, persona))

    text = client.get(reverse("workbench")).content.decode()

    assert ("李小红" in text) is shown


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("village_admin", {"workbench", "matter-board"}),
        ("secretary_a1", {"workbench", "patrol-home", "matter-board"}),
        ("recorder", {"workbench"}),
        ("approver", {"workbench"}),
        ("township_viewer", {"matter-board"}),
    ],
)
def test_navigation_links_by_role(client, world, persona, expected):
    client.force_login(getattr(world, persona))

    text = client.get(reverse("notifications")).content.decode()
    nav = text[text.index("<nav") : text.index("</nav>")]

    names = ("workbench", "patrol-home", "matter-board")
    shown = {name for name in names if f'href="{reverse(name)}"' in nav}
    assert shown == expected
