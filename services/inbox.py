"""The rules of InboxQL. Collaborators arrive as arguments; nothing here knows about boto3,
Redis or GraphQL."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from services.cursor import decode_cursor
from services.disabled import NO_METRICS
from services.domain import (
    MAX_MARK_READ_IDS,
    InboxEntry,
    MarkReadResult,
    Message,
    MessageId,
    MessageReceived,
    Page,
    UnreadCount,
    UnreadCountChanged,
    UserId,
    check_page_size,
    id_upper_bound,
    parse_message_id,
    parse_user_id,
    to_millisecond,
    utc_now,
)
from services.errors import BadUserInput, DependencyUnavailable
from services.ports import EventPublisher, EventStream, MessageCache, MessageStore, Metrics

log = logging.getLogger("inboxql.inbox")

T = TypeVar("T")

# Unread ids are fetched and marked in chunks; 99 fills one DynamoDB transaction exactly.
MARK_ALL_READ_CHUNK = 99
# markAllRead answers with the newest messages it flipped, no more than markRead can: an inbox
# of 100,000 unread messages must not become a 100,000-message response (or list in memory).
MARK_ALL_READ_RETURNED = MAX_MARK_READ_IDS


@dataclass
class InboxService:
    store: MessageStore
    cache: MessageCache
    publisher: EventPublisher
    events: EventStream
    clock: Callable[[], datetime] = field(default=utc_now)
    metrics: Metrics = NO_METRICS

    async def inbox(
        self, user_id: UserId, *, first: int, after: str | None, unread_only: bool
    ) -> Page:
        return await self.store.list_inbox(
            user_id,
            limit=check_page_size(first),
            before=decode_cursor(after) if after is not None else None,
            unread_only=unread_only,
        )

    async def conversation(
        self, user_id: UserId, with_user_id: str, *, first: int, after: str | None
    ) -> Page:
        other = parse_user_id(with_user_id, "withUserId")
        return await self.store.list_conversation(
            user_id,
            other,
            limit=check_page_size(first),
            before=decode_cursor(after) if after is not None else None,
        )

    async def message(self, user_id: UserId, message_id: str) -> tuple[InboxEntry, Message] | None:
        """None both for unknown ids and for messages the user neither sent nor received, after
        the same calls for both: the ownership check comes before any body is read or cached,
        so neither the time taken nor the shared message cache tells them apart. (A malformed
        id is refused without any call: the caller knows it is malformed already.)"""
        parsed = parse_message_id(message_id)
        if parsed is None:
            return None
        # Received: the caller's own inbox entry, the read a message(id) cost before.
        entry = (await self.store.get_entries(user_id, [parsed])).get(parsed)
        if entry is None:
            # Sent, or a stranger's, or unknown: who sent it, from the store and without
            # its body, whether or not the shared cache holds it.
            parties = await self.store.message_parties(parsed)
            if parties is None or parties[0] != user_id:
                return None
            # The sender's: the recipient's entry (its read state) and the body, together.
            entries, messages = await asyncio.gather(
                self.store.get_entries(parties[1], [parsed]), self.load_messages([parsed])
            )
            entry, message = entries.get(parsed), messages.get(parsed)
        else:
            message = (await self.load_messages([parsed])).get(parsed)
        if entry is None or message is None:
            return None
        return entry, message

    async def load_messages(self, ids: Sequence[MessageId]) -> dict[MessageId, Message]:
        """Bodies for ids the caller is already allowed to see: the cache first, then the store."""
        found: dict[MessageId, Message] = {}
        try:
            found = await self.cache.get_many(ids)
        except DependencyUnavailable as error:
            log.warning("message cache unavailable, reading the store: %s", error)
        missing = [message_id for message_id in ids if message_id not in found]
        # While the cache is down every lookup is a miss: the ratio shows what the store bears.
        self.metrics.cache_looked_up(hits=len(ids) - len(missing), misses=len(missing))
        if missing:
            loaded = await self.store.get_messages(missing)
            found.update(loaded)
            try:
                await self.cache.put_many(loaded.values())
            except DependencyUnavailable as error:
                log.warning("message cache unavailable, not caching: %s", error)
        return found

    async def mark_read(self, user_id: UserId, ids: Sequence[str]) -> MarkReadResult:
        if len(ids) > MAX_MARK_READ_IDS:
            raise BadUserInput(f"`ids` must hold at most {MAX_MARK_READ_IDS} ids")
        parsed = list(dict.fromkeys(p for p in map(parse_message_id, ids) if p is not None))
        entries = await self.store.mark_read(user_id, parsed, self._now()) if parsed else []
        return MarkReadResult(entries, await self._announce_count(user_id))

    async def mark_all_read(self, user_id: UserId) -> MarkReadResult:
        # Only what was sent before the call: a steady stream of new messages cannot keep
        # this loop going forever.
        up_to = id_upper_bound(self._now())
        marked: list[InboxEntry] = []
        # Newest first, chunk after chunk: the first entries flipped are the ones to return.
        while ids := await self.store.unread_ids(user_id, up_to=up_to, limit=MARK_ALL_READ_CHUNK):
            flipped = await self.store.mark_read(user_id, ids, self._now())
            marked.extend(flipped[: MARK_ALL_READ_RETURNED - len(marked)])
        return MarkReadResult(marked, await self._announce_count(user_id))

    async def unread_count(self, user_id: UserId) -> int:
        return (await self.store.unread_count(user_id)).count

    async def unread_counter(self, user_id: UserId) -> UnreadCount:
        """The count with its version. Versions are per user and grow with every change, in
        queries and pushes alike: a client keeps the value with the highest version."""
        return await self.store.unread_count(user_id)

    def watch_unread_count(self, user_id: UserId) -> AsyncIterator[int]:
        """`watch_unread_counter`'s counts alone."""
        return self._watch_counter(user_id, lambda counter: counter.count)

    def watch_unread_counter(self, user_id: UserId) -> AsyncGenerator[UnreadCount, None]:
        """The current count, then every change, in version order. A consumer that falls
        behind skips to the newest value instead of being handed the backlog: the event stream
        keeps only the newest count waiting for it (services/redis/event_hub.py)."""
        return self._watch_counter(user_id, lambda counter: counter)

    async def _watch_counter(
        self, user_id: UserId, shape: Callable[[UnreadCount], T]
    ) -> AsyncGenerator[T, None]:
        """One generator per subscription, whatever it is shaped into (thousands are held at
        once). Subscribing before reading the snapshot means no change can fall between the
        two; versions drop stale or repeated values. After a gap (`None`) the store is read
        again."""
        async with self.events.subscribe(user_id) as stream:
            current = await self.store.unread_count(user_id)
            yield shape(current)
            async for item in stream:
                if item is None:
                    fresh = await self.store.unread_count(user_id)
                    if fresh.version > current.version:
                        current = fresh
                        yield shape(current)
                elif isinstance(item, UnreadCountChanged) and item.version > current.version:
                    current = UnreadCount(item.count, item.version)
                    yield shape(current)

    async def watch_messages(self, user_id: UserId) -> AsyncIterator[Message]:
        async with self.events.subscribe(user_id) as stream:
            async for item in stream:
                if isinstance(item, MessageReceived):
                    yield item.message

    def _now(self) -> datetime:
        return to_millisecond(self.clock())

    async def _announce_count(self, user_id: UserId) -> UnreadCount:
        current = await self.store.unread_count(user_id)
        await announce(self.publisher, UnreadCountChanged(user_id, current.count, current.version))
        return current


async def announce(publisher: EventPublisher, event: UnreadCountChanged | MessageReceived) -> bool:
    """Live updates are best effort: the stores hold the truth and subscribers re-read it after
    a gap, so a failed publish is logged, never raised into a write that has already happened.
    Returns whether it was published."""
    user_id = event.user_id if isinstance(event, UnreadCountChanged) else event.message.recipient_id
    try:
        await publisher.publish(user_id, event)
    except DependencyUnavailable as error:
        log.warning("could not publish %s for %s: %s", type(event).__name__, user_id, error)
        return False
    return True
