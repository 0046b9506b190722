"""The emulator: one aiohttp server on one port, carrying login, API, websockets and control.

Layout (as the official SDK's gateway configuration expects with ``path_params_login="login"``):
``/login/oauth/*`` and ``/authorize`` (login service), ``/api/v2/*`` (platform API),
``/channels/{id}`` (notification websockets), ``/stream/channels/{id}`` (the streaming service),
``/_emulator/*`` (control surface, see `control.py`). Every response carries
``ININ-Correlation-Id``; every ``/api/v2`` response also ``inin-ratelimit-*``; every ``/api/v2``
request is written to the audit log.
"""

import asyncio
import importlib
import json
import socket
from typing import TYPE_CHECKING, Any

from aiohttp import web
from aiohttp.typedefs import Handler

from .api import PlatformApi
from .auth import LoginService, TokenStore
from .calls import CallCenter
from .config import EmulatorConfig
from .control import Control
from .errors import ApiError, OAuthError
from .faults import FaultInjector
from .notifications import NotificationHub
from .presence import Presences
from .ratelimit import RateLimiter
from .state import AGENT_PERMISSIONS, AuditRecord, OAuthClient, Org, User, new_id, utcnow
from .streaming.gateway import SoftphoneGateway
from .streaming.service import StreamingService

if TYPE_CHECKING:  # aiortc is imported only when a WebRTC call starts
    from .media_peer import MediaPeer

API_PREFIX = "/api/v2/"
SHUTDOWN_TIMEOUT = 2.0
# Media peers kept for their readout after their call (the closed ones still tell what was heard).
MEDIA_PEERS_KEPT = 32
DEMO_GRANTS = frozenset({"authorization_code", "refresh_token", "client_credentials"})


class Emulator:
    """A Genesys Cloud org on localhost: create, ``await start()``, use, ``await stop()``."""

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        """Set up the org: the demo OAuth client, the demo agent (with a station), a supervisor."""
        self.config = config = config or EmulatorConfig()
        self.org = org = Org(name=config.org_name)
        self.demo_client = OAuthClient(
            id=config.demo_client_id,
            secret=config.demo_client_secret,
            name="Genesys Agent demo",
            grant_types=DEMO_GRANTS,
        )
        org.clients[self.demo_client.id] = self.demo_client
        self.demo_agent: User = org.add_user(
            "Jane Agent", "jane.agent@example.com", AGENT_PERMISSIONS
        )
        org.add_station(self.demo_agent)
        self.supervisor: User = org.add_user(
            "Sam Supervisor", "sam.supervisor@example.com", AGENT_PERMISSIONS
        )
        self.tokens = TokenStore(config)
        self.hub = NotificationHub(config, org)
        self.calls = CallCenter(org, self.hub)
        self.presences = Presences(self.hub)
        self.streaming = StreamingService(org, self.tokens, self.hub)
        self.gateway = SoftphoneGateway(org, self.calls, self.streaming)
        self.faults = FaultInjector()
        self.rate_limiter = RateLimiter(config.rate_limit_per_minute)
        self.login = LoginService(config, org, self.tokens)
        self.api = PlatformApi(org, self.tokens, self.calls, self.presences)
        self.audit: list[AuditRecord] = []
        self.control = Control(self)
        self.media_peers: dict[str, MediaPeer] = {}
        """The WebRTC media peer of each softphone call, by the conversation that opened it."""
        if config.webrtc_media:
            self.enable_webrtc_media()
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    def build_app(self) -> web.Application:
        """The aiohttp application."""
        app = web.Application(
            middlewares=[self._errors, self._audit, self.faults.middleware, self._platform]
        )
        self.login.add_routes(app)
        self.api.add_routes(app)
        self.hub.add_routes(app)
        self.streaming.add_routes(app)
        if self.config.control_api:
            self.control.add_routes(app)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen on ``host:port`` (port 0: any free port; see ``base_url``)."""
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        self._runner = web.AppRunner(
            self.build_app(), shutdown_timeout=SHUTDOWN_TIMEOUT, access_log=None
        )
        await self._runner.setup()
        await web.SockSite(self._runner, listener).start()
        bound_port = listener.getsockname()[1]
        self.base_url = f"http://{host}:{bound_port}"
        if self.gateway.media_factory is not None:
            # aiortc costs about a second to import: now, not at the first call's offer.
            await asyncio.to_thread(importlib.import_module, "genesys_emulator.media_peer")

    def _new_media_peer(self, conversation_id: str) -> MediaPeer:
        """The gateway's media for a call it offers (and, on a persistent station, later ones)."""
        from .media_peer import MediaPeer, agent_muted  # noqa: PLC0415 - aiortc only for media

        def muted() -> bool:
            # On a persistent connection the peer carries each later call in turn.
            session = next((s for s in self.gateway.sessions.values() if s.peer is peer), None)
            return session is not None and agent_muted(self.calls, session.conversation_id)()

        peer = MediaPeer(is_muted=muted)
        self.media_peers[conversation_id] = peer
        while len(self.media_peers) > MEDIA_PEERS_KEPT:
            del self.media_peers[next(iter(self.media_peers))]
        return peer

    def enable_webrtc_media(self, enabled: bool = True) -> None:
        """Offer calls to WebRTC stations with real media (aiortc), or with signalling only."""
        self.gateway.media_factory = self._new_media_peer if enabled else None

    def media_peer_of(self, conversation_id: str) -> MediaPeer | None:
        """The media peer that carries (or carried) a call, persistent connections included."""
        session = self.gateway.session_for(conversation_id)
        carrying = session.peer if session is not None else None
        for peer in self.media_peers.values():
            if peer is carrying:
                return peer
        return self.media_peers.get(conversation_id)

    async def stop(self) -> None:
        """Close every socket, release hanging requests, stop listening."""
        self.faults.release()
        while self.media_peers:
            await self.media_peers.popitem()[1].close()
        await self.gateway.close()
        await self.streaming.close()
        await self.hub.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def restart(self) -> None:
        """Lose every channel, token, code and call, as a crashed and restarted service would.

        The org's configuration (users, stations, OAuth clients) keeps its ids.
        """
        await self.hub.reset(abort=True)
        await self.streaming.drop_connections()
        await self.gateway.close()
        self.tokens.reset()
        self.calls.reset()
        self.rate_limiter.reset()

    # ------------------------------------------------------------------ middlewares

    @web.middleware
    async def _errors(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Render Genesys errors, and tag every response with a correlation id."""
        correlation_id = new_id()
        try:
            response = await handler(request)
        except ApiError as err:
            response = err.response(correlation_id)
        except OAuthError as err:
            response = err.response()
        except (web.HTTPNotFound, web.HTTPMethodNotAllowed):
            if not request.path.startswith(API_PREFIX):
                raise
            response = ApiError("not.found").response(correlation_id)
        if not response.prepared:
            response.headers["ININ-Correlation-Id"] = correlation_id
        return response

    @web.middleware
    async def _audit(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Record every platform API request with its outcome."""
        if not request.path.startswith(API_PREFIX):
            return await handler(request)
        body = await _parsed_body(request)
        status = 500
        try:
            response = await handler(request)
            status = response.status
        except (ApiError, web.HTTPException) as err:
            status = err.status
            raise
        finally:
            _, _, bearer = request.headers.get("Authorization", "").partition(" ")
            token = self.tokens.access_tokens.get(bearer.strip())
            self.audit.append(
                AuditRecord(
                    time=utcnow(),
                    method=request.method,
                    path=request.path,
                    user_id=None if token is None else token.user_id,
                    body=body,
                    status=status,
                )
            )
        return response

    @web.middleware
    async def _platform(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Bearer token check and rate limit for ``/api/v2``."""
        if not request.path.startswith(API_PREFIX):
            return await handler(request)
        token = self.tokens.authenticate(request.headers.get("Authorization"))
        request["token"] = token
        headers = self.rate_limiter.count(token.value)
        try:
            response = await handler(request)
        except ApiError as err:
            err.headers.update(headers)
            raise
        response.headers.update(headers)
        return response


async def _parsed_body(request: web.Request) -> Any:
    """The request's JSON body, or None (no body, or not JSON)."""
    if not request.can_read_body:
        return None
    try:
        return json.loads(await request.read())
    except ValueError:
        return None
