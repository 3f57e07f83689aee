"""A villager signs in by phone and reads their page, on a phone and on a desktop screen."""

from urllib.parse import urlsplit

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from points.services import claim_submit

from . import test_browser
from .factories import rule
from .test_browser import ARTIFACTS, PASSWORD, PhoneSession

pytestmark = test_browser.pytestmark

# Fixtures shared with the other browser tests.
points = test_browser.points
chromium = test_browser.chromium

PHONE_NUMBER = "13912340000"
VIEWPORTS = {"phone": {"width": 375, "height": 667}, "desktop": {"width": 1280, "height": 800}}
MINIMUM_THUMB_SIZE = 48


@pytest.fixture
def phone_login(points):
    """The persona villager, reachable by phone number."""
    points.villager.phone = PHONE_NUMBER
    points.villager.save(update_fields=["phone"])
    return points


def session_at(browser, viewport: str) -> PhoneSession:
    session = PhoneSession(browser, "zh-CN")
    session.page.set_viewport_size(VIEWPORTS[viewport])
    return session


def check_page(session: PhoneSession, live_server, viewport: str, name: str):
    """Check width, thumb-sized buttons, local-only requests and no errors; keep a screenshot."""
    page = session.page
    width = VIEWPORTS[viewport]["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= width, name
    sizes = page.evaluate(
        """Array.from(document.querySelectorAll('main button, header button, .figure'))
            .map(e => [e.textContent.trim(), e.getBoundingClientRect().height])"""
    )
    for label, height in sizes:
        assert height >= MINIMUM_THUMB_SIZE, f"{name}: {label!r} is {height}px tall"
    server = urlsplit(live_server.url).netloc
    for url in session.requests:
        parts = urlsplit(url)
        assert parts.scheme == "data" or parts.netloc == server, f"{name}: requested {url}"
    assert session.errors == [], name
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}-{viewport}.png"), full_page=True)


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_phone_login_and_home_with_charts(phone_login, live_server, chromium, viewport):
    session = session_at(chromium, viewport)
    page = session.page

    page.goto(live_server.url + reverse("my-entries"))
    page.locator('input[name="username"]').fill("139 1234 0000")
    page.locator('input[name="password"]').fill(PASSWORD)
    check_page(session, live_server, viewport, "phone-login")
    page.locator("form.login button[type=submit]").click()
    page.wait_for_url(live_server.url + reverse("my-entries"))

    assert page.get_by_role("heading", level=1).inner_text() == "我的积分"
    assert page.locator(".summary .figure-value").first.inner_text() == "13"
    page.wait_for_function("() => window.Chart && Chart.getChart(document.querySelector('canvas'))")
    # The Chinese label laid out to a visible width. NOTE: this cannot tell CJK glyphs
    # from empty boxes; the screenshot in test-artifacts/ shows which were drawn.
    assert page.locator(".summary .figure-label").first.evaluate("e => e.offsetWidth") > 40
    check_page(session, live_server, viewport, "villager-home")
    session.close()


def test_large_text_stays_on(phone_login, live_server, chromium):
    session = session_at(chromium, "phone")
    page = session.page
    url = live_server.url + reverse("rankings", args=[phone_login.village_a.pk])
    page.goto(url)
    normal = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")

    page.locator('form.text-size button[name="large"]').click()
    page.wait_for_selector("html.large-text")
    page.goto(url)

    large = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
    assert large > normal
    check_page(session, live_server, "phone", "rankings-large-text")
    session.close()


@pytest.fixture
def pending(phone_login):
    """A claim for 王大力 recorded by the recorder, waiting for an approver."""
    claim_submit(
        actor=phone_login.recorder,
        villager=phone_login.neighbour,
        rule=rule("volunteer", 3),
        act_date=timezone.localdate(),
    )
    return phone_login


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_staff_approval_and_dashboard(pending, live_server, chromium, viewport):
    session = session_at(chromium, viewport)
    page = session.page
    workbench = live_server.url + reverse("workbench")

    page.goto(workbench)
    page.locator('input[name="username"]').fill(pending.approver.username)
    page.locator('input[name="password"]').fill(PASSWORD)
    page.locator("form.login button[type=submit]").click()
    page.wait_for_url(workbench)
    page.wait_for_function("() => window.Chart && Chart.getChart(document.querySelector('canvas'))")
    check_page(session, live_server, viewport, "workbench")

    page.locator('.queue button[value="approve"]').click()

    expect(page.locator("ul.messages li")).to_have_text("已审核通过。")
    assert page.locator(".queue li").count() == 0
    assert session.errors == []
    session.close()
