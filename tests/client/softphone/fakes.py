"""Media fakes for both ends: fixed SDP, and a record of what signalling asked of them."""

from custom_components.genesys_agent.genesys_cloud.softphone.models import IceServer
from genesys_emulator.streaming.media_protocol import IceServer as GatewayIceServer

OFFER_SDP = (
    "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 96 101\r\nc=IN IP4 127.0.0.1\r\n"
    "a=ice-ufrag:{ufrag}\r\na=ice-pwd:gatewaypassword0123456789\r\n"
    "a=fingerprint:sha-256 AA:BB\r\na=setup:actpass\r\na=mid:audio\r\na=rtcp-mux\r\n"
    "a=rtpmap:96 opus/48000/2\r\na=rtpmap:101 telephone-event/8000\r\n"
    "a=candidate:1 1 udp 2122260223 127.0.0.1 40000 typ host\r\n"
    "a=candidate:2 1 udp 2122260222 127.0.0.1 40001 typ host\r\n"
)
ANSWER_SDP = (
    "v=0\r\no=- 2 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 127.0.0.1\r\n"
    "a=ice-ufrag:phone\r\na=ice-pwd:phonepassword0123456789\r\n"
    "a=fingerprint:sha-256 CC:DD\r\na=setup:active\r\na=mid:audio\r\na=rtcp-mux\r\n"
    "a=rtpmap:96 opus/48000/2\r\n"
    "a=candidate:7 1 udp 2122260223 127.0.0.1 50000 typ host\r\n"
    "a=candidate:8 1 tcp 1518280447 127.0.0.1 9 typ host tcptype active\r\n"
    "a=candidate:9 1 udp 2122262783 ::1 50002 typ host\r\n"
    "a=end-of-candidates\r\n"
)
TRICKLED_ANSWER_CANDIDATE = "candidate:7 1 udp 2122260223 127.0.0.1 50000 typ host"


class FakeMedia:
    """A softphone media session: answers with ``ANSWER_SDP`` and records every call."""

    def __init__(self, fail: bool = False) -> None:
        self.calls: list[str] = []
        self.offers: list[str] = []
        self.ice_servers: list[list[IceServer]] = []
        self.candidates: list[tuple[str, str | None, int | None]] = []
        self.closed = False
        self._fail = fail

    async def answer(self, offer_sdp: str, ice_servers: list[IceServer]) -> str:
        self.calls.append("answer")
        self.offers.append(offer_sdp)
        self.ice_servers.append(ice_servers)
        if self._fail:
            raise OSError("no audio device")
        return ANSWER_SDP

    async def add_remote_candidate(
        self, candidate: str, sdp_mid: str | None, sdp_mline_index: int | None
    ) -> None:
        self.calls.append("candidate")
        self.candidates.append((candidate, sdp_mid, sdp_mline_index))

    async def close(self) -> None:
        self.calls.append("close")
        self.closed = True


class FakeMediaFactory:
    """Makes ``FakeMedia`` and keeps every one made."""

    def __init__(self) -> None:
        self.made: list[FakeMedia] = []
        self.fail = False

    def __call__(self) -> FakeMedia:
        media = FakeMedia(self.fail)
        self.made.append(media)
        return media


class FakePeer:
    """The gateway's media peer: offers ``OFFER_SDP`` with its ICE user fragment."""

    def __init__(self, conversation_id: str, ufrag: str) -> None:
        self.conversation_id = conversation_id
        self.ufrag = ufrag
        self.offers = 0
        self.answers: list[str] = []
        self.candidates: list[tuple[str, str | None, int | None]] = []
        self.ice_servers: list[GatewayIceServer] = []
        self.closed = False

    async def offer(self, ice_servers: list[GatewayIceServer]) -> str:
        self.offers += 1
        self.ice_servers = ice_servers
        return OFFER_SDP.format(ufrag=self.ufrag)

    async def accept_answer(self, sdp: str) -> None:
        self.answers.append(sdp)

    async def add_remote_candidate(
        self, candidate: str, sdp_mid: str | None, sdp_mline_index: int | None
    ) -> None:
        self.candidates.append((candidate, sdp_mid, sdp_mline_index))

    async def close(self) -> None:
        self.closed = True


class FakePeerFactory:
    """Makes a ``FakePeer`` per conversation (each with its own ICE credentials)."""

    def __init__(self) -> None:
        self.made: list[FakePeer] = []

    def __call__(self, conversation_id: str) -> FakePeer:
        peer = FakePeer(conversation_id, f"gw{len(self.made)}")
        self.made.append(peer)
        return peer
