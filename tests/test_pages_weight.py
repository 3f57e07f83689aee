"""A villager's page, with every file it loads, weighs at most 300 KB gzipped."""

import gzip
import re

from django.contrib.staticfiles import finders
from django.urls import reverse

from . import test_pages

# Fixtures shared with the rankings tests.
clock = test_pages.clock
ranked = test_pages.ranked

BUDGET_BYTES = 300 * 1024
ASSET = re.compile(r'<(?:script|link|img)\b[^>]*?\b(?:src|href)="([^"]+)"')


def gzipped_size(content: bytes) -> int:
    return len(gzip.compress(content, compresslevel=9))


def page_weight(html: str) -> tuple[int, list[str]]:
    """Return the gzipped size of the page and its static files, and the files' URLs."""
    urls = ASSET.findall(html)
    total = gzipped_size(html.encode())
    for url in urls:
        assert url.startswith("/static/"), f"{url} does not come from this server's static files"
        path = finders.find(url.removeprefix("/static/"))
        assert path, f"{url} is not in the static files"
        with open(path, "rb") as file:
            total += gzipped_size(file.read())
    return total, urls


def test_villager_page_within_budget(client, ranked):
    client.force_login(ranked.villager_user)

    html = client.get(reverse("my-entries")).content.decode()
    total, urls = page_weight(html)

    print(f"villager page: {total} bytes gzipped with {len(urls)} files")
    assert "/static/vendor/chartjs/chart.umd.min.js" in urls
    assert total <= BUDGET_BYTES


def test_rankings_page_within_budget(client, ranked):
    html = client.get(reverse("rankings", args=[ranked.village_a.pk])).content.decode()

    total, _ = page_weight(html)

    print(f"rankings page: {total} bytes gzipped")
    assert total <= BUDGET_BYTES


def test_static_styles_fetch_nothing_from_other_hosts():
    for name in ("vendor/pico/pico.min.css", "css/app.css"):
        with open(finders.find(name), encoding="utf-8") as file:
            text = file.read()
        for url in re.findall(r"url\(([^)]*)\)", text):
            assert url.strip("'\"").startswith("data:"), f"{name} loads {url}"
        assert "@import" not in text
