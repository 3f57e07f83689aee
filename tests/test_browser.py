"""The villager pages in a real browser at phone size (375×667).

Runs Debian's Chromium through Playwright's sync API with ``executable_path``,
so no browser is downloaded. pytest-playwright's own fixtures are not used,
because they launch the browser builds that Playwright downloads.
"""

from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from playwright.sync_api import expect, sync_playwright

from points.models import PointsPolicy
from points.services import claim_approve, claim_submit

from .factories import approve_and_post, rule

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
PHONE = {"width": 375, "height": 667}
PASSWORD = "correct-horse-battery"
# Smallest tap target in CSS pixels each way, from WCAG 2.1 SC 2.5.5 (Target Size).
MINIMUM_TAP_SIZE = 44
MINIMUM_FONT_SIZE = 18

# The live server reads rows that the test wrote, so they must be committed.
# Serialized rollback restores the seeded governance items for later tests.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

LOCALES = {"zh-hans": "zh-CN", "en": "en-US"}


class PhoneSession:
    """One browser page at phone size that records requests and console errors."""

    def __init__(self, browser, locale: str):
        self.context = browser.new_context(viewport=PHONE, locale=locale)
        self.page = self.context.new_page()
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.on(
            "console",
            lambda message: self.errors.append(message.text) if message.type == "error" else None,
        )
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))

    def close(self):
        self.context.close()


@pytest.fixture
def points(world):
    """Points posted today: 张小明 +10 and -2, 李小红 +5 (household 010001), 王大力 +5."""
    for villager, value in [
        (world.villager, 10),
        (world.villager, -2),
        (world.spouse, 5),
        (world.neighbour, 5),
    ]:
        claim = claim_submit(
            actor=world.recorder,
            villager=villager,
            rule=rule("volunteer", value),
            act_date=timezone.localdate(),
        )
        approve_and_post(actor=world.approver, claim_id=claim.pk)
    return world


@pytest.fixture
def chromium(points, live_server):
    """Debian's Chromium, started after the test data is written.

    While Playwright's sync API runs, this thread has a running asyncio loop, so
    Django raises SynchronousOnlyOperation on database access here. Tests
    therefore write their data in fixtures that come before this one and only
    drive the browser in their body.
    """
    if not CHROMIUM.exists():
        pytest.fail(
            f"Chromium is missing at {CHROMIUM}. Install Debian's package: "
            "apt-get install chromium fonts-noto-cjk (scripts/test installs it)."
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


def translated(language: str, message: str, **values) -> str:
    with translation.override(language):
        return translation.gettext(message) % values


def check_phone_layout(session: PhoneSession, live_server, name: str):
    """Check the page fits 375px, reads well and loads only local files, then screenshot it."""
    page = session.page
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= PHONE["width"], f"{name}: page is {scroll_width}px wide"

    font_size = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
    assert font_size >= MINIMUM_FONT_SIZE, f"{name}: body text is {font_size}px"

    targets = page.evaluate(
        """Array.from(document.querySelectorAll(
            'header a, header button, .tabs a, footer button, main button, .pages a'
        )).map(element => {
            const box = element.getBoundingClientRect();
            return [element.textContent.trim(), box.width, box.height];
        })"""
    )
    assert targets, f"{name}: no links or buttons found"
    for label, width, height in targets:
        assert width >= MINIMUM_TAP_SIZE, f"{name}: {label!r} is {width}px wide"
        assert height >= MINIMUM_TAP_SIZE, f"{name}: {label!r} is {height}px tall"

    server = urlsplit(live_server.url).netloc
    for url in session.requests:
        parts = urlsplit(url)
        assert parts.scheme == "data" or parts.netloc == server, f"{name}: requested {url}"
    assert session.errors == [], name

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.mark.parametrize("language", list(LOCALES))
def test_rankings_on_phone(points, live_server, chromium, language):
    session = PhoneSession(chromium, LOCALES[language])
    url = live_server.url + reverse("rankings", args=[points.village_a.pk])

    response = session.page.goto(url)

    assert response.status == 200
    heading = session.page.get_by_role("heading", level=1)
    assert heading.is_visible()
    assert heading.inner_text() == translated(language, "%(village)s rankings", village="群英村")
    brand = session.page.locator("a.brand")
    assert brand.is_visible()
    assert brand.inner_text() == translated(language, "Energy Points")
    assert session.page.locator("table.ranking tbody tr").count() == 2
    # The tabs are laid out by app.css, so this also shows the stylesheet loaded.
    assert session.page.locator(".tabs").first.evaluate("e => getComputedStyle(e).display") == (
        "grid"
    )
    check_phone_layout(session, live_server, f"rankings-{language}")
    session.close()


def test_language_switch_on_phone(points, live_server, chromium):
    session = PhoneSession(chromium, LOCALES["zh-hans"])
    session.page.goto(live_server.url + reverse("rankings", args=[points.village_a.pk]))

    session.page.locator('button[name="language"][value="en"]').click()

    # The assertion waits for the POST, its redirect and the English page to load.
    expect(session.page.locator("html")).to_have_attribute("lang", "en")
    assert session.page.get_by_role("heading", level=1).inner_text() == "群英村 rankings"
    assert session.errors == []
    session.close()


@pytest.mark.parametrize("language", list(LOCALES))
def test_my_entries_on_phone_after_login(points, live_server, chromium, language):
    session = PhoneSession(chromium, LOCALES[language])
    page = session.page

    page.goto(live_server.url + reverse("my-entries"))
    assert urlsplit(page.url).path == reverse("login")
    check_phone_layout(session, live_server, f"login-{language}")
    page.locator('input[name="username"]').fill(points.villager_user.username)
    page.locator('input[name="password"]').fill(PASSWORD)
    page.locator("form.login button[type=submit]").click()
    page.wait_for_url(live_server.url + reverse("my-entries"))

    heading = page.get_by_role("heading", level=1)
    assert heading.is_visible()
    assert heading.inner_text() == translated(language, "My points")
    totals = page.locator("table.totals tbody tr").first.locator("td")
    assert totals.all_inner_texts() == ["8", "13"]
    assert page.locator("li.entry").count() == 2
    check_phone_layout(session, live_server, f"my-entries-{language}")
    session.close()


@pytest.fixture
def on_notice(points):
    """A claim for 王大力 on public notice in village A, where notice lasts three days."""
    PointsPolicy.objects.filter(village=points.village_a).update(notice_days=3)
    claim = claim_submit(
        actor=points.recorder,
        villager=points.neighbour,
        rule=rule("volunteer", 4),
        act_date=timezone.localdate(),
    )
    claim_approve(actor=points.approver, claim_id=claim.pk)
    return points


@pytest.mark.parametrize("language", list(LOCALES))
def test_objection_on_phone(on_notice, live_server, chromium, language):
    session = PhoneSession(chromium, LOCALES[language])
    page = session.page
    board = live_server.url + reverse("notice-board", args=[on_notice.village_a.pk])

    page.goto(board)
    page.locator('input[name="username"]').fill(on_notice.villager_user.username)
    page.locator('input[name="password"]').fill(PASSWORD)
    page.locator("form.login button[type=submit]").click()
    page.wait_for_url(board)

    assert page.locator("li.entry").count() == 1
    page.locator("li.entry details summary").click()
    check_phone_layout(session, live_server, f"notice-board-{language}")
    page.locator('textarea[name="reason"]').fill("他那天不在村里")
    page.locator("li.entry details button[type=submit]").click()

    expect(page.locator("ul.messages li")).to_have_text(
        translated(language, "Your objection was recorded; the village office will review it.")
    )
    assert session.errors == []
    session.close()
