"""Presence and routing status: what a user's change does and which events it pushes.

A presence change publishes the ``v2.users.{id}.presence`` event. Going On Queue puts the user
on queue (routing status ``IDLE``), leaving it takes them off (``OFF_QUEUE``), each with its
``v2.users.{id}.routingStatus`` event after the presence event, as Genesys' routing follows the
presence.
"""

from .notifications import NotificationHub
from .state import ON_QUEUE, PresenceDefinition, User, utcnow
from .wire import presence_event, routing_status_event

ROUTING_STATUSES = frozenset(
    {"OFF_QUEUE", "IDLE", "INTERACTING", "NOT_RESPONDING", "COMMUNICATING"}
)


class Presences:
    """Changes users' presences and routing statuses, and publishes them."""

    def __init__(self, hub: NotificationHub) -> None:
        """Events go to ``hub``."""
        self._hub = hub

    async def set_presence(
        self, user: User, definition: PresenceDefinition, message: str | None = None
    ) -> None:
        """The user's presence becomes ``definition`` (and its message, when given)."""
        was_on_queue = user.presence.system_presence == ON_QUEUE
        user.presence, user.presence_modified = definition, utcnow()
        if message is not None:
            user.presence_message = message
        await self._hub.publish_to_user(user.id, "presence", presence_event(user))
        on_queue = definition.system_presence == ON_QUEUE
        if on_queue != was_on_queue:
            await self.set_routing_status(user, "IDLE" if on_queue else "OFF_QUEUE")

    async def set_routing_status(self, user: User, status: str) -> None:
        """The user's ACD routing status becomes ``status`` (one of `ROUTING_STATUSES`)."""
        if status not in ROUTING_STATUSES:
            raise ValueError(f"unknown routing status {status}")
        user.routing_status, user.routing_status_since = status, utcnow()
        await self._hub.publish_to_user(user.id, "routingStatus", routing_status_event(user))
