"""The main pages in Debian's Chromium under the Content-Security-Policy: no violation anywhere."""

import pytest
from django.urls import reverse

from . import test_browser
from .test_browser import PASSWORD

pytestmark = test_browser.pytestmark

# Fixtures shared with the other browser tests.
points = test_browser.points
chromium = test_browser.chromium

PHONE_NUMBER = "13912340001"

# Collects the violations the page reports, beside the console messages Chromium writes for them.
RECORD_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.cspViolations.push(event.violatedDirective + " " + event.blockedURI);
});
"""


class CspSession:
    """One browser page that records console errors, failed requests and reported CSP violations.

    Failed requests are recorded by URL from the responses, because Chromium's
    console message for them does not name the URL.
    """

    def __init__(self, browser):
        self.context = browser.new_context(locale="zh-CN")
        self.context.add_init_script(RECORD_VIOLATIONS)
        self.page = self.context.new_page()
        self.console: list[str] = []
        self.page.on("console", self._record_message)
        self.page.on("pageerror", lambda error: self.console.append(str(error)))
        self.page.on("response", self._record_failure)

    def _record_message(self, message) -> None:
        # Chromium reports each CSP violation as a console error ("Refused to ...").
        if message.type not in ("error", "warning"):
            return
        if message.text.startswith("Failed to load resource"):
            return  # recorded with its URL by _record_failure
        self.console.append(message.text)

    def _record_failure(self, response) -> None:
        # Every page links the site's icon; a request for /favicon.ico would fail here.
        if response.status >= 400:
            self.console.append(f"{response.status} {response.url}")

    def visit(self, url: str, ready: str = "main, #content, #swagger-ui") -> None:
        response = self.page.goto(url)
        assert response is not None, url
        assert response.status == 200, url
        policy = response.headers.get("content-security-policy", "")
        assert "script-src 'self'" in policy, url
        self.page.wait_for_selector(ready)
        self.page.wait_for_load_state("networkidle")
        violations = self.page.evaluate("window.cspViolations")
        assert violations == [], url
        assert self.console == [], url

    def log_in(self, live_server, username: str) -> None:
        self.visit(live_server.url + reverse("login"))
        self.page.locator('input[name="username"]').fill(username)
        self.page.locator('input[name="password"]').fill(PASSWORD)
        self.page.locator("form.login button[type=submit]").click()
        self.page.wait_for_load_state("networkidle")

    def close(self):
        self.context.close()


@pytest.fixture
def people(points):
    """A villager who logs in by phone and a village secretary who may open the admin."""
    points.villager.phone = PHONE_NUMBER
    points.villager.save(update_fields=["phone"])
    return points


def test_villager_pages_keep_policy(people, live_server, chromium):
    session = CspSession(chromium)

    session.log_in(live_server, PHONE_NUMBER)
    session.visit(live_server.url + reverse("my-entries"))
    session.page.wait_for_function(
        "() => window.Chart && Chart.getChart(document.querySelector('canvas'))"
    )
    session.visit(live_server.url + reverse("rankings", args=[people.village_a.pk]))
    session.visit(live_server.url + reverse("password_change"))

    assert session.page.evaluate("window.cspViolations") == []
    assert session.console == []
    session.close()


def test_staff_pages_keep_policy(people, live_server, chromium):
    session = CspSession(chromium)

    session.log_in(live_server, people.village_admin.username)
    session.visit(live_server.url + reverse("workbench"))
    session.visit(live_server.url + reverse("admin:index"))
    session.visit(live_server.url + reverse("admin:villagers_villager_changelist"))
    session.visit(
        live_server.url + reverse("admin:villagers_villager_change", args=[people.villager.pk])
    )
    session.visit(live_server.url + reverse("admin:password_change"))

    assert session.console == []
    session.close()


def test_api_docs_keep_policy(people, live_server, chromium):
    session = CspSession(chromium)

    session.visit(live_server.url + reverse("api:docs"), ready=".swagger-ui .info")

    assert session.page.locator(".swagger-ui .opblock").count() > 0
    assert session.page.evaluate("window.cspViolations") == []
    assert session.console == []
    session.close()
