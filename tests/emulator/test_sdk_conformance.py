"""The official Python SDK against the emulator: its token methods, its API calls, its models.

The SDK is synchronous (urllib3), so its calls run in a worker thread while the emulator serves
on the test's event loop. It reaches the emulator through its gateway configuration.
"""

import asyncio
from contextlib import suppress
import json
from typing import Any

from aiohttp import ClientSession
from PureCloudPlatformClientV2 import (
    ApiClient,
    ConversationsApi,
    CreateCallRequest,
    MediaParticipantRequest,
    NotificationsApi,
    PresenceApi,
    RoutingApi,
    StationsApi,
    TokensApi,
    TransferRequest,
    UsersApi,
    models,
)
from PureCloudPlatformClientV2.rest import ApiException
import pytest
from yarl import URL

from genesys_emulator import Emulator
from genesys_emulator.testing import DEFAULT_REDIRECT_URI

from .helpers import Notifications, api, participant, participant_path
from .sdk_models import assert_conforms

EVENT_MODELS = {
    ".conversations.calls": "ConversationCallEventTopicCallConversation",
    ".conversations": "ConversationEventTopicConversation",
    ".presence": "PresenceEventUserPresence",
    ".routingStatus": "UserRoutingStatusUserRoutingStatus",
    "v2.system.socket_closing": "SystemMessageSystemMessage",
}


def _sdk(emu: Emulator) -> ApiClient:
    url = URL(emu.base_url)
    client = ApiClient()
    client.set_gateway(url.host, "http", url.port, "login", "")
    return client


async def _code(session: ClientSession, emu: Emulator, challenge: str | None) -> str:
    query = {
        "response_type": "code",
        "client_id": emu.demo_client.id,
        "redirect_uri": DEFAULT_REDIRECT_URI,
    }
    if challenge is not None:
        query |= {"code_challenge": challenge, "code_challenge_method": "S256"}
    authorize = URL(emu.base_url + "/login/oauth/authorize").with_query(query)
    async with session.get(authorize, allow_redirects=False) as response:
        return URL(response.headers["Location"]).query["code"]


async def _pkce_client(session: ClientSession, emu: Emulator) -> ApiClient:
    client = _sdk(emu)
    verifier = client.generate_pkce_code_verifier(64)
    code = await _code(session, emu, client.compute_pkce_code_challenge(verifier))
    await asyncio.to_thread(
        client.get_pkce_token, emu.demo_client.id, verifier, code, DEFAULT_REDIRECT_URI
    )
    return client


async def test_sdk_client_credentials_and_not_a_user(emulator: Emulator) -> None:
    client = _sdk(emulator)
    await asyncio.to_thread(
        client.get_client_credentials_token, emulator.demo_client.id, emulator.demo_client.secret
    )
    info = await asyncio.to_thread(TokensApi(client).get_tokens_me)
    assert info.o_auth_client.id == emulator.demo_client.id
    with pytest.raises(ApiException) as refused:
        await asyncio.to_thread(UsersApi(client).get_users_me)
    assert refused.value.status == 400
    body = json.loads(refused.value.body)
    assert body["code"] == "not.a.user"
    assert_conforms(body, "ErrorBody")


async def test_sdk_pkce_login_and_user_endpoints(
    session: ClientSession, emulator: Emulator
) -> None:
    client = await _pkce_client(session, emulator)
    me = await asyncio.to_thread(
        UsersApi(client).get_users_me, expand=["station", "presence", "routingStatus"]
    )
    agent = emulator.demo_agent
    assert (me.id, me.email, me.state) == (agent.id, agent.email, "active")
    assert me.station.effective_station.id == agent.station_id
    assert me.presence.presence_definition.system_presence == "Available"
    assert me.routing_status.status == "OFF_QUEUE"
    station = await asyncio.to_thread(StationsApi(client).get_station, agent.station_id)
    assert (station.type, station.status, station.web_rtc_user_id) == (
        "inin_webrtc_softphone",
        "ASSOCIATED",
        agent.id,
    )
    presence = await asyncio.to_thread(PresenceApi(client).get_user_presences_purecloud, agent.id)
    assert presence.source == "PURECLOUD"
    routing = await asyncio.to_thread(UsersApi(client).get_user_routingstatus, agent.id)
    assert routing.user_id == agent.id


async def test_sdk_code_grant_and_refresh(session: ClientSession, emulator: Emulator) -> None:
    client = _sdk(emulator)
    code = await _code(session, emulator, None)
    _, first = await asyncio.to_thread(
        client.get_code_authorization_token,
        emulator.demo_client.id,
        emulator.demo_client.secret,
        code,
        DEFAULT_REDIRECT_URI,
    )
    await emulator.control.expire_access_tokens()
    _, renewed = await asyncio.to_thread(
        client.refresh_code_authorization_token,
        emulator.demo_client.id,
        emulator.demo_client.secret,
        first["refresh_token"],
    )
    assert renewed["access_token"] != first["access_token"]
    me = await asyncio.to_thread(UsersApi(client).get_users_me)
    assert me.id == emulator.demo_agent.id


async def test_sdk_reads_and_mutes_a_call(session: ClientSession, emulator: Emulator) -> None:
    client = await _pkce_client(session, emulator)
    conversations = ConversationsApi(client)
    conversation_id = await emulator.control.start_inbound_call()
    await emulator.control.answer(conversation_id)
    listing = await asyncio.to_thread(conversations.get_conversations_calls)
    assert [c.id for c in listing.entities] == [conversation_id]
    call = await asyncio.to_thread(conversations.get_conversations_call, conversation_id)
    agent = next(p for p in call.participants if p.purpose == "agent")
    assert (agent.state, agent.muted, agent.user.id) == ("connected", False, emulator.demo_agent.id)

    mute = MediaParticipantRequest()
    mute.muted = True
    answer = await asyncio.to_thread(
        conversations.patch_conversations_call_participant, conversation_id, agent.id, mute
    )
    assert answer is None
    call = await asyncio.to_thread(conversations.get_conversations_call, conversation_id)
    assert next(p for p in call.participants if p.purpose == "agent").muted is True

    dial = CreateCallRequest()
    dial.phone_number = "+15550001"
    created = await asyncio.to_thread(conversations.post_conversations_calls, dial)
    assert created.id in emulator.calls.conversations

    notifications = NotificationsApi(client)
    channel = await asyncio.to_thread(notifications.post_notifications_channels)
    assert channel.connect_uri.endswith(channel.id)
    topic = models.ChannelTopic()
    topic.id = f"v2.users.{emulator.demo_agent.id}.conversations.calls"
    topics = await asyncio.to_thread(
        notifications.put_notifications_channel_subscriptions, channel.id, [topic]
    )
    assert [t.id for t in topics.entities] == [topic.id]


async def _collect_events(events: Notifications, count: int) -> list[dict[str, Any]]:
    return [await events.frame() for _ in range(count)]


async def test_every_payload_matches_the_sdk_models(
    session: ClientSession,
    emulator: Emulator,
    agent_token: dict[str, Any],
    agent_events: Notifications,
) -> None:
    control, agent_id = emulator.control, emulator.demo_agent.id
    payloads: list[tuple[Any, str]] = []

    async def read(path: str, model: str, token: dict[str, Any] | str = agent_token) -> Any:
        response, body = await api(session, emulator, "GET", path, token)
        payloads.append((body, model if response.status < 400 else "ErrorBody"))
        return body

    await read("/users/me?expand=station,presence,routingStatus", "UserMe")
    await read("/users/me", "UserMe")
    await read(f"/stations/{emulator.demo_agent.station_id}", "Station")
    await read(f"/users/{agent_id}/presences/purecloud", "UserPresence")
    await read(f"/users/{agent_id}/routingstatus", "RoutingStatus")
    await read("/tokens/me", "TokenInfo")
    await read("/notifications/channels", "ChannelEntityListing")
    channel_id = agent_events.channel["id"]
    await read(f"/notifications/channels/{channel_id}/subscriptions", "ChannelTopicEntityListing")
    payloads.append((agent_events.channel, "Channel"))
    await read("/stations/nope", "ErrorBody")
    await read("/users/me", "ErrorBody", "expired")

    # One call through every state; a snapshot after each step, REST and events alike.
    conversation_id = await control.start_inbound_call()
    steps = [
        control.answer(conversation_id),
        control.set_mute(conversation_id, True, by="supervisor"),
        control.set_hold(conversation_id, True),
        control.start_consult(conversation_id),
        control.transfer_away(conversation_id),
        control.complete_wrapup(conversation_id),
    ]
    snapshots = 2  # the ringing call's two topics
    for step in steps:
        await read(f"/conversations/calls/{conversation_id}", "CallConversation")
        await step
        snapshots += 2
    snapshots += 2  # wrap-up done: disconnected, then terminated
    outbound = await control.start_outbound_call()
    await control.answer(outbound)
    await read("/conversations/calls", "CallConversationEntityListing")
    await control.customer_hangup(outbound)
    await read(f"/conversations/calls/{outbound}", "CallConversation")
    snapshots += 2 * 4  # dialing, connected, disconnected, terminated
    await control.set_presence(agent_id, "Busy")
    await control.set_routing_status(agent_id, "IDLE")
    await control.send_socket_closing()
    frames = await _collect_events(agent_events, snapshots + 3)
    frames = [f for f in frames if f["topicName"] != "channel.metadata"]

    seen: set[str] = set()
    for frame in frames:
        assert set(frame) == {"topicName", "version", "eventBody", "metadata"}
        assert frame["version"] == "2"
        suffix = next(s for s in EVENT_MODELS if frame["topicName"].endswith(s))
        seen.add(suffix)
        payloads.append((frame["eventBody"], EVENT_MODELS[suffix]))
    assert seen == set(EVENT_MODELS)
    for payload, model in payloads:
        assert_conforms(payload, model)

    states = {
        participant(body, "agent")["state"]
        for body, model in payloads
        if model == "ConversationCallEventTopicCallConversation"
    }
    assert states == {"alerting", "dialing", "connected", "disconnected", "terminated"}


async def test_bad_payloads_are_caught() -> None:
    """The checker itself: unknown fields, nulls, wrong types and unknown enums fail."""
    for payload in (
        {"id": "x", "bogus": 1},
        {"id": None},
        {"id": "x", "participants": [{"muted": "yes"}]},
        {"id": "x", "participants": [{"startTime": "yesterday"}]},
        {"id": "x", "participants": [{"state": "ringing"}]},
        {"id": "x", "maxParticipants": True},
    ):
        with pytest.raises(AssertionError):
            assert_conforms(payload, "CallConversation")


async def _drain(events: Notifications) -> list[dict[str, Any]]:
    """Every frame until the socket has been quiet for half a second."""
    frames: list[dict[str, Any]] = []
    with suppress(TimeoutError):
        while True:
            frames.append(await events.frame(wait=0.5))
    return frames


async def test_sdk_drives_call_control_presence_and_wrap_up(
    session: ClientSession, emulator: Emulator
) -> None:
    client = await _pkce_client(session, emulator)
    presence, conversations = PresenceApi(client), ConversationsApi(client)
    agent_id = emulator.demo_agent.id

    legacy = await asyncio.to_thread(presence.get_presencedefinitions)
    current = await asyncio.to_thread(presence.get_presence_definitions)
    labels = {d.language_labels["en_US"]: d for d in current.entities}
    assert {d.id for d in legacy.entities} == {d.id for d in current.entities}
    assert labels["On Queue"].system_presence == "OnQueue"
    focus = labels["Focus time"]
    one = await asyncio.to_thread(presence.get_presence_definition, focus.id)
    old = await asyncio.to_thread(presence.get_presencedefinition, focus.id)
    assert (one.type, old.primary, old.system_presence) == ("User", False, "Busy")
    change = models.UserPresence()
    change.presence_definition = models.PresenceDefinition()
    change.presence_definition.id = focus.id
    changed = await asyncio.to_thread(presence.patch_user_presences_purecloud, agent_id, change)
    assert changed.presence_definition.id == focus.id

    conversation_id = await emulator.control.start_inbound_call()
    call = await asyncio.to_thread(conversations.get_conversations_call, conversation_id)
    agent = next(p for p in call.participants if p.purpose == "agent")

    async def patch(**fields: Any) -> None:
        request = MediaParticipantRequest()
        for name, value in fields.items():
            setattr(request, name, value)
        answer = await asyncio.to_thread(
            conversations.patch_conversations_call_participant, conversation_id, agent.id, request
        )
        assert answer is None

    await patch(state="connected")
    await patch(held=True)
    await patch(held=False)
    await patch(state="disconnected")
    codes = await asyncio.to_thread(
        RoutingApi(client).get_routing_queue_wrapupcodes, agent.queue.id, page_size=2
    )
    assert (len(codes.entities), codes.total) == (2, 4)
    offered = await asyncio.to_thread(
        conversations.get_conversations_call_participant_wrapupcodes, conversation_id, agent.id
    )
    assert [c.id for c in offered][:2] == [c.id for c in codes.entities]
    wrapup = models.WrapupInput()
    wrapup.code, wrapup.notes = codes.entities[1].id, "Solved on first call"
    await patch(wrapup=wrapup)
    call = await asyncio.to_thread(conversations.get_conversations_call, conversation_id)
    done = next(p for p in call.participants if p.purpose == "agent")
    assert (done.state, done.wrapup.code, done.wrapup.notes) == (
        "terminated",
        codes.entities[1].id,
        "Solved on first call",
    )

    direct_id = await emulator.control.start_direct_call()
    direct = await asyncio.to_thread(conversations.get_conversations_call, direct_id)
    user = next(p for p in direct.participants if p.purpose == "user")
    voicemail = TransferRequest()
    voicemail.voicemail = True
    answer = await asyncio.to_thread(
        conversations.post_conversations_call_participant_replace, direct_id, user.id, voicemail
    )
    assert answer is None
    direct = await asyncio.to_thread(conversations.get_conversations_call, direct_id)
    assert [p.purpose for p in direct.participants] == ["external", "user", "voicemail"]

    await emulator.control.configure_queue("Mandatory", wrapup_prompt="mandatory")
    conversation_id = await emulator.control.start_inbound_call(queue_name="Mandatory")
    await emulator.control.answer(conversation_id)
    await emulator.control.customer_hangup(conversation_id)
    call = await asyncio.to_thread(conversations.get_conversations_call, conversation_id)
    agent = next(p for p in call.participants if p.purpose == "agent")
    assert agent.wrapup_prompt == "mandatory"
    with pytest.raises(ApiException) as refused:
        await patch(wrapup_skipped=True)
    assert refused.value.status == 400
    assert json.loads(refused.value.body)["code"] == "conversation.error.wrapup.cannot.skip"


async def test_call_control_payloads_match_the_sdk_models(
    session: ClientSession,
    emulator: Emulator,
    agent_token: dict[str, Any],
    agent_events: Notifications,
) -> None:
    """Every request body sent, every answer and every event of call control, walked."""
    control, agent_id = emulator.control, emulator.demo_agent.id
    payloads: list[tuple[Any, str]] = []

    async def send(method: str, path: str, model: str, body: Any = None) -> Any:
        if body is not None:
            payloads.append((body, model))
        response, answer = await api(session, emulator, method, path, agent_token, body)
        if response.status >= 400:
            payloads.append((answer, "ErrorBody"))
        return answer

    async def read(path: str, model: str) -> Any:
        response, body = await api(session, emulator, "GET", path, agent_token)
        payloads.append((body, model if response.status < 400 else "ErrorBody"))
        return body

    legacy = await read("/presencedefinitions", "OrganizationPresenceEntityListing")
    await read("/presence/definitions", "OrganizationPresenceDefinitionEntityListing")
    for definition in legacy["entities"]:
        await read(f"/presencedefinitions/{definition['id']}", "OrganizationPresence")
        await read(f"/presence/definitions/{definition['id']}", "OrganizationPresenceDefinition")
    by_label = {d["languageLabels"]["en_US"]: d["id"] for d in legacy["entities"]}
    presence_path = f"/users/{agent_id}/presences/purecloud"
    for label in ("Focus time", "On Queue", "Available"):
        body = {"presenceDefinition": {"id": by_label[label]}, "message": label, "primary": True}
        payloads.append((await send("PATCH", presence_path, "UserPresence", body), "UserPresence"))
    await send("PATCH", presence_path, "UserPresence", {"presenceDefinition": {"id": "nope"}})

    async def leg(conversation_id: str, purpose: str) -> dict[str, Any]:
        call = await read(f"/conversations/calls/{conversation_id}", "CallConversation")
        return participant(call, purpose)

    # An ACD call: refused hold, answer, hold, resume, hang up, a refused skip, a wrap-up code.
    await control.configure_queue("Strict", wrapup_prompt="mandatory")
    conversation_id = await control.start_inbound_call(queue_name="Strict")
    agent = await leg(conversation_id, "agent")
    path = participant_path(conversation_id, agent["id"])
    codes = await read(
        f"/routing/queues/{agent['queue']['id']}/wrapupcodes?pageSize=2", "WrapupCodeEntityListing"
    )
    for code in await read(f"{path}/wrapupcodes", "object"):
        payloads.append((code, "WrapupCode"))
    steps: list[dict[str, Any]] = [
        {"held": True},
        {"state": "connected"},
        {"held": True},
        {"held": False},
        {"state": "disconnected"},
        {"wrapupSkipped": True},
        {"wrapup": {}},
        {"wrapup": {"code": codes["entities"][0]["id"], "notes": "done", "tags": ["a"]}},
    ]
    for step in steps:
        await send("PATCH", path, "MediaParticipantRequest", step)
        await leg(conversation_id, "agent")

    # Optional wrap-up skipped; a declined offer; a direct call sent to voicemail.
    skipped = await control.start_inbound_call()
    await control.answer(skipped)
    await control.customer_hangup(skipped)
    skip_path = participant_path(skipped, (await leg(skipped, "agent"))["id"])
    await send("PATCH", skip_path, "MediaParticipantRequest", {"wrapupSkipped": True})
    await leg(skipped, "agent")
    declined = await control.start_inbound_call()
    decline_path = participant_path(declined, (await leg(declined, "agent"))["id"])
    await send("PATCH", decline_path, "MediaParticipantRequest", {"state": "disconnected"})
    direct = await control.start_direct_call()
    direct_path = participant_path(direct, (await leg(direct, "user"))["id"])
    await send("POST", direct_path + "/replace", "TransferRequest", {"address": "tel:+1"})
    await send("POST", direct_path + "/replace", "TransferRequest", {"voicemail": True})
    await leg(direct, "voicemail")

    frames = [f for f in await _drain(agent_events) if f["topicName"] != "channel.metadata"]
    for frame in frames:
        suffix = next(s for s in EVENT_MODELS if frame["topicName"].endswith(s))
        payloads.append((frame["eventBody"], EVENT_MODELS[suffix]))
    for payload, model in payloads:
        if model != "object":
            assert_conforms(payload, model)

    calls = [body for body, model in payloads if model == "CallConversation"]
    legs = [p for call in calls for p in call["participants"]]
    assert {"voicemail", "user", "agent"} <= {p["purpose"] for p in legs}
    assert any(p.get("wrapupSkipped") for p in legs)
    assert any(p.get("wrapup", {}).get("notes") == "done" for p in legs)
    errors = {body["code"] for body, model in payloads if model == "ErrorBody"}
    assert errors == {
        "bad.request",
        "conversation.error.hold.alerting",
        "conversation.error.wrapup.cannot.skip",
        "conversation.error.wrapup.code.required",
    }
    topics = {frame["topicName"].rsplit(".", 1)[-1] for frame in frames}
    assert topics == {"calls", "conversations", "presence", "routingStatus"}
