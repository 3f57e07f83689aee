"""Rankings, an objection and a 随手拍 report in Chromium, on a phone and on a desktop screen."""

import io

import pytest
from django.urls import reverse
from django.utils import timezone
from PIL import Image
from playwright.sync_api import expect

from points.models import PointsPolicy
from points.services import claim_approve, claim_submit

from . import test_browser, test_browser_portal
from .factories import rule
from .test_browser import PASSWORD
from .test_browser_portal import VIEWPORTS, check_page, session_at

pytestmark = test_browser.pytestmark

# Fixtures shared with the other browser tests.
points = test_browser.points
chromium = test_browser.chromium
phone_login = test_browser_portal.phone_login


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def sign_in(page, live_server, username: str, url: str) -> None:
    page.goto(url)
    page.locator('input[name="username"]').fill(username)
    page.locator('input[name="password"]').fill(PASSWORD)
    page.locator("form.login button[type=submit]").click()
    page.wait_for_url(url)


def jpeg_payload() -> dict:
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), "olive").save(buffer, format="JPEG")
    return {"name": "road.jpg", "mimeType": "image/jpeg", "buffer": buffer.getvalue()}


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_rankings_at_both_sizes(points, live_server, chromium, viewport):
    session = session_at(chromium, viewport)
    page = session.page

    response = page.goto(live_server.url + reverse("rankings", args=[points.village_a.pk]))

    assert response.status == 200
    assert page.get_by_role("heading", level=1).inner_text() == "群英村积分排行榜"
    assert page.locator("table.ranking tbody tr").count() == 2
    check_page(session, live_server, viewport, "rankings")
    session.close()


@pytest.fixture
def on_notice(phone_login):
    """A claim for 王大力 on public notice in village A, where notice lasts three days."""
    PointsPolicy.objects.filter(village=phone_login.village_a).update(notice_days=3)
    claim = claim_submit(
        actor=phone_login.recorder,
        villager=phone_login.neighbour,
        rule=rule("volunteer", 4),
        act_date=timezone.localdate(),
    )
    claim_approve(actor=phone_login.approver, claim_id=claim.pk)
    return phone_login


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_objection_at_both_sizes(on_notice, live_server, chromium, viewport):
    session = session_at(chromium, viewport)
    page = session.page
    board = live_server.url + reverse("notice-board", args=[on_notice.village_a.pk])
    sign_in(page, live_server, on_notice.villager_user.username, board)

    assert page.locator("li.entry").count() == 1
    page.locator("li.entry details summary").click()
    check_page(session, live_server, viewport, "notice-board")
    page.locator('textarea[name="reason"]').fill("他那天不在村里")
    page.locator("li.entry details button[type=submit]").click()

    expect(page.locator("ul.messages li")).to_have_text("您的异议已记录，村委会将进行核查。")
    check_page(session, live_server, viewport, "notice-board-objected")
    session.close()


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_problem_report_at_both_sizes(phone_login, live_server, chromium, viewport):
    session = session_at(chromium, viewport)
    page = session.page
    report = live_server.url + reverse("problem-report")
    sign_in(page, live_server, phone_login.villager_user.username, report)
    check_page(session, live_server, viewport, "problem-report")

    page.locator('select[name="category"]').select_option(index=1)
    page.locator('textarea[name="description"]').fill("村口路灯不亮")
    page.locator('input[name="place"]').fill("村口桥边")
    page.locator('input[name="photo"]').set_input_files(jpeg_payload())
    page.locator("form.problem-report button[type=submit]").click()
    page.wait_for_url(live_server.url + reverse("problem-list"))

    expect(page.locator(".message.success")).to_have_text("已报给片区书记，谢谢您！")
    expect(page.locator("ul.problems li")).to_have_count(1)
    expect(page.locator("ul.problems li strong")).to_have_text("村口路灯不亮")
    photo = page.locator("ul.problems img")
    photo.scroll_into_view_if_needed()
    page.wait_for_function("() => document.querySelector('ul.problems img').naturalWidth > 0")
    check_page(session, live_server, viewport, "problem-list")
    session.close()
