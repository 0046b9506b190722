"""An async Genesys Cloud client for one agent: REST, notifications, and their call control.

Self-contained (aiohttp, orjson and the standard library only, all three also Home Assistant's
own), so it can be published on its own.
"""

from .auth import AbstractAuth
from .client import GenesysClient
from .environments import REGIONS, Environment, custom_environment
from .exceptions import (
    CommandRefusal,
    GenesysAuthError,
    GenesysCallNotConnectedError,
    GenesysCommandNotAllowedError,
    GenesysCommandNotConfirmedError,
    GenesysConnectionError,
    GenesysError,
    GenesysForbiddenError,
    GenesysMuteNotConfirmedError,
    GenesysNoActiveCallError,
    GenesysNotFoundError,
    GenesysRateLimitError,
    GenesysResponseError,
    GenesysServerError,
    GenesysSubscriptionError,
)
from .models import (
    Agent,
    CallConversation,
    CallDirection,
    CallState,
    Channel,
    ChannelTopic,
    MuteSource,
    Participant,
    PresenceDefinition,
    PresenceState,
    RoutingState,
    Station,
    WrapupCode,
)
from .session import CALLS_TOPIC, PRESENCE_TOPIC, ROUTING_STATUS_TOPIC, AgentSession
from .state import AgentState, CallEvent, CallEventType, derive_agent_state, diff_call_events
from .tracker import SessionSnapshot

__all__ = [
    "CALLS_TOPIC",
    "PRESENCE_TOPIC",
    "REGIONS",
    "ROUTING_STATUS_TOPIC",
    "AbstractAuth",
    "Agent",
    "AgentSession",
    "AgentState",
    "CallConversation",
    "CallDirection",
    "CallEvent",
    "CallEventType",
    "CallState",
    "Channel",
    "ChannelTopic",
    "CommandRefusal",
    "Environment",
    "GenesysAuthError",
    "GenesysCallNotConnectedError",
    "GenesysClient",
    "GenesysCommandNotAllowedError",
    "GenesysCommandNotConfirmedError",
    "GenesysConnectionError",
    "GenesysError",
    "GenesysForbiddenError",
    "GenesysMuteNotConfirmedError",
    "GenesysNoActiveCallError",
    "GenesysNotFoundError",
    "GenesysRateLimitError",
    "GenesysResponseError",
    "GenesysServerError",
    "GenesysSubscriptionError",
    "MuteSource",
    "Participant",
    "PresenceDefinition",
    "PresenceState",
    "RoutingState",
    "SessionSnapshot",
    "Station",
    "WrapupCode",
    "custom_environment",
    "derive_agent_state",
    "diff_call_events",
]
