"""Issuing and revoking API tokens from the command line and in the admin."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone
from knox.models import AuthToken

from api.models import ApiToken, TokenGrant

from .api_fixtures import client_for
from .factories import UserFactory


def issue(*args: str) -> str:
    out = StringIO()
    call_command("issue_api_token", *args, stdout=out, stderr=StringIO())
    return out.getvalue().strip()


def test_issued_token_reads_and_is_stored_hashed(world):
    secret = issue("--user", "zhenjie")
    token = AuthToken.objects.get(user=world.township_viewer)
    assert secret not in (token.digest, token.token_key)
    assert token.digest != secret
    assert secret.startswith(token.token_key)
    assert client_for(secret).get("/api/v1/villages/").status_code == 200


def test_issued_token_read_only_by_default(world):
    issue("--user", "jifenyuan")
    assert TokenGrant.objects.get(token__user=world.recorder).can_write is False


def test_write_flag_and_days(world):
    before = timezone.now()
    issue("--user", "jifenyuan", "--write", "--days", "7", "--note", "村务通 app")
    grant = TokenGrant.objects.select_related("token").get(token__user=world.recorder)
    assert grant.can_write is True
    assert grant.note == "村务通 app"
    expected = before + timedelta(days=7)
    assert expected <= grant.token.expiry <= expected + timedelta(minutes=1)


def test_default_lifetime_from_settings(world, settings):
    issue("--user", "zhenjie")
    expiry = AuthToken.objects.get(user=world.township_viewer).expiry
    lifetime = settings.REST_KNOX["TOKEN_TTL"]
    assert timezone.now() + lifetime - timedelta(minutes=1) <= expiry <= timezone.now() + lifetime


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--user", "nobody"], "No user is named 'nobody'; check the username."),
        (
            ["--user", "cunmin"],
            "User 'cunmin' is not an active staff user; the API accepts only those.",
        ),
        (["--user", "zhenjie", "--days", "0"], "--days must be between 1 and 730, not 0."),
        (["--user", "zhenjie", "--days", "731"], "--days must be between 1 and 730, not 731."),
    ],
)
def test_issue_rejects_bad_input(world, args, message):
    with pytest.raises(CommandError) as error:
        issue(*args)
    assert str(error.value) == message
    assert not AuthToken.objects.exists()


def test_revoke_command(world):
    secret = issue("--user", "zhenjie")
    kept = issue("--user", "zhenjie")
    out = StringIO()
    call_command("revoke_api_token", secret[:15], stdout=out)
    assert out.getvalue().strip() == f"Revoked token {secret[:15]}."
    assert client_for(secret).get("/api/v1/villages/").status_code == 401
    assert client_for(kept).get("/api/v1/villages/").status_code == 200
    assert not TokenGrant.objects.filter(token__token_key=secret[:15]).exists()


def test_revoke_unknown_key(world):
    with pytest.raises(CommandError) as error:
        call_command("revoke_api_token", "000000000000000")
    assert str(error.value) == "No token has the key '000000000000000'; it may be revoked already."


def test_admin_lists_and_revokes_tokens(world):
    secret = issue("--user", "zhenjie", "--note", "镇数据平台")
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(admin)
    listing = client.get("/admin/api/apitoken/")
    assert listing.status_code == 200
    page = listing.content.decode()
    assert secret[:15] in page
    assert "镇数据平台" in page
    assert "接口令牌" in page
    assert secret not in page

    token = ApiToken.objects.get()
    response = client.post(f"/admin/api/apitoken/{token.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert client_for(secret).get("/api/v1/villages/").status_code == 401


def test_admin_tokens_hidden_from_village_staff(world):
    client = Client()
    client.force_login(world.village_admin)
    assert client.get("/admin/api/apitoken/").status_code == 403
