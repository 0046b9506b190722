"""Drive a running Home Assistant through its own HTTP and websocket APIs, as its UI does."""

import asyncio
import itertools
from typing import Any

from aiohttp import ClientError, ClientResponseError, ClientSession
from yarl import URL

OWNER = {"name": "Demo Owner", "username": "demo", "password": "demo-password"}


class HomeAssistantApi:
    """Onboarding, login, config flows and websocket commands against one instance."""

    def __init__(self, session: ClientSession, base_url: str) -> None:
        """Talk to the instance at ``base_url`` (http://127.0.0.1:PORT)."""
        self._session = session
        self.base_url = base_url
        self.client_id = f"{base_url}/"
        self._token = ""
        self._ids = itertools.count(1)

    async def wait_until_up(self, within: float, *, onboarded: bool) -> None:
        """Poll until the HTTP server can onboard, or log in once onboarded (onboarding's own
        views are not served then)."""
        path = "/auth/providers" if onboarded else "/api/onboarding"
        async with asyncio.timeout(within):
            while True:
                try:
                    async with self._session.get(f"{self.base_url}{path}") as response:
                        if response.status == 200:
                            return
                except ClientError:
                    pass
                await asyncio.sleep(0.5)

    async def onboard(self) -> None:
        """Create the owner (the one onboarding step left) and keep an access token."""
        user = await self._post(
            "/api/onboarding/users", {"client_id": self.client_id, "language": "en", **OWNER}
        )
        await self._exchange(user["auth_code"])

    async def log_in(self) -> None:
        """Sign in as the owner through the login form's API (a config kept from an earlier run)."""
        flow = await self._post(
            "/auth/login_flow",
            {
                "client_id": self.client_id,
                "handler": ["homeassistant", None],
                "redirect_uri": self.client_id,
            },
        )
        done = await self._post(
            f"/auth/login_flow/{flow['flow_id']}",
            {
                "client_id": self.client_id,
                "username": OWNER["username"],
                "password": OWNER["password"],
            },
        )
        if done.get("type") != "create_entry":
            raise RuntimeError(f"the owner's login was refused: {done.get('errors', done)}")
        await self._exchange(done["result"])

    async def wait_until_running(self, within: float) -> None:
        """Onboarding answers early; integrations can be added once startup has finished."""
        async with asyncio.timeout(within):
            while (await self.websocket({"type": "get_config"}))[0]["state"] != "RUNNING":  # noqa: ASYNC110 - another process's state
                await asyncio.sleep(0.5)

    async def _exchange(self, code: str) -> None:
        form = {"grant_type": "authorization_code", "code": code, "client_id": self.client_id}
        async with self._session.post(f"{self.base_url}/auth/token", data=form) as response:
            response.raise_for_status()
            self._token = (await response.json())["access_token"]

    async def get(self, path: str) -> Any:
        """GET a REST path as the owner."""
        headers = {"Authorization": f"Bearer {self._token}"}
        async with self._session.get(f"{self.base_url}{path}", headers=headers) as response:
            response.raise_for_status()
            return await response.json()

    async def _post(self, path: str, body: dict[str, Any]) -> Any:
        # The frontend names its own URL; OAuth flows build their redirect URI from it.
        headers = {"HA-Frontend-Base": self.base_url}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        async with self._session.post(
            f"{self.base_url}{path}", json=body, headers=headers
        ) as response:
            if response.status >= 400:
                raise RuntimeError(f"{path}: {response.status} {await response.text()}")
            return await response.json()

    async def websocket(self, *commands: dict[str, Any]) -> list[Any]:
        """Run websocket commands in order; return their results."""
        results = []
        async with self._session.ws_connect(f"{self.base_url}/api/websocket") as socket:
            await socket.receive_json()  # auth_required
            await socket.send_json({"type": "auth", "access_token": self._token})
            if (await socket.receive_json())["type"] != "auth_ok":
                raise RuntimeError("the websocket refused the token")
            for command in commands:
                message_id = next(self._ids)
                await socket.send_json({"id": message_id, **command})
                while (answer := await socket.receive_json()).get("id") != message_id:
                    continue
                if not answer["success"]:
                    raise RuntimeError(f"{command['type']}: {answer['error']}")
                results.append(answer["result"])
        return results

    async def has_entry(self, domain: str) -> bool:
        """Whether an integration has a config entry."""
        return bool(await self.get(f"/api/config/config_entries/entry?domain={domain}"))

    async def has_credentials(self, domain: str) -> bool:
        """Whether an OAuth client is registered for an integration."""
        [credentials] = await self.websocket({"type": "application_credentials/list"})
        return any(c["domain"] == domain for c in credentials)

    async def has_dashboard(self, url_path: str) -> bool:
        """Whether a dashboard exists at ``url_path``."""
        [dashboards] = await self.websocket({"type": "lovelace/dashboards/list"})
        return any(d["url_path"] == url_path for d in dashboards)

    async def add_credentials(self, client_id: str, secret: str) -> None:
        """Register an OAuth client as application credentials, as the UI's dialog does."""
        await self.websocket(
            {
                "type": "application_credentials/create",
                "domain": "genesys_agent",
                "client_id": client_id,
                "client_secret": secret,
                "name": "Genesys Cloud emulator",
            }
        )

    async def add_integration(self, emulator_url: str) -> None:
        """The config flow, with the OAuth redirect followed as a browser does."""
        flow = await self._post("/api/config/config_entries/flow", {"handler": "genesys_agent"})
        flow = await self._post(
            f"/api/config/config_entries/flow/{flow['flow_id']}",
            {"region": "us_east_1", "advanced": {"base_url": emulator_url}},
        )
        if flow["type"] != "external":
            raise RuntimeError(f"expected the login step, got {flow}")
        async with self._session.get(flow["url"], allow_redirects=False) as login:
            callback = URL(login.headers["Location"])
        async with self._session.get(callback) as landed:
            landed.raise_for_status()
        done = await self._post(f"/api/config/config_entries/flow/{flow['flow_id']}", {})
        if done["type"] != "create_entry":
            raise RuntimeError(f"the config flow ended with {done}")

    async def set_options(self, domain: str, options: dict[str, Any]) -> None:
        """The integration's options flow, submitted as the UI's form does (fields left out keep
        their current values); the entry reloads with them."""
        [entry] = await self.get(f"/api/config/config_entries/entry?domain={domain}")
        flow = await self._post(
            "/api/config/config_entries/options/flow", {"handler": entry["entry_id"]}
        )
        done = await self._post(
            f"/api/config/config_entries/options/flow/{flow['flow_id']}", options
        )
        if done["type"] != "create_entry":
            raise RuntimeError(f"the options flow ended with {done}")

    async def state(self, entity_id: str) -> str | None:
        """The entity's state; None while it does not exist."""
        try:
            return str((await self.get(f"/api/states/{entity_id}"))["state"])
        except ClientResponseError as err:
            if err.status == 404:
                return None
            raise

    async def wait_until_available(self, entity_id: str, within: float) -> None:
        """Until the entity exists and is available."""
        async with asyncio.timeout(within):
            while await self.state(entity_id) in (None, "unavailable"):  # noqa: ASYNC110 - another process's state
                await asyncio.sleep(0.2)

    async def add_dashboard(self, url_path: str, config: dict[str, Any]) -> None:
        """A dashboard in the sidebar, stored like one made in the UI."""
        await self.websocket(
            {
                "type": "lovelace/dashboards/create",
                "url_path": url_path,
                "title": config["title"],
                "icon": "mdi:headset",
                "show_in_sidebar": True,
                "require_admin": False,
                "mode": "storage",
            },
            {
                "type": "lovelace/config/save",
                "url_path": url_path,
                "config": config,
            },
        )
