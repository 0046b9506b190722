"""Random presses interleaved with remote mutes: the last intent wins, nothing runs twice.

Hypothesis drives a real session against the emulator, on a private event loop.
"""

import asyncio
from contextlib import AsyncExitStack
import time
from typing import Any

from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from custom_components.genesys_agent.genesys_cloud import (
    AgentSession,
    CallState,
)

from .helpers import emulator_and_client


class MuteMachine(RuleBasedStateMachine):
    """Presses and remote mutes in any order, settled now and then."""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.pending: list[asyncio.Task[None]] = []
        self.last_press: bool | None = None
        self.last_remote: bool | None = None
        self.in_flight = 0
        self.most_in_flight = 0
        self.run(self._start())

    def run(self, coroutine: Any) -> Any:
        return self.loop.run_until_complete(coroutine)

    async def _start(self) -> None:
        self.stack = AsyncExitStack()
        self.emulator, client = await emulator_and_client(self.stack)
        patch = client.async_set_mute

        async def counted_patch(*args: Any) -> None:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            try:
                await patch(*args)
            finally:
                self.in_flight -= 1

        client.async_set_mute = counted_patch  # type: ignore[method-assign]
        self.session = AgentSession(client, listener=lambda snapshot: None)
        await self.session.async_start()
        self.stack.push_async_callback(self.session.async_stop)
        self.conversation_id = await self.emulator.control.start_inbound_call()
        await self.emulator.control.answer(self.conversation_id)
        await self._until(
            lambda: self.session.snapshot.agent_state.call_state is CallState.CONNECTED
        )

    async def _finish_presses(self) -> None:
        await asyncio.gather(*self.pending)
        self.pending.clear()

    async def _until(self, condition: Any, within: float = 5.0) -> None:
        deadline = time.monotonic() + within
        while not condition():
            assert time.monotonic() < deadline, "not settled in time"
            await asyncio.sleep(0.005)

    def server_muted(self) -> bool:
        conversation = next(
            c
            for c in self.emulator.control.state()["conversations"]
            if c["id"] == self.conversation_id
        )
        return bool(
            next(p for p in conversation["participants"] if p["purpose"] == "agent")["muted"]
        )

    @rule(muted=st.booleans())
    def press(self, muted: bool) -> None:
        self.pending.append(self.loop.create_task(self.session.async_set_mute(muted)))
        self.last_press, self.last_remote = muted, None
        self.run(asyncio.sleep(0))

    @rule(muted=st.booleans())
    def remote_mute(self, muted: bool) -> None:
        self.run(self.emulator.control.set_mute(self.conversation_id, muted, by="supervisor"))
        self.last_remote = muted

    @rule()
    def settle(self) -> None:
        """Once every press is done, Home Assistant's view equals Genesys' and the last intent."""
        self.run(self._finish_presses())
        self.run(
            self._until(lambda: self.session.snapshot.agent_state.muted == self.server_muted())
        )
        if self.last_remote is not None:
            assert self.server_muted() in (self.last_remote, self.last_press)
        elif self.last_press is not None:
            assert self.server_muted() is self.last_press

    @invariant()
    def one_patch_at_a_time(self) -> None:
        assert self.most_in_flight <= 1

    def teardown(self) -> None:
        self.settle()
        self.run(self.stack.aclose())
        self.loop.close()


def test_presses_and_remote_mutes_in_any_order(socket_enabled: None) -> None:
    run_state_machine_as_test(
        MuteMachine,
        settings=settings(
            max_examples=40,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
