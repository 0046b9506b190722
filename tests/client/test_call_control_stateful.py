"""Random call-control commands among desktop and caller actions, against the emulator.

Whatever the order, a command either does what it says (Genesys holds the new state) or is
refused with its reason and sends nothing; the session's view always catches up with Genesys'.
"""

import asyncio
from contextlib import AsyncExitStack
import time
from typing import Any

from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, rule, run_state_machine_as_test

from custom_components.genesys_agent.genesys_cloud import (
    AgentSession,
    CallState,
    GenesysCommandNotAllowedError,
)

from ..audit import call_control_requests, user_leg
from .helpers import emulator_and_client

# What each command needs the call to be in, and what Genesys shows after it.
ALLOWED = {
    "answer": {CallState.RINGING},
    "decline": {CallState.RINGING},
    "hang_up": {CallState.CONNECTED, CallState.ON_HOLD},
    "hold": {CallState.CONNECTED, CallState.ON_HOLD},
    "resume": {CallState.CONNECTED, CallState.ON_HOLD},
    "skip_wrapup": {CallState.WRAP_UP},
}


class CallControlMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.conversation_id: str | None = None
        self.run(self._start())

    def run(self, coroutine: Any) -> Any:
        return self.loop.run_until_complete(coroutine)

    async def _start(self) -> None:
        self.stack = AsyncExitStack()
        self.emulator, client = await emulator_and_client(self.stack)
        self.session = AgentSession(client, listener=lambda snapshot: None)
        await self.session.async_start()
        self.stack.push_async_callback(self.session.async_stop)

    def genesys_state(self) -> CallState:
        """The agent's call state as the emulator holds it."""
        if self.conversation_id is None:
            return CallState.IDLE
        leg = user_leg(self.emulator, self.conversation_id)
        match leg["state"]:
            case "alerting":
                return CallState.RINGING
            case "connected":
                return CallState.ON_HOLD if leg["held"] else CallState.CONNECTED
            case "disconnected" if leg["wrapupRequired"] and not (
                leg.get("wrapup") or leg.get("wrapupSkipped")
            ):
                return CallState.WRAP_UP
        return CallState.IDLE

    def settle(self) -> None:
        """Wait for the session to see what Genesys holds."""
        deadline = time.monotonic() + 5
        while self.session.snapshot.agent_state.call_state is not self.genesys_state():
            assert time.monotonic() < deadline, "the session never caught up"
            self.run(asyncio.sleep(0.005))

    @rule()
    def a_call_rings(self) -> None:
        if self.genesys_state() is CallState.IDLE:
            self.conversation_id = self.run(self.emulator.control.start_inbound_call())
            self.settle()

    @rule(action=st.sampled_from(["answer", "customer_hangup"]))
    def elsewhere(self, action: str) -> None:
        """The desktop answers, or the caller hangs up."""
        state = self.genesys_state()
        if self.conversation_id is None:
            return
        if action == "answer" and state is CallState.RINGING:
            self.run(self.emulator.control.answer(self.conversation_id))
        elif action == "customer_hangup" and state in (CallState.CONNECTED, CallState.ON_HOLD):
            self.run(self.emulator.control.customer_hangup(self.conversation_id))
        self.settle()

    @rule(command=st.sampled_from(sorted(ALLOWED)))
    def command(self, command: str) -> None:
        session = self.session
        before = self.genesys_state()
        sent_before = len(call_control_requests(self.emulator))
        run = {
            "answer": session.async_answer,
            "decline": session.async_decline,
            "hang_up": session.async_hang_up,
            "hold": lambda: session.async_set_held(True),
            "resume": lambda: session.async_set_held(False),
            "skip_wrapup": session.async_skip_wrapup,
        }[command]
        try:
            self.run(run())
        except GenesysCommandNotAllowedError:
            assert before not in ALLOWED[command]
            assert len(call_control_requests(self.emulator)) == sent_before
            return
        assert before in ALLOWED[command]
        after = self.genesys_state()
        expected = {
            "answer": {CallState.CONNECTED},
            "decline": {CallState.IDLE},
            "hang_up": {CallState.WRAP_UP},
            "hold": {CallState.ON_HOLD},
            "resume": {CallState.CONNECTED},
            "skip_wrapup": {CallState.IDLE},
        }[command]
        assert after in expected, (command, before, after)
        assert self.session.snapshot.agent_state.call_state is after

    def teardown(self) -> None:
        self.run(self.stack.aclose())
        self.loop.close()


def test_commands_in_any_order_act_or_are_refused_with_nothing_sent(
    socket_enabled: None,
) -> None:
    run_state_machine_as_test(
        CallControlMachine,
        settings=settings(
            max_examples=15,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
