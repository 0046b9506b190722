"""Settings of one emulator instance; every field has a default fit for the demo."""

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class EmulatorConfig:
    """What an emulated Genesys Cloud org looks like and how strictly it behaves.

    Lifetimes are in seconds; tests shorten them instead of sleeping for real lifetimes.
    """

    access_token_ttl: float = 86400
    refresh_token_ttl: float = 2592000
    auth_code_ttl: float = 60
    heartbeat_interval: float = 30.0
    channel_ttl: float = 86400
    # True: /login/oauth/authorize redirects at once with a code for the first agent (or the
    # user named by login_hint) instead of showing the sign-in page.
    auto_approve: bool = False
    # None: no limit is enforced; the inin-ratelimit-* headers then advertise Genesys' 300.
    rate_limit_per_minute: int | None = None
    # None: the demo client accepts any redirect URI (its token request must still repeat it).
    allowed_redirect_uris: tuple[str, ...] | None = None
    # The HTTP control surface (/_emulator) lets anyone who reaches the port drive calls:
    # mounted only when asked for.
    control_api: bool = False
    # Genesys: 20 channels per user and OAuth client, 1000 topics per channel.
    max_channels_per_user: int = 20
    max_topics_per_channel: int = 1000
    # How long after v2.system.socket_closing the old sockets are closed (Genesys: one minute).
    socket_closing_grace: float = 60.0
    # The demo OAuth client; fixed so that a demo configured once keeps working across runs.
    demo_client_id: str = "5b0e2c3a-7e51-4c1f-9d38-6a1f0c2d9e47"
    demo_client_secret: str = "emulator-demo-secret"  # noqa: S105 (a local emulator's demo secret)
    org_name: str = "Emulated Org"
    # Calls to WebRTC stations carry real media: an aiortc peer per call plays the customer and
    # measures the agent (needs aiortc; ICE pinned to 127.0.0.1). Off: signalling only.
    webrtc_media: bool = False
