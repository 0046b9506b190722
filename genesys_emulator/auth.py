"""Genesys Cloud's login service: authorization code (+ PKCE), refresh, client credentials.

Routes (the SDK's gateway ``path_params_login="login"`` puts its ``/oauth/*`` calls here):

* ``GET /login/oauth/authorize`` — checks the client, redirect URI and PKCE parameters, then either
  redirects at once with a code (auto-approve) or sends the browser to the sign-in page;
* ``GET /authorize`` — the sign-in page, one button per emulated user; ``POST /authorize`` signs in;
* ``POST /login/oauth/token`` — form-encoded, grants ``authorization_code``, ``refresh_token``,
  ``client_credentials``; the client authenticates with HTTP Basic or ``client_id`` (+
  ``client_secret``) in the form; a PKCE exchange needs no secret;
* ``GET /login/logout`` — redirects to ``redirect_uri``.

Choices where the reference is UNCONFIRMED: error statuses follow OAuth 2.0 (401
``invalid_client``, 400 for the rest); a PKCE exchange also gets a refresh token (Home Assistant
needs one), and refreshing a token got through PKCE needs no secret; refreshing keeps the same
refresh token (Genesys' SDKs store whatever comes back, so a rotating client also works); a
reused authorization code also revokes the tokens it gave; ``token_type`` is ``bearer``.
"""

import base64
import binascii
from dataclasses import dataclass, field
from datetime import datetime, timedelta
import hashlib
import html
import secrets
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from .config import EmulatorConfig
from .errors import ApiError, OAuthError
from .state import OAuthClient, Org, User, new_id, utcnow

PKCE_VERIFIER_CHARS = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
)


@dataclass(kw_only=True)
class Token:
    """An access or refresh token; tokens of one sign-in share a ``grant_id``."""

    value: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    client_id: str
    user_id: str | None
    grant_id: str
    expires_at: datetime
    # Got through PKCE without a client secret: may be refreshed without one.
    public: bool = False
    revoked: bool = False

    def valid(self) -> bool:
        """Neither revoked nor expired."""
        return not self.revoked and utcnow() < self.expires_at


@dataclass(frozen=True, kw_only=True)
class AuthorizationCode:
    """A single-use code, bound to its client, redirect URI and PKCE challenge."""

    client_id: str
    user_id: str
    redirect_uri: str
    code_challenge: str | None
    expires_at: datetime
    grant_id: str = field(default_factory=new_id)


def pkce_challenge(verifier: str) -> str:
    """``BASE64URL(SHA256(verifier))`` without padding (S256)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


class TokenStore:
    """Codes and tokens handed out since the last restart."""

    def __init__(self, config: EmulatorConfig) -> None:
        """Start empty."""
        self._config = config
        self.codes: dict[str, AuthorizationCode] = {}
        self.used_codes: dict[str, str] = {}  # code -> grant id, to detect reuse
        self.access_tokens: dict[str, Token] = {}
        self.refresh_tokens: dict[str, Token] = {}

    def reset(self) -> None:
        """Forget every code and token (an emulator restart)."""
        self.codes.clear()
        self.used_codes.clear()
        self.access_tokens.clear()
        self.refresh_tokens.clear()

    def issue_code(
        self, client_id: str, user_id: str, redirect_uri: str, challenge: str | None
    ) -> str:
        """A fresh authorization code."""
        code = secrets.token_urlsafe(24)
        self.codes[code] = AuthorizationCode(
            client_id=client_id,
            user_id=user_id,
            redirect_uri=redirect_uri,
            code_challenge=challenge,
            expires_at=utcnow() + timedelta(seconds=self._config.auth_code_ttl),
        )
        return code

    def issue(
        self, client_id: str, user_id: str | None, grant_id: str, *, refresh: bool, public: bool
    ) -> dict[str, Any]:
        """Mint an access token (and a refresh token) and return the token response."""
        now = utcnow()
        access = Token(
            client_id=client_id,
            user_id=user_id,
            grant_id=grant_id,
            expires_at=now + timedelta(seconds=self._config.access_token_ttl),
        )
        self.access_tokens[access.value] = access
        response: dict[str, Any] = {
            "access_token": access.value,
            "token_type": "bearer",
            "expires_in": int(self._config.access_token_ttl),
        }
        if refresh:
            refresh_token = Token(
                client_id=client_id,
                user_id=user_id,
                grant_id=grant_id,
                expires_at=now + timedelta(seconds=self._config.refresh_token_ttl),
                public=public,
            )
            self.refresh_tokens[refresh_token.value] = refresh_token
            response["refresh_token"] = refresh_token.value
        return response

    def adopt(self, client_id: str, user_id: str, access_token: str, refresh_token: str) -> None:
        """Honour a sign-in an earlier run handed out, as a Genesys that kept running would.

        The demo keeps its Home Assistant between runs while the emulator starts empty.
        """
        grant_id, now = new_id(), utcnow()
        for store, value, ttl in (
            (self.access_tokens, access_token, self._config.access_token_ttl),
            (self.refresh_tokens, refresh_token, self._config.refresh_token_ttl),
        ):
            store[value] = Token(
                value=value,
                client_id=client_id,
                user_id=user_id,
                grant_id=grant_id,
                expires_at=now + timedelta(seconds=ttl),
            )

    def authenticate(self, authorization: str | None) -> Token:
        """The valid access token of an ``Authorization: Bearer`` header, or a 401."""
        scheme, _, value = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise ApiError("authentication.required")
        token = self.access_tokens.get(value.strip())
        if token is None or not token.valid():
            raise ApiError("bad.credentials")
        return token

    def expire_access_tokens(self) -> None:
        """Make every access token expired now (refresh tokens stay good)."""
        now = utcnow()
        for token in self.access_tokens.values():
            token.expires_at = min(token.expires_at, now)

    def revoke(self, *, user_id: str | None = None, grant_id: str | None = None) -> int:
        """Revoke the access and refresh tokens of a user, of a grant, or (neither) all of them."""
        revoked = 0
        for token in [*self.access_tokens.values(), *self.refresh_tokens.values()]:
            if (user_id is None or token.user_id == user_id) and (
                grant_id is None or token.grant_id == grant_id
            ):
                revoked += not token.revoked
                token.revoked = True
        return revoked


def _text(fields: Any, name: str) -> str | None:
    """A form or query field as text (None when absent or a file)."""
    value = fields.get(name)
    return value if isinstance(value, str) else None


def _redirect(uri: str, params: dict[str, str]) -> web.HTTPFound:
    separator = "&" if "?" in uri else "?"
    return web.HTTPFound(f"{uri}{separator}{urlencode(params)}")


@dataclass(frozen=True, kw_only=True)
class AuthorizeRequest:
    """A checked ``/oauth/authorize`` query."""

    client: OAuthClient
    redirect_uri: str
    state: str | None
    code_challenge: str | None
    login_hint: str | None

    def redirect(self, params: dict[str, str]) -> web.HTTPFound:
        """Back to the client with ``params`` and the round-tripped ``state``."""
        if self.state is not None:
            params = {**params, "state": self.state}
        return _redirect(self.redirect_uri, params)


class LoginService:
    """The HTTP side of the login service."""

    def __init__(self, config: EmulatorConfig, org: Org, tokens: TokenStore) -> None:
        """Serve logins for ``org`` with ``tokens``."""
        self.auto_approve = config.auto_approve
        self._allowed_redirect_uris = config.allowed_redirect_uris
        self._org = org
        self._tokens = tokens

    def add_routes(self, app: web.Application) -> None:
        """Register the login routes."""
        app.router.add_get("/login/oauth/authorize", self.authorize)
        app.router.add_get("/authorize", self.sign_in_page)
        app.router.add_post("/authorize", self.sign_in)
        app.router.add_post("/login/oauth/token", self.token)
        app.router.add_get("/login/logout", self.logout)

    # ------------------------------------------------------------------ authorize

    def _check_authorize(self, query: Any) -> AuthorizeRequest:
        """Validate the authorize parameters; errors the client may see go to its redirect URI."""
        client = self._org.clients.get(query.get("client_id", ""))
        if client is None:
            raise OAuthError(400, "invalid_client", "client not found")
        redirect_uri = query.get("redirect_uri", "")
        allowed = self._allowed_redirect_uris
        if not redirect_uri or (allowed is not None and redirect_uri not in allowed):
            raise OAuthError(400, "invalid_request", "redirect uri mismatch")
        request = AuthorizeRequest(
            client=client,
            redirect_uri=redirect_uri,
            state=query.get("state"),
            code_challenge=query.get("code_challenge") or None,
            login_hint=query.get("login_hint"),
        )
        if query.get("response_type") != "code":
            raise request.redirect(
                {
                    "error": "unsupported_response_type",
                    "error_description": "only the code response type is emulated",
                }
            )
        method = query.get("code_challenge_method")
        if (request.code_challenge or method) and (method != "S256" or not request.code_challenge):
            raise request.redirect(
                {
                    "error": "invalid_request",
                    "error_description": "PKCE needs a code_challenge with method S256",
                }
            )
        return request

    def _approve(self, request: AuthorizeRequest, user: User) -> web.HTTPFound:
        code = self._tokens.issue_code(
            request.client.id, user.id, request.redirect_uri, request.code_challenge
        )
        return request.redirect({"code": code})

    async def authorize(self, request: web.Request) -> web.StreamResponse:
        """``GET /login/oauth/authorize``."""
        authorize = self._check_authorize(request.query)
        if not self.auto_approve:
            raise web.HTTPFound(f"/authorize?{request.query_string}")
        hinted = [u for u in self._org.users.values() if u.email == authorize.login_hint]
        user = hinted[0] if hinted else next(iter(self._org.users.values()))
        raise self._approve(authorize, user)

    async def sign_in_page(self, request: web.Request) -> web.Response:
        """``GET /authorize``: who signs in?"""
        authorize = self._check_authorize(request.query)
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in request.query.items()
        )
        buttons = "".join(
            f'<li><button name="user_id" value="{user.id}">Sign in as '
            f"{html.escape(user.name)}</button> &lt;{html.escape(user.email)}&gt;</li>"
            for user in self._org.users.values()
        )
        page = (
            "<!doctype html><html><head><title>Genesys Cloud emulator: sign in</title></head>"
            f"<body><h1>{html.escape(self._org.name)}</h1>"
            f"<p>{html.escape(authorize.client.name)} asks to act on your behalf.</p>"
            f'<form method="post" action="/authorize">{hidden}<ul>{buttons}</ul>'
            '<button name="deny" value="1">Deny</button></form></body></html>'
        )
        return web.Response(text=page, content_type="text/html")

    async def sign_in(self, request: web.Request) -> web.StreamResponse:
        """``POST /authorize``: the person picked a user (or denied)."""
        form = await request.post()
        authorize = self._check_authorize(form)
        if form.get("deny"):
            raise authorize.redirect(
                {"error": "access_denied", "error_description": "the user denied access"}
            )
        user = self._org.users.get(_text(form, "user_id") or "")
        if user is None:
            raise OAuthError(400, "invalid_request", "unknown user")
        raise self._approve(authorize, user)

    async def logout(self, request: web.Request) -> web.StreamResponse:
        """``GET /login/logout``: nothing to forget server-side; back to the app."""
        raise web.HTTPFound(request.query.get("redirect_uri", "/authorize"))

    # ------------------------------------------------------------------ token

    def _client(self, request: web.Request, form: Any) -> tuple[OAuthClient, bool]:
        """The calling client, and whether it proved its secret."""
        client_id, secret = _text(form, "client_id"), _text(form, "client_secret")
        scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "basic":
            try:
                client_id, _, secret = base64.b64decode(credentials).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError) as err:
                raise OAuthError(401, "invalid_client", "authentication failed") from err
        client = self._org.clients.get(client_id or "")
        if client is None:
            raise OAuthError(401, "invalid_client", "client not found")
        if secret is not None and not secrets.compare_digest(secret, client.secret):
            raise OAuthError(401, "invalid_client", "authentication failed")
        return client, secret is not None

    async def token(self, request: web.Request) -> web.Response:
        """``POST /login/oauth/token``."""
        form = await request.post()
        client, authenticated = self._client(request, form)
        grant_type = _text(form, "grant_type")
        if grant_type not in client.grant_types:
            raise OAuthError(400, "unsupported_grant_type", f"grant type {grant_type} refused")
        if grant_type == "client_credentials":
            if not authenticated:
                raise OAuthError(401, "invalid_client", "authentication failed")
            body = self._tokens.issue(client.id, None, new_id(), refresh=False, public=False)
        elif grant_type == "authorization_code":
            body = self._exchange_code(client, form, authenticated)
        else:
            body = self._refresh(client, form, authenticated)
        return web.json_response(body, headers={"Cache-Control": "no-store"})

    def _exchange_code(self, client: OAuthClient, form: Any, authenticated: bool) -> dict[str, Any]:
        code_value = _text(form, "code") or ""
        if (reused := self._tokens.used_codes.get(code_value)) is not None:
            self._tokens.revoke(grant_id=reused)
            raise OAuthError(400, "invalid_grant", "authorization code already used")
        code = self._tokens.codes.pop(code_value, None)
        if code is None or code.client_id != client.id:
            raise OAuthError(400, "invalid_grant", "invalid authorization code")
        self._tokens.used_codes[code_value] = code.grant_id
        if utcnow() >= code.expires_at:
            raise OAuthError(400, "invalid_grant", "authorization code expired")
        if _text(form, "redirect_uri") != code.redirect_uri:
            raise OAuthError(400, "invalid_grant", "redirect uri mismatch")
        verifier = _text(form, "code_verifier")
        if code.code_challenge is not None:
            if (
                not verifier
                or not 43 <= len(verifier) <= 128
                or not set(verifier) <= PKCE_VERIFIER_CHARS
                or pkce_challenge(verifier) != code.code_challenge
            ):
                raise OAuthError(400, "invalid_grant", "PKCE verification failed")
        elif not authenticated:
            raise OAuthError(401, "invalid_client", "authentication failed")
        return self._tokens.issue(
            client.id, code.user_id, code.grant_id, refresh=True, public=not authenticated
        )

    def _refresh(self, client: OAuthClient, form: Any, authenticated: bool) -> dict[str, Any]:
        refresh = self._tokens.refresh_tokens.get(_text(form, "refresh_token") or "")
        if refresh is None or refresh.client_id != client.id:
            raise OAuthError(400, "invalid_grant", "invalid refresh token")
        if not authenticated and not refresh.public:
            raise OAuthError(401, "invalid_client", "authentication failed")
        if refresh.revoked:
            raise OAuthError(400, "invalid_grant", "refresh token revoked")
        if not refresh.valid():
            raise OAuthError(400, "invalid_grant", "refresh token expired")
        body = self._tokens.issue(
            client.id, refresh.user_id, refresh.grant_id, refresh=False, public=refresh.public
        )
        return {**body, "refresh_token": refresh.value}
