"""Answers Genesys should never give, from a real server: typed errors, never a crash."""

from collections.abc import AsyncGenerator, Awaitable, Callable

import aiohttp
from aiohttp import web
import pytest

from custom_components.genesys_agent.genesys_cloud import (
    GenesysClient,
    GenesysError,
    GenesysRateLimitError,
    GenesysResponseError,
    custom_environment,
)

from .conftest import EmulatorAuth

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
}


@pytest.fixture
async def odd_server(socket_enabled: None) -> AsyncGenerator[Callable[[str], str]]:
    """A server on 127.0.0.1 answering each path's odd answer; yields base URL per answer."""

    async def answer(request: web.Request) -> web.Response:
        return ODD_ANSWERS[request.match_info["kind"]]()

    app = web.Application()
    app.router.add_route("*", "/{kind}/api/v2/{tail:.*}", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield lambda kind: f"http://127.0.0.1:{port}/{kind}"
    await runner.cleanup()


@pytest.fixture
def odd_client(
    http: aiohttp.ClientSession, odd_server: Callable[[str], str]
) -> Callable[[str], GenesysClient]:
    class NoAuth(EmulatorAuth):
        def __init__(self) -> None:
            self.token = {"access_token": "x"}

    def make(kind: str) -> GenesysClient:
        return GenesysClient(http, custom_environment(odd_server(kind)), NoAuth())

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
