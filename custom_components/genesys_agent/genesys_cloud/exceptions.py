"""One exception hierarchy for everything the client can meet.

Messages carry Genesys' own text and error code, never a token.
"""

from enum import StrEnum


class GenesysError(Exception):
    """A Genesys Cloud request or session failed."""

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        correlation_id: str | None = None,
    ) -> None:
        """Keep Genesys' error code, HTTP status and correlation id for diagnosis."""
        super().__init__(message)
        self.code = code
        self.status = status
        self.correlation_id = correlation_id


class GenesysAuthError(GenesysError):
    """The login is no longer accepted (401 after a refresh, or the refresh was refused)."""


class GenesysForbiddenError(GenesysError):
    """403: the OAuth client lacks a scope or the user a permission."""


class GenesysNotFoundError(GenesysError):
    """404: the conversation, participant or channel does not exist (any more)."""


class GenesysRateLimitError(GenesysError):
    """429: too many requests; ``retry_after`` says how long to wait, in seconds."""

    def __init__(
        self,
        message: str,
        *,
        retry_after: float,
        code: str | None = None,
        status: int | None = None,
        correlation_id: str | None = None,
    ) -> None:
        """Keep the wait Genesys asked for."""
        super().__init__(message, code=code, status=status, correlation_id=correlation_id)
        self.retry_after = retry_after


class GenesysServerError(GenesysError):
    """5xx: Genesys Cloud failed; worth retrying later."""


class GenesysConnectionError(GenesysError):
    """No answer: the network failed or the request timed out."""


class GenesysResponseError(GenesysError):
    """Genesys answered with something this client cannot read."""


class GenesysSubscriptionError(GenesysError):
    """400 on the notifications subscription as a whole: retrying the same request is futile."""


class GenesysNoActiveCallError(GenesysError):
    """There is no connected call to mute."""


class GenesysCallNotConnectedError(GenesysNoActiveCallError):
    """400: Genesys says the call is already disconnected (news the session had not yet)."""


class GenesysCommandNotConfirmedError(GenesysError):
    """Genesys accepted a command but neither an event nor a read-back showed that it took."""


class GenesysMuteNotConfirmedError(GenesysCommandNotConfirmedError):
    """Genesys accepted a mute but no event confirmed it in time."""


class CommandRefusal(StrEnum):
    """Why a command cannot act on the agent's call or presence as it is now."""

    NOT_RINGING = "not_ringing"
    NOT_CONNECTED = "not_connected"
    NOT_IN_WRAP_UP = "not_in_wrap_up"
    WRAP_UP_CANNOT_BE_SKIPPED = "wrap_up_cannot_be_skipped"
    WRAP_UP_CODE_REQUIRED = "wrap_up_code_required"
    UNKNOWN_WRAP_UP_CODE = "unknown_wrap_up_code"
    UNKNOWN_PRESENCE = "unknown_presence"


class GenesysCommandNotAllowedError(GenesysError):
    """The call (or presence) is not in a state that allows the command; ``reason`` says why.

    Raised before anything is sent when the known state forbids the command, and for Genesys'
    own refusals of the same kind (e.g. ``conversation.error.hold.alerting``).
    """

    def __init__(
        self,
        reason: CommandRefusal,
        message: str | None = None,
        *,
        code: str | None = None,
        status: int | None = None,
        correlation_id: str | None = None,
    ) -> None:
        """Keep the reason, for a message the user can read."""
        super().__init__(
            message or reason.value, code=code, status=status, correlation_id=correlation_id
        )
        self.reason = reason


class GenesysMediaError(GenesysError):
    """The softphone's media (its peer connection or an audio device) failed."""


class GenesysAudioDeviceError(GenesysMediaError):
    """An audio device or file named by the user cannot be opened; ``device`` names it."""

    def __init__(self, message: str, *, device: str) -> None:
        """Keep the device's name, so the user is told which one."""
        super().__init__(message)
        self.device = device
