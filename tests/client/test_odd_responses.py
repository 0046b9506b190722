"""Answers Genesys should never give, from a real server: typed errors, never a crash."""

from collections.abc import AsyncGenerator, Awaitable, Callable

import aiohttp
from aiohttp import web
import pytest

from custom_components.genesys_agent.genesys_cloud import (
    GenesysAuthError,
    GenesysClient,
    GenesysError,
    GenesysForbiddenError,
    GenesysRateLimitError,
    GenesysResponseError,
    custom_environment,
)

from .conftest import FixedAuth
from .helpers import serving

ODD_ANSWERS: dict[str, Callable[[], web.Response]] = {
    "not-json": lambda: web.Response(text="<html>maintenance</html>"),
    "huge": lambda: web.Response(body=b"[" + b"0," * (1 << 20) + b"0]"),
    "no-entities": lambda: web.json_response({"entities": 5}),
    "html-error": lambda: web.Response(status=502, text="<html>bad gateway</html>"),
    "list-error": lambda: web.json_response([1, 2], status=418),
    "odd-retry-after": lambda: web.json_response(
        {"message": "slow down", "code": "too.many.requests"},
        status=429,
        headers={"Retry-After": "soon"},
    ),
    "nan-retry-after": lambda: web.json_response({}, status=429, headers={"Retry-After": "nan"}),
    "forbidden": lambda: web.json_response(
        {"message": "missing permissions", "code": "missing.permissions", "status": 403},
        status=403,
        headers={"ININ-Correlation-Id": "correlation"},
    ),
    "unauthorized": lambda: web.json_response(
        {"message": "Invalid login credentials.", "code": "bad.credentials"}, status=401
    ),
}


@pytest.fixture
async def odd_server(socket_enabled: None) -> AsyncGenerator[Callable[[str], str]]:
    """A server answering each path's odd answer; yields the base URL of each answer."""

    async def answer(request: web.Request) -> web.Response:
        return ODD_ANSWERS[request.match_info["kind"]]()

    app = web.Application()
    app.router.add_route("*", "/{kind}/api/v2/{tail:.*}", answer)
    async with serving(app) as base_url:
        yield lambda kind: f"{base_url}/{kind}"


@pytest.fixture
def odd_client(
    http: aiohttp.ClientSession, odd_server: Callable[[str], str]
) -> Callable[[str], GenesysClient]:
    def make(kind: str) -> GenesysClient:
        return GenesysClient(http, custom_environment(odd_server(kind)), FixedAuth())

    return make


@pytest.mark.parametrize(
    ("kind", "call", "error"),
    [
        ("not-json", GenesysClient.async_get_me, GenesysResponseError),
        ("huge", GenesysClient.async_get_me, GenesysResponseError),
        ("no-entities", GenesysClient.async_get_active_calls, GenesysResponseError),
        ("html-error", GenesysClient.async_get_me, GenesysError),
        ("list-error", GenesysClient.async_get_me, GenesysError),
        ("odd-retry-after", GenesysClient.async_get_me, GenesysRateLimitError),
    ],
)
async def test_odd_answers_become_typed_errors(
    odd_client: Callable[[str], GenesysClient],
    kind: str,
    call: Callable[[GenesysClient], Awaitable[object]],
    error: type[GenesysError],
) -> None:
    with pytest.raises(error):
        await call(odd_client(kind))


async def test_a_subscription_listing_without_entities_is_refused(
    odd_client: Callable[[str], GenesysClient],
) -> None:
    with pytest.raises(GenesysResponseError):
        await odd_client("no-entities").async_subscribe("channel", ["topic"])


async def test_a_refused_token_is_refreshed_once_then_an_auth_error(
    odd_client: Callable[[str], GenesysClient],
) -> None:
    client = odd_client("unauthorized")
    with pytest.raises(GenesysAuthError) as raised:
        await client.async_get_me()
    assert raised.value.code == "bad.credentials"
    assert client._auth.refreshes == 1  # type: ignore[attr-defined]


async def test_forbidden_keeps_genesys_code_and_correlation(
    odd_client: Callable[[str], GenesysClient],
) -> None:
    with pytest.raises(GenesysForbiddenError) as raised:
        await odd_client("forbidden").async_get_me()
    error = raised.value
    assert (str(error), error.code, error.status) == (
        "missing permissions",
        "missing.permissions",
        403,
    )
    assert error.correlation_id == "correlation"


@pytest.mark.parametrize("kind", ["odd-retry-after", "nan-retry-after"])
async def test_an_unreadable_retry_after_is_the_default_wait(
    odd_client: Callable[[str], GenesysClient], kind: str
) -> None:
    with pytest.raises(GenesysRateLimitError) as raised:
        await odd_client(kind).async_get_me()
    assert raised.value.retry_after == 3.0
