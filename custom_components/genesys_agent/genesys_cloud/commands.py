"""Commands: one serialize-send-confirm-read-back path that every change of the agent's call takes.

The commands themselves (mute, answer, hold...) are in ``call_commands.py``.

A command says only what it sends and which state confirms it (``PreparedCommand``). The runner
does the rest, once for all of them: commands run one at a time; a later command of the same kind
supersedes one still waiting for its turn (the last press wins); a 429 with a short wait is
retried once; Genesys answers 202, so the command waits for the event that shows the change and,
if none comes in time, reads the truth back through REST before it reports anything.
"""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
import logging

from .client import GenesysClient
from .exceptions import (
    GenesysCommandNotConfirmedError,
    GenesysError,
    GenesysRateLimitError,
)
from .tracker import SessionSnapshot, SnapshotPredicate, StateTracker

_LOGGER = logging.getLogger(__package__)

# A 429 is retried once if Genesys asks for at most this long a wait.
MAX_RATE_LIMIT_WAIT = 5.0


def _never(snapshot: SessionSnapshot) -> bool:
    return False


@dataclass(frozen=True, slots=True, kw_only=True)
class PreparedCommand:
    """One command bound to the state it was accepted in."""

    send: Callable[[], Awaitable[None]]
    # The state that shows the command took. It may look at a leg that is no longer the
    # followed one (a hung-up call is followed by the next): see ``SessionSnapshot.leg``.
    confirmed: SnapshotPredicate
    # Re-reads the truth through REST (into the tracker) when no event confirmed the command.
    read_back: Callable[[], Awaitable[None]]
    # What to raise when neither an event nor the read-back showed the change.
    not_confirmed: Callable[[float], GenesysCommandNotConfirmedError]
    # The command's target is gone (e.g. the call ended): waiting is pointless. Never, for a
    # command whose target cannot go (presence) or whose going is the confirmation (hang-up).
    lost: SnapshotPredicate = _never
    lost_error: Callable[[], GenesysError] = lambda: GenesysError("The command's target is gone")
    # The mute change this command makes, (participant id, muted), so it is attributed to us.
    expected_mute: tuple[str, bool] | None = None


# Prepares a command from the state when its turn comes: None when there is nothing to do;
# raises a typed error when the state forbids the command (nothing is sent then).
type CommandFactory = Callable[[SessionSnapshot], PreparedCommand | None]


class CommandRunner:
    """Runs commands against one agent's tracked state, one at a time."""

    def __init__(
        self, client: GenesysClient, tracker: StateTracker, *, confirm_timeout: float = 5.0
    ) -> None:
        """Commands are sent with ``client`` and confirmed from ``tracker``."""
        self._client = client
        self._tracker = tracker
        self.confirm_timeout = confirm_timeout
        self._lock = asyncio.Lock()
        self._generations: dict[str, int] = {}

    async def run(self, kind: str, factory: CommandFactory) -> None:
        """Run a command of ``kind`` once the ones before it are done.

        A command superseded by a later one of the same kind while it waited returns without
        sending anything; one superseded while it was being confirmed keeps its errors quiet.
        """
        generation = self._generations.get(kind, 0) + 1
        self._generations[kind] = generation
        async with self._lock:
            if generation != self._generations[kind]:
                return
            command = factory(self._tracker.snapshot)
            if command is None:
                return
            self._tracker.expected_mute = command.expected_mute
            try:
                with self._tracker.watch(command.confirmed) as seen:
                    await self._send(command)
                    await self._confirm(command, seen)
            except GenesysCommandNotConfirmedError:
                if generation == self._generations[kind]:
                    raise
                _LOGGER.debug("A superseded %s command was not confirmed; the last decides", kind)
            finally:
                self._tracker.expected_mute = None

    async def _send(self, command: PreparedCommand) -> None:
        try:
            await command.send()
        except GenesysRateLimitError as err:
            if err.retry_after > MAX_RATE_LIMIT_WAIT:
                raise
            await asyncio.sleep(err.retry_after)
            await command.send()

    async def _confirm(self, command: PreparedCommand, seen: asyncio.Event) -> None:
        """The next event tells whether the command took, else a REST read."""
        try:
            async with asyncio.timeout(self.confirm_timeout):
                while not seen.is_set():
                    if command.lost(self._tracker.snapshot):
                        raise command.lost_error()
                    await self._tracker.changed()
        except TimeoutError:
            _LOGGER.debug("No event confirmed the command; reading it back instead")
        else:
            return
        # The event may be lost (socket down, Genesys hiccup): ask, so the state is true again.
        async with self._tracker.rest_read():
            await command.read_back()
        if not seen.is_set():
            if command.lost(self._tracker.snapshot):
                raise command.lost_error()
            raise command.not_confirmed(self.confirm_timeout)
