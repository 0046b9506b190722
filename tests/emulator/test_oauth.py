"""The login service: code + PKCE, refresh, client credentials, the sign-in page, token checks."""

import asyncio
import secrets
from typing import Any

from aiohttp import ClientSession, encode_basic_auth
import pytest
from yarl import URL

from genesys_emulator import Emulator, EmulatorConfig
from genesys_emulator.auth import pkce_challenge
from genesys_emulator.testing import DEFAULT_REDIRECT_URI, login_with_pkce, running_emulator

from .helpers import api

REDIRECT = DEFAULT_REDIRECT_URI


async def _authorize(session: ClientSession, emu: Emulator, verifier: str, **overrides: str) -> URL:
    """Run /login/oauth/authorize; the Location it redirects to."""
    query = {
        "response_type": "code",
        "client_id": emu.demo_client.id,
        "redirect_uri": REDIRECT,
        "state": "xyz",
        "code_challenge": pkce_challenge(verifier),
        "code_challenge_method": "S256",
        **overrides,
    }
    url = URL(emu.base_url + "/login/oauth/authorize").with_query(query)
    async with session.get(url, allow_redirects=False) as response:
        assert response.status == 302, await response.text()
        return URL(response.headers["Location"])


async def _token(
    session: ClientSession, emu: Emulator, form: dict[str, str], auth: str | None = None
) -> tuple[int, dict[str, Any]]:
    headers = {"Authorization": auth} if auth else {}
    async with session.post(emu.base_url + "/login/oauth/token", data=form, headers=headers) as r:
        return r.status, await r.json()


def _exchange(emu: Emulator, code: str, verifier: str, redirect: str = REDIRECT) -> dict[str, str]:
    return {
        "grant_type": "authorization_code",
        "code": code,
        "code_verifier": verifier,
        "client_id": emu.demo_client.id,
        "redirect_uri": redirect,
    }


def _basic(emu: Emulator, secret: str | None = None) -> str:
    return encode_basic_auth(emu.demo_client.id, secret or emu.demo_client.secret)


def _oauth_error(body: dict[str, Any], error: str) -> None:
    assert body["error"] == error
    assert body["description"] == body["error_description"]


async def test_pkce_login_round_trips_state_and_gives_tokens(
    session: ClientSession, emulator: Emulator
) -> None:
    verifier = secrets.token_urlsafe(48)
    location = await _authorize(session, emulator, verifier)
    assert str(location.with_query(None)) == REDIRECT
    assert location.query["state"] == "xyz"
    status, token = await _token(
        session, emulator, _exchange(emulator, location.query["code"], verifier)
    )
    assert status == 200
    assert token["token_type"] == "bearer"
    assert token["expires_in"] == 86400
    assert token["refresh_token"]
    response, me = await api(session, emulator, "GET", "/users/me", token)
    assert (response.status, me["id"]) == (200, emulator.demo_agent.id)


async def test_login_hint_picks_the_user(session: ClientSession, emulator: Emulator) -> None:
    token = await login_with_pkce(session, emulator, login_hint=emulator.supervisor.email)
    _, me = await api(session, emulator, "GET", "/users/me", token)
    assert me["id"] == emulator.supervisor.id


async def test_pkce_verifier_mismatch_is_refused(
    session: ClientSession, emulator: Emulator
) -> None:
    location = await _authorize(session, emulator, secrets.token_urlsafe(48))
    status, body = await _token(
        session, emulator, _exchange(emulator, location.query["code"], secrets.token_urlsafe(48))
    )
    assert status == 400
    _oauth_error(body, "invalid_grant")


async def test_reused_code_is_refused_and_revokes_its_tokens(
    session: ClientSession, emulator: Emulator
) -> None:
    verifier = secrets.token_urlsafe(48)
    location = await _authorize(session, emulator, verifier)
    form = _exchange(emulator, location.query["code"], verifier)
    status, token = await _token(session, emulator, form)
    assert status == 200
    status, body = await _token(session, emulator, form)
    assert status == 400
    _oauth_error(body, "invalid_grant")
    response, error = await api(session, emulator, "GET", "/users/me", token)
    assert (response.status, error["code"]) == (401, "bad.credentials")


async def test_token_redirect_uri_must_match_authorize(
    session: ClientSession, emulator: Emulator
) -> None:
    verifier = secrets.token_urlsafe(48)
    location = await _authorize(session, emulator, verifier)
    form = _exchange(emulator, location.query["code"], verifier, "http://127.0.0.1/elsewhere")
    status, body = await _token(session, emulator, form)
    assert status == 400
    _oauth_error(body, "invalid_grant")


async def test_code_expires(session: ClientSession, socket_enabled: None) -> None:
    async with running_emulator(EmulatorConfig(auto_approve=True, auth_code_ttl=0.05)) as emu:
        verifier = secrets.token_urlsafe(48)
        location = await _authorize(session, emu, verifier)
        await asyncio.sleep(0.1)
        status, body = await _token(session, emu, _exchange(emu, location.query["code"], verifier))
        assert status == 400
        _oauth_error(body, "invalid_grant")


async def test_refresh_gives_a_new_access_token_until_the_refresh_token_expires(
    session: ClientSession, socket_enabled: None
) -> None:
    async with running_emulator(
        EmulatorConfig(auto_approve=True, refresh_token_ttl=0.3, access_token_ttl=0.1)
    ) as emu:
        token = await login_with_pkce(session, emu)
        await asyncio.sleep(0.15)
        response, error = await api(session, emu, "GET", "/users/me", token)
        assert (response.status, error["code"]) == (401, "bad.credentials")
        refresh = {"grant_type": "refresh_token", "refresh_token": token["refresh_token"]}
        status, renewed = await _token(session, emu, refresh, _basic(emu))
        assert status == 200
        assert renewed["access_token"] != token["access_token"]
        assert renewed["refresh_token"] == token["refresh_token"]
        response, _ = await api(session, emu, "GET", "/users/me", renewed)
        assert response.status == 200
        await asyncio.sleep(0.3)
        status, body = await _token(session, emu, refresh, _basic(emu))
        assert status == 400
        _oauth_error(body, "invalid_grant")


async def test_pkce_refresh_needs_no_secret_but_a_code_grant_refresh_does(
    session: ClientSession, emulator: Emulator
) -> None:
    public = await login_with_pkce(session, emulator)
    form = {
        "grant_type": "refresh_token",
        "refresh_token": public["refresh_token"],
        "client_id": emulator.demo_client.id,
    }
    assert (await _token(session, emulator, form))[0] == 200

    # A plain code grant (no PKCE) proves the secret, so its refresh must too.
    location = await _authorize(
        session, emulator, "x" * 43, code_challenge="", code_challenge_method=""
    )
    form = {"grant_type": "authorization_code", "code": location.query["code"]}
    status, body = await _token(session, emulator, {**form, "redirect_uri": REDIRECT})
    assert status == 401
    _oauth_error(body, "invalid_client")
    location = await _authorize(
        session, emulator, "x" * 43, code_challenge="", code_challenge_method=""
    )
    form = {"grant_type": "authorization_code", "code": location.query["code"]}
    form["redirect_uri"] = REDIRECT
    status, confidential = await _token(session, emulator, form, _basic(emulator))
    assert status == 200
    refresh = {
        "grant_type": "refresh_token",
        "refresh_token": confidential["refresh_token"],
        "client_id": emulator.demo_client.id,
    }
    status, body = await _token(session, emulator, refresh)
    assert status == 401
    _oauth_error(body, "invalid_client")


async def test_client_credentials_with_basic_auth(
    session: ClientSession, emulator: Emulator
) -> None:
    status, token = await _token(
        session, emulator, {"grant_type": "client_credentials"}, _basic(emulator)
    )
    assert status == 200
    assert "refresh_token" not in token
    response, error = await api(session, emulator, "GET", "/users/me", token)
    assert (response.status, error["code"]) == (400, "not.a.user")
    response, info = await api(session, emulator, "GET", "/tokens/me", token)
    assert info["OAuthClient"]["authorizedGrantType"] == "CLIENT-CREDENTIALS"


@pytest.mark.parametrize(
    ("form", "auth", "status", "error"),
    [
        ({"grant_type": "client_credentials"}, "wrong", 401, "invalid_client"),
        ({"grant_type": "client_credentials"}, None, 401, "invalid_client"),
        ({"grant_type": "password"}, "right", 400, "unsupported_grant_type"),
        ({"grant_type": "refresh_token", "refresh_token": "nope"}, "right", 400, "invalid_grant"),
        ({"grant_type": "authorization_code", "code": "nope"}, "right", 400, "invalid_grant"),
    ],
)
async def test_token_errors(
    session: ClientSession,
    emulator: Emulator,
    form: dict[str, str],
    auth: str | None,
    status: int,
    error: str,
) -> None:
    basic = {"wrong": _basic(emulator, "wrong"), "right": _basic(emulator), None: None}[auth]
    if auth is None:
        form = {**form, "client_id": emulator.demo_client.id}
    answer_status, body = await _token(session, emulator, form, basic)
    assert answer_status == status
    _oauth_error(body, error)


async def test_unknown_client_and_garbled_basic_auth(
    session: ClientSession, emulator: Emulator
) -> None:
    status, body = await _token(session, emulator, {"grant_type": "client_credentials"})
    assert status == 401
    _oauth_error(body, "invalid_client")
    async with session.post(
        emulator.base_url + "/login/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": "Basic !!!"},
    ) as response:
        assert response.status == 401


async def test_authorize_refuses_unknown_client_and_unlisted_redirect(
    session: ClientSession, socket_enabled: None
) -> None:
    async with running_emulator(
        EmulatorConfig(auto_approve=True, allowed_redirect_uris=("http://127.0.0.1/ok",))
    ) as emu:
        base = URL(emu.base_url + "/login/oauth/authorize")
        for query in (
            {"client_id": "unknown", "redirect_uri": "http://127.0.0.1/ok"},
            {"client_id": emu.demo_client.id, "redirect_uri": "http://127.0.0.1/evil"},
        ):
            url = base.with_query({"response_type": "code", **query})
            async with session.get(url, allow_redirects=False) as response:
                assert response.status == 400
                assert "error" in await response.json()


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
    ],
)
async def test_authorize_errors_go_back_to_the_client(
    session: ClientSession, emulator: Emulator, overrides: dict[str, str], error: str
) -> None:
    location = await _authorize(session, emulator, "v" * 43, **overrides)
    assert location.query["error"] == error
    assert location.query["state"] == "xyz"


async def test_sign_in_page_lists_users_and_signs_in(
    session: ClientSession, socket_enabled: None
) -> None:
    async with running_emulator() as emu:
        verifier = secrets.token_urlsafe(48)
        location = await _authorize(session, emu, verifier)
        assert location.path == "/authorize"
        async with session.get(emu.base_url + str(location)) as response:
            page = await response.text()
        assert response.content_type == "text/html"
        assert emu.demo_agent.name in page
        assert emu.supervisor.name in page
        form = {**location.query, "user_id": emu.supervisor.id}
        async with session.post(
            emu.base_url + "/authorize", data=form, allow_redirects=False
        ) as response:
            assert response.status == 302
            back = URL(response.headers["Location"])
        assert back.query["state"] == "xyz"
        status, token = await _token(session, emu, _exchange(emu, back.query["code"], verifier))
        assert status == 200
        _, me = await api(session, emu, "GET", "/users/me", token)
        assert me["id"] == emu.supervisor.id

        async with session.post(
            emu.base_url + "/authorize", data={**location.query, "deny": "1"}, allow_redirects=False
        ) as response:
            assert URL(response.headers["Location"]).query["error"] == "access_denied"
        async with session.post(
            emu.base_url + "/authorize", data={**location.query, "user_id": "x"}
        ) as response:
            assert response.status == 400

        await emu.control.set_auto_approve(True)
        assert (await _authorize(session, emu, verifier)).path == URL(REDIRECT).path


async def test_logout_redirects_back(session: ClientSession, emulator: Emulator) -> None:
    url = URL(emulator.base_url + "/login/logout").with_query(redirect_uri=REDIRECT)
    async with session.get(url, allow_redirects=False) as response:
        assert response.headers["Location"] == REDIRECT


async def test_bearer_checks(
    session: ClientSession, emulator: Emulator, agent_token: dict[str, Any]
) -> None:
    async with session.get(emulator.base_url + "/api/v2/users/me") as response:
        body = await response.json()
    assert (response.status, body["code"]) == (401, "authentication.required")
    assert body["contextId"] == response.headers["ININ-Correlation-Id"]
    response, body = await api(session, emulator, "GET", "/users/me", "not-a-token")
    assert (response.status, body["code"]) == (401, "bad.credentials")

    response, _ = await api(session, emulator, "HEAD", "/tokens/me", agent_token)
    assert response.status == 200
    response, _ = await api(session, emulator, "DELETE", "/tokens/me", agent_token)
    assert response.status == 200
    response, body = await api(session, emulator, "GET", "/users/me", agent_token)
    assert (response.status, body["code"]) == (401, "bad.credentials")
    refresh = {"grant_type": "refresh_token", "refresh_token": agent_token["refresh_token"]}
    status, body = await _token(session, emulator, refresh, _basic(emulator))
    assert status == 400
    _oauth_error(body, "invalid_grant")


async def test_expire_and_revoke_from_control(session: ClientSession, emulator: Emulator) -> None:
    agent = await login_with_pkce(session, emulator)
    supervisor = await login_with_pkce(session, emulator, login_hint=emulator.supervisor.email)
    await emulator.control.expire_access_tokens()
    for token in (agent, supervisor):
        response, _ = await api(session, emulator, "GET", "/users/me", token)
        assert response.status == 401
    refresh = {"grant_type": "refresh_token", "refresh_token": agent["refresh_token"]}
    status, renewed = await _token(session, emulator, refresh, _basic(emulator))
    assert status == 200

    # The agent's expired and renewed access tokens and its refresh token.
    assert await emulator.control.revoke_tokens(emulator.demo_agent.id) == 3
    response, _ = await api(session, emulator, "GET", "/users/me", renewed)
    assert response.status == 401
    status, _ = await _token(session, emulator, refresh, _basic(emulator))
    assert status == 400
    other = {"grant_type": "refresh_token", "refresh_token": supervisor["refresh_token"]}
    assert (await _token(session, emulator, other, _basic(emulator)))[0] == 200


def test_pkce_challenge_is_rfc7636_s256() -> None:
    # RFC 7636 appendix B.
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert pkce_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
