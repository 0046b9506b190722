"""Floods of conversation events, as Genesys sends them, for the flood tests and the benchmark."""

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
import json
import time

from genesys_emulator.state import Conversation, Participant, utcnow
from genesys_emulator.wire import call_conversation


def ended_call_frames(user_id: str, count: int) -> list[str]:
    """``count`` calls of the agent, each ended and awaiting wrap-up (each is kept by Genesys)."""
    frames = []
    for _ in range(count):
        now = utcnow()
        agent = Participant(
            purpose="agent", name="Jane Agent", address="sip:jane@localhost", direction="inbound",
            state="disconnected", user_id=user_id, user_name="Jane Agent", queue_id="q1",
            queue_name="Support", wrapup_required=True, connected_time=now, end_time=now,
        )  # fmt: skip
        customer = Participant(
            purpose="customer", name="Customer", address="tel:+13175550100", direction="inbound",
            state="disconnected", connected_time=now, end_time=now, ani="tel:+13175550100",
        )  # fmt: skip
        body = call_conversation(Conversation(participants=[customer, agent]), rest=False)
        frames.append(
            json.dumps(
                {
                    "topicName": f"v2.users.{user_id}.conversations.calls",
                    "version": "2",
                    "eventBody": body,
                    "metadata": {"CorrelationId": "c0ffee00-0000-4000-8000-000000000000"},
                }
            )
        )
    return frames


class StallMonitor:
    """The longest the event loop stayed busy before running a 1 ms timer again.

    Measured in the thread's CPU time, so that a machine shared with other work (which takes
    the CPU away from the whole process) does not count as a stall of the event loop.
    """

    def __init__(self) -> None:
        self.longest = 0.0

    async def _watch(self) -> None:
        while True:
            before = time.thread_time()
            await asyncio.sleep(0.001)
            self.longest = max(self.longest, time.thread_time() - before)

    @contextmanager
    def watching(self) -> Iterator[None]:
        task = asyncio.get_running_loop().create_task(self._watch())
        try:
            yield
        finally:
            task.cancel()


def per_event_costs(handle: object, frames: list[str], slices: int = 5) -> list[float]:
    """Seconds per event over each of ``slices`` equal parts of the flood, in order."""
    assert callable(handle)
    size = len(frames) // slices
    costs = []
    for part in range(slices):
        started = time.perf_counter()
        for text in frames[part * size : (part + 1) * size]:
            handle(text)
        costs.append((time.perf_counter() - started) / size)
    return costs
