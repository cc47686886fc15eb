"""The rules of InboxQL. Collaborators arrive as arguments; nothing here knows about boto3,
Redis or GraphQL."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from dataclasses import dataclass, replace
from typing import TypeVar

from services.change_log import LiveChange, counter_told
from services.cursor import decode_cursor
from services.disabled import NO_METRICS
from services.domain import (
    InboxEntry,
    Message,
    MessageId,
    MessageReceived,
    Page,
    UnreadCount,
    UnreadCountChanged,
    UserId,
    check_page_size,
    continues_after,
    parse_message_id,
    parse_user_id,
)
from services.errors import DependencyUnavailable
from services.ports import (
    EventPublisher,
    EventStream,
    LiveEvent,
    MessageCache,
    MessageStore,
    Metrics,
)
from services.retention import Retention, earliest_expiry

log = logging.getLogger("inboxql.inbox")

T = TypeVar("T")


@dataclass
class InboxService:
    store: MessageStore
    cache: MessageCache
    publisher: EventPublisher
    events: EventStream
    metrics: Metrics = NO_METRICS
    # None: read messages never get an expiry, and no page stops being worth keeping.
    retention: Retention | None = None

    async def inbox(
        self, user_id: UserId, *, first: int, after: str | None, unread_only: bool
    ) -> Page:
        page = await self.store.list_inbox(
            user_id,
            limit=check_page_size(first),
            before=decode_cursor(after) if after is not None else None,
            unread_only=unread_only,
        )
        return replace(
            page,
            has_previous_page=continues_after(after),
            first_expiry=earliest_expiry(page.entries, self.retention),
        )

    async def conversation(
        self, user_id: UserId, with_user_id: str, *, first: int, after: str | None
    ) -> Page:
        other = parse_user_id(with_user_id, "withUserId")
        page = await self.store.list_conversation(
            user_id,
            other,
            limit=check_page_size(first),
            before=decode_cursor(after) if after is not None else None,
        )
        return replace(page, has_previous_page=continues_after(after))

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
        """Bodies for ids the caller is already allowed to see: the cache first, then the store.
        A deleted message is left out, whether the cache holds its tombstone or the store
        does (the conversation view lists its entry for as long as its index lags)."""
        cached: dict[MessageId, Message | None] = {}
        try:
            cached = await self.cache.get_many(ids)
        except DependencyUnavailable as error:
            log.warning("message cache unavailable, reading the store: %s", error)
        found = {i: message for i, message in cached.items() if message is not None}
        missing = [message_id for message_id in ids if message_id not in cached]
        # While the cache is down every lookup is a miss: the ratio shows what the store bears.
        self.metrics.cache_looked_up(hits=len(ids) - len(missing), misses=len(missing))
        if missing:
            loaded = await self.store.get_messages(missing)
            live = {i: message for i, message in loaded.items() if message.deleted_at is None}
            found.update(live)
            try:
                await self.cache.put_many(live.values())
            except DependencyUnavailable as error:
                log.warning("message cache unavailable, not caching: %s", error)
        return found

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
        async with self.events.subscribe(user_id, counts_only=True) as stream:
            current = await self.store.unread_count(user_id)
            yield shape(current)
            async for item in stream:
                if item is None:
                    fresh = await self.store.unread_count(user_id)
                    if fresh.version > current.version:
                        current = fresh
                        yield shape(current)
                    continue
                told = counter_told(item)
                if told is not None and told.version > current.version:
                    current = told
                    yield shape(current)

    async def watch_messages(self, user_id: UserId) -> AsyncIterator[Message]:
        async with self.events.subscribe(user_id) as stream:
            async for item in stream:
                if isinstance(item, MessageReceived | LiveChange) and item.message is not None:
                    yield item.message


async def announce(
    publisher: EventPublisher, event: LiveEvent, *, to: UserId | None = None
) -> bool:
    """Live updates are best effort: the stores hold the truth and subscribers re-read it after
    a gap, so a failed publish is logged, never raised into a write that has already happened.
    Returns whether it was published. `to` is the user told, for events that do not say."""
    user_id = to if to is not None else _addressee(event)
    try:
        await publisher.publish(user_id, event)
    except DependencyUnavailable as error:
        log.warning("could not publish %s for %s: %s", type(event).__name__, user_id, error)
        return False
    return True


def _addressee(event: LiveEvent) -> UserId:
    if isinstance(event, UnreadCountChanged):
        return event.user_id
    if isinstance(event, MessageReceived):
        return event.message.recipient_id
    raise TypeError(f"say whom a {type(event).__name__} is for")
