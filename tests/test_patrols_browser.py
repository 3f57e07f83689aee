"""The patrol phone page in Chromium at phone size: a double tap starts one patrol."""

from urllib.parse import urlsplit

import pytest
from django.urls import reverse
from playwright.sync_api import expect, sync_playwright

from .test_browser import CHROMIUM, LOCALES, PASSWORD, PhoneSession, check_phone_layout

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def chromium(world, live_server):
    """Debian's Chromium, started after the personas are written (see test_browser.chromium)."""
    if not CHROMIUM.exists():
        pytest.fail(f"Chromium is missing at {CHROMIUM}; scripts/test installs it.")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


def log_in(session: PhoneSession, live_server, username: str) -> None:
    page = session.page
    page.goto(live_server.url + reverse("patrol-home"))
    assert urlsplit(page.url).path == reverse("login")
    page.locator('input[name="username"]').fill(username)
    page.locator('input[name="password"]').fill(PASSWORD)
    page.locator("form.login button[type=submit]").click()
    page.wait_for_url(live_server.url + reverse("patrol-home"))


def test_patrol_double_tap_on_phone(world, live_server, chromium):
    session = PhoneSession(chromium, LOCALES["zh-hans"])
    page = session.page
    log_in(session, live_server, world.secretary_a1.username)
    check_phone_layout(session, live_server, "patrol-start-zh-hans")

    page.get_by_role("button", name=f"开始巡查{world.district_a1.name}").dblclick()

    expect(page.get_by_role("heading", level=1)).to_have_text("正在巡查")
    # The second tap carried the same form key, so it found the patrol the
    # first one started instead of being rejected as a second patrol.
    expect(page.locator("p.message.error")).to_have_count(0)
    check_phone_layout(session, live_server, "patrol-running-zh-hans")
    page.locator('input[name="title"]').fill("路灯不亮")
    page.get_by_role("button", name="登记这个问题").dblclick()
    expect(page.locator("p.message.success")).to_have_text("发现的问题已登记为事项。")
    expect(page.locator("ul.findings li")).to_have_count(1)
    page.get_by_role("button", name="结束巡查").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("巡查")
    assert session.errors == []
    session.close()
