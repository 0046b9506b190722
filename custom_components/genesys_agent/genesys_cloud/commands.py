"""Commands: one serialize-send-confirm-read-back path that every change of the agent's call takes.

The commands themselves (mute, answer, hold...) are in ``call_commands.py``.

A command says only what it sends and which state confirms it (``PreparedCommand``). The runner
does the rest, once for all of them: commands run one at a time; a later command of the same kind
supersedes one still waiting for its turn (the last press wins); a 429 with a short wait is
retried once. Nothing is reported before Genesys shows the truth:

* Genesys answers 202 and confirms by event; the event may come before the answer (the request
  is then done, whatever its answer says).
* No event within ``confirm_timeout`` (about a second): the call is read back through REST at
  once, while the request may still be in flight, and the command shows as pending (the
  snapshot's ``pending_commands``) until it settles. If Genesys answers 202 only after that
  read, the command gets another ``confirm_timeout`` and a last read-back.
* An answer that leaves open whether Genesys applied the command (a 5xx, no answer, an
  unreadable one) is checked by a read-back too: a mute that took is not reported as refused.
"""

import asyncio
from collections.abc import Awaitable, Callable
import contextlib
from dataclasses import dataclass
import logging
import math

from .client import GenesysClient
from .exceptions import (
    GenesysAuthError,
    GenesysCommandNotConfirmedError,
    GenesysConnectionError,
    GenesysError,
    GenesysRateLimitError,
    GenesysResponseError,
    GenesysServerError,
)
from .tracker import SessionSnapshot, SnapshotPredicate, StateTracker

_LOGGER = logging.getLogger(__package__)

# The kind of the mute command (a command's kind names it in ``pending_commands``).
MUTE = "mute"
# A 429 is retried once if Genesys asks for at most this long a wait.
MAX_RATE_LIMIT_WAIT = 5.0
# Answers after which Genesys may or may not have applied the command.
_MAYBE_APPLIED = (GenesysServerError, GenesysConnectionError, GenesysResponseError)


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
        self, client: GenesysClient, tracker: StateTracker, *, confirm_timeout: float = 1.0
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
                await self._execute(kind, command)
            except GenesysCommandNotConfirmedError:
                if generation == self._generations[kind]:
                    raise
                _LOGGER.debug("A superseded %s command was not confirmed; the last decides", kind)
            finally:
                self._tracker.expected_mute = None

    async def _execute(self, kind: str, command: PreparedCommand) -> None:
        """Send the command and settle on what Genesys shows; then nothing of it is pending."""
        with self._tracker.watch(command.confirmed) as seen:
            sending = asyncio.create_task(self._send(command))
            try:
                await self._settle(kind, command, seen, sending)
            finally:
                sending.cancel()  # confirmed before Genesys answered: the answer is moot
                with contextlib.suppress(asyncio.CancelledError, GenesysError):
                    await sending
                pending = self._tracker.snapshot.pending_commands
                if kind in pending:
                    self._tracker.publish(pending_commands=pending - {kind})

    async def _send(self, command: PreparedCommand) -> None:
        try:
            await command.send()
        except GenesysRateLimitError as err:
            if err.retry_after > MAX_RATE_LIMIT_WAIT:
                raise
            await asyncio.sleep(err.retry_after)
            await command.send()

    async def _settle(
        self,
        kind: str,
        command: PreparedCommand,
        seen: asyncio.Event,
        sending: asyncio.Task[None],
    ) -> None:
        """Return once Genesys shows the command took; else raise what the user is to be told."""
        loop = asyncio.get_running_loop()
        read_back_at = loop.time() + self.confirm_timeout
        read_back = answered = False
        while not seen.is_set():
            if command.lost(self._tracker.snapshot):
                raise command.lost_error()
            if sending.done() and not answered:
                if (error := sending.exception()) is not None:
                    if isinstance(error, _MAYBE_APPLIED) and await self._read_back(command, seen):
                        return
                    raise error
                answered = True
                if read_back:  # accepted only after the read: its event gets a fair chance
                    read_back_at = loop.time() + self.confirm_timeout
            if loop.time() < read_back_at:
                await self._next_change(sending, read_back_at)
                continue
            if not read_back:
                read_back = True
                _LOGGER.debug("No event confirmed the %s command in time; reading it back", kind)
                pending = self._tracker.snapshot.pending_commands
                self._tracker.publish(pending_commands=pending | {kind})
            await self._read_back(command, seen)
            if seen.is_set() or command.lost(self._tracker.snapshot):
                continue
            if answered:
                raise command.not_confirmed(self.confirm_timeout)
            read_back_at = math.inf  # still unanswered: the answer decides (it has a timeout)

    async def _next_change(self, sending: asyncio.Task[None], deadline: float) -> None:
        """Wait until the state changes, Genesys answers, or the loop's time is ``deadline``."""
        changed = asyncio.ensure_future(self._tracker.changed())
        waiting: set[asyncio.Future[None]] = {changed}
        if not sending.done():
            waiting.add(sending)
        remaining = deadline - asyncio.get_running_loop().time()
        try:
            await asyncio.wait(
                waiting,
                timeout=None if math.isinf(remaining) else remaining,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            changed.cancel()

    async def _read_back(self, command: PreparedCommand, seen: asyncio.Event) -> bool:
        """Read the truth into the tracker; whether it shows the command took."""
        try:
            async with self._tracker.rest_read():
                await command.read_back()
        except GenesysAuthError:
            raise
        except GenesysError as err:
            _LOGGER.debug("The read-back failed: %s", type(err).__name__)
        return seen.is_set()
