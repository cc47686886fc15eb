"""Presence: typing indicators and read receipts, the live-only signals between the two
participants of a conversation (docs/conversations-design.md, section 6). Nothing here is
stored: a push that is missed is gone, and the truth (what was read) is the conversation view.

`setTyping` answers whether a push went out now. `false` is not an error: a client calls it on
every few keystrokes and most calls fall within the throttle. It is also the answer for a note
to self (no one else to tell; nothing is counted or asked of Redis) and while Redis is
unavailable (typing is best effort: it never fails an operation, and the send limiter already
lets calls through while Redis is down).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from services.disabled import NoSendLimit
from services.domain import ReadReceipt, Typing, UserId, conversation_id, parse_user_id
from services.errors import DependencyUnavailable
from services.inbox import announce
from services.ports import EventPublisher, EventStream, SendRateLimiter, TypingGate

log = logging.getLogger("inboxql.presence")


@dataclass
class PresenceService:
    gate: TypingGate
    publisher: EventPublisher
    events: EventStream
    limiter: SendRateLimiter = field(default_factory=NoSendLimit)

    async def set_typing(self, user_id: UserId, with_user_id: str) -> bool:
        other = parse_user_id(with_user_id, "withUserId")
        if other == user_id:
            return False
        # Counted before the gate, so that every call that can reach Redis is counted: the
        # gate bounds the pushes, the limit bounds the calls (a client should call once every
        # second or two while its user types, not on every keystroke).
        await self.limiter.admit(user_id)
        conversation = conversation_id(user_id, other)
        try:
            admitted = await self.gate.admit(user_id, conversation)
        except DependencyUnavailable as error:
            log.warning("typing gate unavailable, not pushing: %s", error)
            return False
        if not admitted:
            return False
        return await announce(self.publisher, Typing(user_id, conversation), to=other)

    async def watch_typing(self, user_id: UserId) -> AsyncIterator[Typing]:
        """Who is typing to the user. A gap (`None`) is passed over: a missed indicator is
        stale a few seconds later anyway, and there is nothing to re-read."""
        async with self.events.subscribe(user_id) as stream:
            async for item in stream:
                if isinstance(item, Typing):
                    yield item

    async def watch_receipts(self, user_id: UserId) -> AsyncIterator[ReadReceipt]:
        """The user's sent messages as their recipients read them (services/receipts.py). A
        gap is passed over too: the conversation view holds what was read."""
        async with self.events.subscribe(user_id) as stream:
            async for item in stream:
                if isinstance(item, ReadReceipt):
                    yield item
