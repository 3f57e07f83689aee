"""The OpenAPI schema, the docs page, and schemathesis runs against the live schema."""

import re

import pytest
import schemathesis
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from schemathesis import checks

from .api_fixtures import build_api_world, token_for

# Examples generated per operation; more reach rarer inputs but lengthen the suite.
EXAMPLES_PER_OPERATION = 50

SCHEMA_CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]


def test_schema_valid_without_warnings(tmp_path):
    # --fail-on-warn turns every warning of the generator into a failure.
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml")
    )
    text = (tmp_path / "schema.yml").read_text()
    assert "/api/v1/ledger-entries/" in text
    assert "apiToken" in text


def test_schema_describes_every_operation(client):
    schema = client.get("/api/schema/?format=json").json()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            name = f"{method.upper()} {path}"
            assert operation.get("description") or operation.get("summary"), name
            for code in ("401", "403", "429"):
                assert code in operation["responses"], (name, code)
                error = operation["responses"][code]["content"]["application/json"]["schema"]
                assert error == {"$ref": "#/components/schemas/Error"}, name
            for parameter in operation.get("parameters", []):
                assert parameter.get("description"), (name, parameter["name"])
    for component, body in schema["components"]["schemas"].items():
        for field, definition in body.get("properties", {}).items():
            described = definition.get("description") or definition.get("title")
            assert described or "$ref" in definition or "allOf" in definition, (component, field)


def test_docs_page_loads_only_local_files(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources
    for source in sources:
        assert source.startswith("/"), source
    assert "swagger-ui-bundle.js" in html
    assert finders.find("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
    assert "redoc" not in html.lower()


@pytest.fixture
def api_world(world):
    return build_api_world(world)


@pytest.fixture
def wsgi_app():
    """Django's WSGI app that keeps the test's database connection open between requests.

    Like Django's test client, it stops the request signals from closing the
    connection, because that connection contains the test's open transaction.
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield get_wsgi_application()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def test_schemathesis_finds_no_errors(api_world, wsgi_app):
    """Generated requests with a write token of village A get no 5xx and match the schema."""
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", wsgi_app)
    token = token_for(api_world.village_admin, write=True)
    headers = {"Authorization": f"Token {token}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case):
            case.call_and_validate(headers=headers, checks=SCHEMA_CHECKS)

        run()
