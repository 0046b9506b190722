"""An async Genesys Cloud client for one agent: REST, notifications, and their mute.

Self-contained (aiohttp and the standard library only), so it can be published on its own.
"""

from .auth import AbstractAuth
from .client import GenesysClient
from .environments import REGIONS, Environment, custom_environment
from .exceptions import (
    GenesysAuthError,
    GenesysCallNotConnectedError,
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
)
from .models import (
    Agent,
    CallConversation,
    CallDirection,
    CallState,
    Channel,
    MuteSource,
    Participant,
    PresenceState,
    RoutingState,
    Station,
)
from .session import AgentSession
from .state import AgentState, CallEvent, CallEventType, derive_agent_state, diff_call_events
from .tracker import SessionSnapshot

__all__ = [
    "REGIONS",
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
    "Environment",
    "GenesysAuthError",
    "GenesysCallNotConnectedError",
    "GenesysClient",
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
    "MuteSource",
    "Participant",
    "PresenceState",
    "RoutingState",
    "SessionSnapshot",
    "Station",
    "custom_environment",
    "derive_agent_state",
    "diff_call_events",
]
