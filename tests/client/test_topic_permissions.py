"""Topics Genesys refuses: named in the snapshot; the others keep working; a 400 is final."""

import asyncio
from dataclasses import replace

import pytest

from custom_components.genesys_agent.genesys_cloud import (
    AgentSession,
    ChannelTopic,
    GenesysClient,
    GenesysSubscriptionError,
    SessionSnapshot,
)
from genesys_emulator import Emulator

from .helpers import until
from .test_reconnects import still_pushed

MISSING = ("conversation:call:view",)


async def test_a_rejected_calls_topic_is_named_and_presence_still_flows(
    client: GenesysClient, emulator: Emulator
) -> None:
    await emulator.control.withhold_topic("conversations.calls", list(MISSING))
    session = AgentSession(client, listener=lambda snapshot: None)
    await session.async_start()
    try:
        assert session.snapshot.rejected_topics == (
            ChannelTopic("conversations.calls", True, "Permission denied", MISSING),
        )
        assert not session.snapshot.permits("conversations.calls")
        assert session.snapshot.permits("presence")
        await still_pushed(session, emulator, "Busy")
    finally:
        await session.async_stop()


async def test_a_subscription_refused_as_a_whole_fails_the_start(
    client: GenesysClient, emulator: Emulator
) -> None:
    emulator.hub._config = replace(emulator.hub._config, max_topics_per_channel=2)
    session = AgentSession(client, listener=lambda snapshot: None)
    with pytest.raises(GenesysSubscriptionError) as error:
        await session.async_start()
    assert error.value.code == "notification.subscription.too.many.subscriptions"


async def test_a_subscription_refused_later_stops_the_session_and_says_why(
    session: AgentSession, emulator: Emulator, snapshots: list[SessionSnapshot]
) -> None:
    """Refused on a new channel: retrying the same request is futile; every topic is named."""
    emulator.hub._config = replace(emulator.hub._config, max_topics_per_channel=2)
    await emulator.control.expire_channels()
    await until(lambda: session.snapshot.rejected_topics)
    assert not session.snapshot.connected
    assert {topic.id for topic in session.snapshot.rejected_topics} == {
        "conversations.calls",
        "presence",
        "routingStatus",
    }
    requests = len(emulator.audit)
    await asyncio.sleep(20 * session.pacer.backoff_initial)
    assert len(emulator.audit) == requests  # no retry
