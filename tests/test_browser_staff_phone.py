"""Staff pages in Chromium at 390 px: the matters board and the workbench search stay readable."""

from urllib.parse import urlsplit

import pytest
from django.urls import reverse
from playwright.sync_api import sync_playwright

from patrols import services
from patrols.models import Matter

from .test_browser import CHROMIUM, PASSWORD

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

# The width the tester used: the CSS viewport of an iPhone 12 to 14.
PHONE = {"width": 390, "height": 844}
LONG_TITLE = "违章搭建需要拆除"
# A cell squeezed to one character per line is about one character wide, so 120 px means several fit.
MINIMUM_CELL_WIDTH = 120


@pytest.fixture
def matter(world):
    return services.matter_report(
        actor=world.secretary_a1,
        district=world.district_a1,
        severity=Matter.Severity.MEDIUM,
        title=LONG_TITLE,
    )


@pytest.fixture
def phone_page(matter, live_server):
    """A zh-CN page at 390 px, started after the matter is written (see test_browser.chromium)."""
    if not CHROMIUM.exists():
        pytest.fail(f"Chromium is missing at {CHROMIUM}; scripts/test installs it.")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        context = browser.new_context(viewport=PHONE, locale="zh-CN")
        yield context.new_page()
        context.close()
        browser.close()


def log_in(page, live_server, username: str, start: str) -> None:
    page.goto(live_server.url + start)
    assert urlsplit(page.url).path == reverse("login")
    page.locator('input[name="username"]').fill(username)
    page.locator('input[name="password"]').fill(PASSWORD)
    page.locator("form.login button[type=submit]").click()
    page.wait_for_url(live_server.url + start)


def box(page, selector: str) -> dict:
    found = page.locator(selector).first.bounding_box()
    assert found is not None, selector
    return found


# Counts the lines the element's first text runs over, by the distinct tops of its line boxes.
COUNT_TEXT_LINES = """element => {
  const text = Array.from(element.childNodes).find(node => node.nodeType === Node.TEXT_NODE
    && node.textContent.trim());
  const range = document.createRange();
  range.selectNodeContents(text);
  return new Set(Array.from(range.getClientRects()).map(rect => Math.round(rect.top))).size;
}"""


def text_lines(page, selector: str) -> int:
    return page.locator(selector).first.evaluate(COUNT_TEXT_LINES)


def test_matters_board_cells_readable(world, live_server, phone_page):
    page = phone_page
    log_in(page, live_server, world.secretary_a1.username, reverse("matter-board"))

    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    title = page.locator("td.matter-title").first
    assert LONG_TITLE in title.inner_text()
    cells = page.locator("table.matters tbody tr").first.locator("td")
    assert cells.count() == 6
    for index in range(cells.count()):
        cell = cells.nth(index).bounding_box()
        assert cell is not None
        assert cell["width"] >= MINIMUM_CELL_WIDTH, f"cell {index} is {cell['width']}px wide"
    assert text_lines(page, "td.matter-title") == 1


def test_workbench_search_not_squeezed(world, live_server, phone_page):
    page = phone_page
    log_in(page, live_server, world.secretary_a1.username, reverse("workbench"))

    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert text_lines(page, "form.search button") == 1
    assert text_lines(page, "label.search-label") <= 2
    assert box(page, "form.search input")["width"] >= 150
