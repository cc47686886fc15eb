"""Gap-free sync: a user's change log as pages (`changes`) and as a live stream (`watch`).

The log is the truth; live events only save a read. A stream therefore yields versions
strictly +1 apart: anything at or below the last version sent is dropped, and anything that
would skip a version makes the stream read the log from the last version it sent
(docs/conversations-design.md, section 5).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from services.change_log import ChangeBatch, LiveChange, MessageReceivedChange, counter_told
from services.domain import MAX_PAGE_SIZE, Message, MessageId, UserId, utc_now
from services.errors import BadUserInput, InboxError, SyncTooOld
from services.ports import EventStream, MessageStore
from services.retention import Retention

log = logging.getLogger("inboxql.sync")

# A replay reads the log in pages of the most a client may ask for.
REPLAY_PAGE_SIZE = MAX_PAGE_SIZE

# Bodies for ids the caller may see: `InboxService.load_messages` (the cache, then the store).
MessageLoader = Callable[[Sequence[MessageId]], Awaitable[dict[MessageId, Message]]]


@dataclass(frozen=True, slots=True)
class SyncPage:
    """`changes`' answer: each change with its message when it is a received one."""

    events: tuple[LiveChange, ...]
    version: int
    has_more: bool


@dataclass
class SyncService:
    store: MessageStore
    events: EventStream
    load_messages: MessageLoader
    clock: Callable[[], datetime] = field(default=utc_now)
    # Under retention a logged message may have expired since (docs/retention.md).
    retention: Retention | None = None

    async def changes(self, user_id: UserId, *, since: int, first: int) -> SyncPage:
        check_since(since)
        if not 1 <= first <= MAX_PAGE_SIZE:
            raise BadUserInput(f"`first` must be between 1 and {MAX_PAGE_SIZE}")
        return await self._page(user_id, since, first)

    async def watch(self, user_id: UserId, since: int | None) -> AsyncGenerator[LiveChange, None]:
        """Every change after `since` (after the current version without one), then each
        change as it happens, versions strictly +1 apart. Ends with SyncTooOld when a replay
        finds the log no longer holds what it needs, BadUserInput for a `since` beyond the
        current version."""
        if since is not None:
            check_since(since)
        # Subscribed (and confirmed) before the starting point is read: nothing committed
        # after that read can miss the stream.
        async with self.events.subscribe(user_id) as stream:
            if since is None:
                last = (await self.store.unread_count(user_id)).version
            else:
                last = since
                async for event in self._replay(user_id, last):
                    last = event.change.version
                    yield event
            async for item in stream:
                counter = counter_told(item)
                told = None if counter is None else counter.version
                if item is not None and (told is None or told <= last):
                    continue  # not a change (receipts, typing, a legacy message), or one sent
                if isinstance(item, LiveChange) and told == last + 1:
                    last = item.change.version
                    yield item
                    continue
                # A gap marker, a version jump or a legacy count ahead of us: the log says what
                # happened since `last`; live copies of it arriving late are dropped above.
                async for event in self._replay(user_id, last):
                    last = event.change.version
                    yield event

    async def _replay(self, user_id: UserId, since: int) -> AsyncGenerator[LiveChange, None]:
        while True:
            page = await self._page(user_id, since, REPLAY_PAGE_SIZE)
            for event in page.events:
                yield event
            if not page.has_more:
                return
            since = page.version

    async def _page(self, user_id: UserId, since: int, first: int) -> SyncPage:
        batch = await self.store.changes(user_id, since=since, limit=first, now=self.clock())
        return SyncPage(await self._with_messages(batch), batch.version, batch.has_more)

    async def _with_messages(self, batch: ChangeBatch) -> tuple[LiveChange, ...]:
        received = [
            change.payload.message_id
            for change in batch.changes
            if isinstance(change.payload, MessageReceivedChange)
        ]
        # A message old enough to have expired is read from the store, which knows: a cache
        # may still hold its body.
        now = self.clock()
        aged = {i for i in received if self.retention and self.retention.may_have_expired(i, now)}
        fresh = [i for i in received if i not in aged]
        # One lookup for the page: the cache answers most of it in one round trip.
        messages = await self.load_messages(fresh) if fresh else {}
        # What the loader leaves out was deleted: its tombstone still names the sender.
        gone = [i for i in dict.fromkeys(received) if i not in messages]
        tombstones = await self.store.get_messages(gone) if gone else {}
        events: list[LiveChange] = []
        for logged in batch.changes:
            change, message, payload = logged, None, logged.payload
            if isinstance(payload, MessageReceivedChange):
                message = messages.get(payload.message_id) or tombstones.get(payload.message_id)
                if message is None and payload.message_id in aged:
                    # Expired: history older than the retention is not kept, as the log's
                    # own is not, and the client reloads.
                    raise SyncTooOld(
                        f"change {change.version} names message {payload.message_id}, which "
                        "has expired: reload"
                    )
                if message is None:
                    # A logged receipt whose message item is gone: the log and the messages
                    # disagree, which no client input can cause.
                    raise InboxError(
                        f"change {change.version} names message {payload.message_id}, "
                        "which is not stored"
                    )
                deleted_at = payload.deleted_at or message.deleted_at
                if deleted_at is not None:
                    # History keeps the event, never the body (also when the deletion came
                    # after this page's log was read).
                    message = replace(message, body="", deleted_at=deleted_at)
                    change = replace(change, payload=replace(payload, deleted_at=deleted_at))
            events.append(LiveChange(change, message))
        return tuple(events)


def check_since(since: int) -> None:
    if since < 0:
        raise BadUserInput("`since` is a version: 0 or more")
