"""The call state machine: conversations, their participants, and the events they publish.

Every change publishes the whole conversation, as Genesys does, to each participating user's
``v2.users.{id}.conversations.calls`` and ``v2.users.{id}.conversations`` topics, then tells the
other observers (the place where a WebRTC softphone will plug in).

Flows (participant purposes and states as Genesys shows them):

* inbound ACD call: ``customer`` connected, ``acd`` (the queue) connected, ``agent`` alerting;
  answering connects the agent and disconnects the acd leg (``disconnectType: transfer``);
  declining disconnects the agent (``client``) and the call stays in the queue;
* inbound direct call (to the user, no queue): ``external`` connected, ``user`` alerting, no
  wrap-up; sending it to voicemail (the SDK's decline of a ``user`` leg: ``POST …/replace``
  ``{"voicemail": true}``) disconnects the user (``transfer``) and a ``voicemail`` participant
  takes the caller;
* outbound call: ``agent`` dialing, ``external`` contacting; the far end answering connects both;
* consult: a second ``external`` party joins the same conversation connected, the agent's
  ``consultParticipantId`` points at it and the customer is held;
* a hang-up disconnects the leg (``endpoint`` for the far end, ``client`` for the agent), and
  when fewer than two parties remain the call ends for everyone (``peer``). An ACD agent who
  talked then stays ``disconnected`` in wrap-up (``wrapupRequired``, ``wrapupPrompt`` from the
  queue, ``startAcwTime``) until a wrap-up code is given (``wrapup``) or, when the queue's prompt
  is ``optional``, wrap-up is skipped (``wrapupSkipped``); a leg that never connected, or with
  no wrap-up, goes ``disconnected`` then ``terminated`` (two events);
* transfer away: the agent leaves (``transfer``) and a new ``acd`` leg takes the customer back.

UNCONFIRMED and chosen here: an agent's Hold sets ``held`` on the agent's own participant (not
``confined`` on the customer); the outbound states above; muting a ringing leg is accepted; only
a ``connected`` leg may be held (alerting: ``conversation.error.hold.alerting``; dialing or
contacting: ``bad.request``); only an ``alerting`` leg may be answered (``bad.request``
otherwise); a wrap-up code must be one of the queue's (``bad.request``); a wrap-up without a
code is ``conversation.error.wrapup.code.required``, a skip where the queue's prompt is
``mandatory`` is ``conversation.error.wrapup.cannot.skip`` (the messages Genesys gives these codes
say so); wrap-up given to a leg not awaiting it is ``bad.request``; a direct call declined by
``PATCH state: disconnected`` simply ends; voicemail replaces only a ``user`` (direct) leg
(``bad.request`` for an ACD ``agent`` leg, which is declined by the PATCH).
"""

from collections.abc import Awaitable, Callable

from .errors import ApiError
from .notifications import NotificationHub
from .state import Conversation, Org, Participant, Queue, User, Wrapup, utcnow
from .wire import ACD_DNIS, call_conversation, conversation_event

REMOTE_PURPOSES = frozenset({"customer", "external"})
ALERTING_TIMEOUT_MS = 8000
DIRECT_DNIS = "tel:+13175550142"

ConversationObserver = Callable[[Conversation], Awaitable[None]]


class CallCenter:
    """All call conversations since the last restart."""

    def __init__(self, org: Org, hub: NotificationHub) -> None:
        """No calls yet; events go to ``hub``."""
        self._org = org
        self._hub = hub
        self.conversations: dict[str, Conversation] = {}
        self.observers: list[ConversationObserver] = []

    def reset(self) -> None:
        """Forget every call (an emulator restart)."""
        self.conversations.clear()

    def get(self, conversation_id: str) -> Conversation:
        """The conversation, or 404 ``not.found``."""
        conversation = self.conversations.get(conversation_id)
        if conversation is None:
            raise ApiError("not.found")
        return conversation

    def active_for(self, user_id: str) -> list[Conversation]:
        """The user's calls that are not over (wrap-up included), oldest first."""
        return [
            c
            for c in self.conversations.values()
            if (p := c.user_participant(user_id)) is not None and p.state != "terminated"
        ]

    async def _publish(self, conversation: Conversation) -> None:
        calls = call_conversation(conversation, rest=False)
        generic = conversation_event(conversation)
        for user_id in conversation.user_ids():
            await self._hub.publish_to_user(user_id, "conversations.calls", calls)
            await self._hub.publish_to_user(user_id, "conversations", generic)
        for observer in self.observers:
            await observer(conversation)

    async def _changed(self, conversation: Conversation) -> None:
        """Publish, then let agents with nothing to wrap up leave for good (second event)."""
        await self._publish(conversation)
        finished = [
            p
            for p in conversation.participants
            if p.user_id and p.state == "disconnected" and not p.wrapup_required
        ]
        for participant in finished:
            participant.state = "terminated"
        if finished:
            await self._publish(conversation)

    # ------------------------------------------------------------------ starting calls

    @staticmethod
    def _agent_leg(
        user: User, *, direction: str, state: str, purpose: str = "agent"
    ) -> Participant:
        return Participant(
            purpose=purpose,
            name=user.name,
            address=f"sip:{user.jabber_id.split('@')[0]}@localhost",
            direction=direction,
            state=state,
            user_id=user.id,
            user_name=user.name,
        )

    @staticmethod
    def _inbound_leg(
        purpose: str, name: str, address: str, ani: str | None, dnis: str | None
    ) -> Participant:
        """A connected leg of an inbound call (the caller's, the queue's, the voicemail's)."""
        return Participant(
            purpose=purpose,
            name=name,
            address=address,
            direction="inbound",
            state="connected",
            connected_time=utcnow(),
            ani=ani,
            dnis=dnis,
        )

    @staticmethod
    def _queue_leg(
        purpose: str, name: str, address: str, queue: Queue, ani: str | None
    ) -> Participant:
        leg = CallCenter._inbound_leg(purpose, name, address, ani, ACD_DNIS)
        leg.queue_id, leg.queue_name = queue.id, queue.name
        return leg

    async def start_inbound(self, user: User, queue_name: str, ani: str) -> Conversation:
        """A customer calls a queue, which offers the call to ``user`` (alerting)."""
        queue = self._org.queue(queue_name)
        customer = self._queue_leg("customer", "Customer", ani, queue, ani)
        acd = self._queue_leg("acd", queue.name, ACD_DNIS, queue, ani)
        agent = self._agent_leg(user, direction="inbound", state="alerting")
        agent.wrapup_required, agent.wrapup_prompt = True, queue.wrapup_prompt
        agent.alerting_timeout_ms = ALERTING_TIMEOUT_MS
        agent.ani, agent.dnis, agent.peer = ani, ACD_DNIS, customer.call_id
        agent.queue_id, agent.queue_name = queue.id, queue.name
        return await self._start(Conversation(participants=[customer, acd, agent]))

    async def start_direct(self, user: User, ani: str) -> Conversation:
        """Someone dials ``user``'s own number: no queue, no wrap-up, the user leg alerting."""
        caller = self._inbound_leg("external", ani.removeprefix("tel:"), ani, ani, DIRECT_DNIS)
        leg = self._agent_leg(user, direction="inbound", state="alerting", purpose="user")
        leg.ani, leg.dnis, leg.peer = ani, DIRECT_DNIS, caller.call_id
        return await self._start(Conversation(participants=[caller, leg]))

    @staticmethod
    def _dialed_leg(number: str, state: str) -> Participant:
        """The far end of a call the agent places."""
        return Participant(
            purpose="external",
            name=number.removeprefix("tel:"),
            address=number,
            direction="outbound",
            state=state,
            connected_time=utcnow() if state == "connected" else None,
            dnis=number,
        )

    async def start_outbound(self, user: User, number: str) -> Conversation:
        """``user`` dials ``number``."""
        agent = self._agent_leg(user, direction="outbound", state="dialing")
        agent.dnis = number
        external = self._dialed_leg(number, "contacting")
        agent.peer = external.call_id
        return await self._start(Conversation(participants=[agent, external]))

    async def _start(self, conversation: Conversation) -> Conversation:
        self.conversations[conversation.id] = conversation
        await self._changed(conversation)
        return conversation

    # ------------------------------------------------------------------ changing calls

    @staticmethod
    def agent_leg(conversation: Conversation) -> Participant:
        """The conversation's current user leg (``agent`` or ``user``; the latest one)."""
        legs = [p for p in conversation.participants if p.user_id is not None]
        if not legs:
            raise ApiError("not.found")
        return next((p for p in reversed(legs) if p.active), legs[-1])

    @staticmethod
    def require_active(participant: Participant) -> None:
        """Refuse changes to a leg that has hung up."""
        if not participant.active:
            raise ApiError("conversation.error.call.disconnected")

    async def answer(
        self, conversation: Conversation, participant: Participant | None = None
    ) -> None:
        """An alerting leg picks up; without ``participant``, whoever the call waits for does.

        That is the agent of an inbound call, or the far end of an outbound one.
        """
        if participant is None:
            pending = [
                p
                for p in conversation.participants
                if p.active and p.state != "connected" and p.purpose != "acd"
            ]
            if not pending:
                raise ApiError("bad.request", reason="the call is not ringing")
        else:
            self.require_active(participant)
            if participant.state != "alerting":
                raise ApiError("bad.request", reason="the participant is not alerting")
            pending = [participant]
        now = utcnow()
        for leg in pending:
            leg.state, leg.connected_time = "connected", now
        if any(leg.user_id and leg.direction == "inbound" for leg in pending):
            for acd in conversation.participants:
                if acd.purpose == "acd" and acd.active:
                    self._disconnect(acd, "transfer")
        await self._changed(conversation)

    async def set_hold(
        self, conversation: Conversation, participant: Participant, held: bool
    ) -> None:
        """Hold or resume a connected leg (held: the party hears silence)."""
        self.require_active(participant)
        if participant.state == "alerting":
            raise ApiError("conversation.error.hold.alerting")
        if participant.state != "connected":
            raise ApiError("bad.request", reason="only a connected call can be held")
        participant.held = held
        participant.start_hold_time = utcnow() if held else None
        await self._changed(conversation)

    async def set_mute(
        self, conversation: Conversation, participant: Participant, muted: bool
    ) -> None:
        """Mute or unmute a leg: the others stop hearing it; server-side state."""
        self.require_active(participant)
        participant.muted = muted
        await self._changed(conversation)

    def _disconnect(self, participant: Participant, disconnect_type: str) -> None:
        now = utcnow()
        participant.state, participant.end_time = "disconnected", now
        participant.disconnect_type = disconnect_type
        participant.held, participant.start_hold_time = False, None
        participant.consult_participant_id = None
        # A call that was never taken leaves nothing to wrap up.
        participant.wrapup_required = participant.wrapup_required and bool(
            participant.connected_time
        )
        if participant.wrapup_required:
            participant.start_acw_time = now

    def _end_if_alone(self, conversation: Conversation) -> None:
        """A call needs two parties: when one is left, it is disconnected too."""
        remaining = [p for p in conversation.participants if p.active and p.purpose != "acd"]
        if len(remaining) < 2:
            for participant in conversation.participants:
                if participant.active:
                    self._disconnect(participant, "peer")

    async def hang_up(self, conversation: Conversation, participant: Participant) -> None:
        """One leg hangs up (the agent: ``client``; the far end: ``endpoint``).

        An agent declining a queue's offer leaves the caller waiting in the queue.
        """
        self.require_active(participant)
        declined_offer = participant.purpose == "agent" and participant.state == "alerting"
        self._disconnect(participant, "client" if participant.user_id else "endpoint")
        for other in conversation.participants:
            if other.consult_participant_id == participant.id:
                other.consult_participant_id = None
        if not declined_offer:
            self._end_if_alone(conversation)
        await self._changed(conversation)

    async def customer_hangup(self, conversation: Conversation) -> None:
        """The customer (or called party) hangs up."""
        remote = [p for p in conversation.participants if p.purpose in REMOTE_PURPOSES]
        await self.hang_up(conversation, next((p for p in remote if p.active), remote[0]))

    async def to_voicemail(self, conversation: Conversation, participant: Participant) -> None:
        """A user's own (direct) call goes to their voicemail, which takes the caller."""
        self.require_active(participant)
        if participant.purpose != "user":
            raise ApiError("bad.request", reason="only a direct call can go to voicemail")
        self._disconnect(participant, "transfer")
        conversation.participants.append(
            self._inbound_leg(
                "voicemail", "Voicemail", participant.address, participant.ani, participant.dnis
            )
        )
        self._end_if_alone(conversation)
        await self._changed(conversation)

    def awaited_wrapup(self, participant: Participant) -> Queue:
        """The queue whose wrap-up the leg owes (400 ``bad.request`` when it owes none)."""
        queue = self._org.queues.get(participant.queue_id or "")
        if participant.state != "disconnected" or not participant.wrapup_required or not queue:
            raise ApiError("bad.request", reason="the participant has no pending wrap-up")
        return queue

    async def submit_wrapup(
        self,
        conversation: Conversation,
        participant: Participant,
        code_id: str | None,
        *,
        notes: str | None = None,
        tags: list[str] | None = None,
    ) -> None:
        """The agent gives the call one of its queue's wrap-up codes; the call is over for them."""
        queue = self.awaited_wrapup(participant)
        if not code_id:
            raise ApiError("conversation.error.wrapup.code.required")
        code = queue.wrapup_code(code_id)
        if code is None:
            raise ApiError("bad.request", reason=f"{code_id} is not a wrap-up code of the queue")
        now = utcnow()
        started = participant.start_acw_time or now
        participant.wrapup = Wrapup(
            code=code.id,
            name=code.name,
            notes=notes,
            tags=tags,
            end_time=now,
            duration_seconds=int((now - started).total_seconds()),
        )
        await self._end_wrapup(conversation, participant)

    async def skip_wrapup(self, conversation: Conversation, participant: Participant) -> None:
        """The agent skips an optional wrap-up; the call is over for them."""
        if self.awaited_wrapup(participant).wrapup_prompt == "mandatory":
            raise ApiError("conversation.error.wrapup.cannot.skip")
        participant.wrapup_skipped = True
        await self._end_wrapup(conversation, participant)

    async def _end_wrapup(self, conversation: Conversation, participant: Participant) -> None:
        participant.end_acw_time = utcnow()
        participant.wrapup_required = False
        await self._changed(conversation)

    async def transfer_away(self, conversation: Conversation) -> None:
        """The agent blind-transfers the customer back to the queue and leaves."""
        agent = self.agent_leg(conversation)
        self.require_active(agent)
        self._disconnect(agent, "transfer")
        queue = self._org.queue(agent.queue_name or "Transfer")
        conversation.participants.append(
            self._queue_leg("acd", queue.name, ACD_DNIS, queue, agent.ani)
        )
        await self._changed(conversation)

    async def start_consult(self, conversation: Conversation, number: str) -> Participant:
        """The agent consults a third party; the customer waits on hold."""
        agent = self.agent_leg(conversation)
        if agent.state != "connected":
            raise ApiError("bad.request", reason="the agent is not connected")
        consulted = self._dialed_leg(number, "connected")
        conversation.participants.append(consulted)
        agent.consult_participant_id = consulted.id
        for customer in conversation.participants:
            if customer.purpose == "customer" and customer.active:
                customer.held, customer.start_hold_time = True, utcnow()
        await self._changed(conversation)
        return consulted
