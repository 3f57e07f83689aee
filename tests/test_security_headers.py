"""Headers, cookies and deployment settings: CSP without inline code, HSTS, secure cookies."""

import os
import re
import subprocess
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.urls import reverse

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_DIRS = [ROOT / "templates", *ROOT.glob("*/templates")]
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)
INLINE_STYLE = re.compile(r"<style|\sstyle\s*=", re.IGNORECASE)


def policy_of(response) -> dict[str, str]:
    directives = (part.strip() for part in response["Content-Security-Policy"].split(";"))
    return dict(part.split(" ", 1) for part in directives if part)


def test_policy_allows_no_inline_code(client, db):
    policy = policy_of(client.get(reverse("login")))

    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["object-src"] == "'none'"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["base-uri"] == "'none'"
    assert policy["form-action"] == "'self'"
    assert "unsafe" not in str(policy)


def test_api_docs_script_is_a_file(client, db):
    page = client.get(reverse("api:docs"))
    script = client.get(reverse("api:docs"), {"script": ""})

    assert "<script>" not in page.content.decode()
    assert "<style>" not in page.content.decode()
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in script.content.decode()


def template_files():
    for folder in TEMPLATE_DIRS:
        yield from sorted(folder.rglob("*.html"))


@pytest.mark.parametrize(
    "path", list(template_files()), ids=lambda path: str(path.relative_to(ROOT))
)
def test_template_has_no_inline_code(path):
    text = path.read_text(encoding="utf-8")

    assert not INLINE_SCRIPT.search(text)
    assert not EVENT_HANDLER.search(text)
    assert not INLINE_STYLE.search(text)


def test_cookies_secure_and_http_only(client, world):
    login_page = client.get(reverse("login"))
    csrf_cookie = login_page.cookies[django_settings.CSRF_COOKIE_NAME]
    response = client.post(
        reverse("login"), {"username": "jifenyuan", "password": "correct-horse-battery"}
    )
    session_cookie = response.cookies[django_settings.SESSION_COOKIE_NAME]

    assert response.status_code == 302
    assert session_cookie["secure"]
    assert session_cookie["httponly"]
    assert csrf_cookie["secure"]
    assert csrf_cookie["httponly"]


def test_plain_security_headers(client, db):
    response = client.get(reverse("login"))

    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"


def test_hsts_over_https(client, db, settings):
    settings.SECURE_HSTS_SECONDS = 31536000

    response = client.get(reverse("login"), secure=True)

    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"


def test_ssl_redirect_spares_health(client, db, settings):
    settings.SECURE_SSL_REDIRECT = True

    page = client.get(reverse("login"))
    health = client.get(reverse("health"))

    assert page.status_code == 301
    assert page["Location"].startswith("https://")
    assert health.status_code == 200


def test_ssl_redirect_trusts_proxy_header(client, db, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

    response = client.get(reverse("login"), HTTP_X_FORWARDED_PROTO="https")

    assert response.status_code == 200


def check_deploy(**variables):
    env = {**os.environ, **variables}
    return subprocess.run(
        [str(ROOT / "scripts" / "check-deploy")], cwd=ROOT, env=env, capture_output=True, text=True
    )


def test_deploy_check_passes_in_production():
    result = check_deploy()

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNINGS" not in result.stdout + result.stderr


def test_deploy_check_fails_without_hsts():
    result = check_deploy(DJANGO_HSTS_SECONDS="0")

    assert result.returncode != 0
    assert "security.W004" in result.stdout + result.stderr
