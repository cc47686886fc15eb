"""One subscriber's bounded queue of live events, and the iterator its one reader reads.

Backend-neutral: the Redis hub fans events out into these, and so does the in-memory fake in
tests/fakes.py, so that both bound and coalesce alike.

A count is a state, not a step: an `UnreadCountChanged` replaces any older one still waiting
(the newest count wins), so a slow subscriber holds at most one count and, when it reads again,
gets the newest. A subscriber that wants counts only (`counts_only`) treats every logged change
the same way, since each carries the count after it, and is not handed receipts or typing.
A queue that fills up is replaced by one `None` (events may have been missed), so that the
subscriber re-reads the truth instead of falling further behind.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Self

from services.change_log import LiveChange, counter_told
from services.ports import EventStreamItem

DEFAULT_QUEUE_SIZE = 256


class SubscriberQueue:
    """Items for one reader (whoever entered the subscription): a second one reading at the
    same time is not supported. Slotted, because thousands of idle ones are held per process."""

    __slots__ = ("_counts_only", "_items", "_size", "_waiter")

    def __init__(self, size: int, *, counts_only: bool = False) -> None:
        if size < 1:
            raise ValueError("a subscription's queue holds at least one item")
        self._size = size
        self._counts_only = counts_only
        self._items: list[EventStreamItem] = []
        self._waiter: asyncio.Future[None] | None = None

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> EventStreamItem:
        while not self._items:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._items.pop(0)

    def pending(self) -> list[EventStreamItem]:
        """What waits to be read, oldest first (a copy)."""
        return list(self._items)

    def offer(self, item: EventStreamItem) -> None:
        """Never blocks the one reader on a slow subscriber. A newer count replaces an older one
        still waiting (an older one arriving late is dropped: versions only grow); when the
        queue is full, what the subscriber has not read is replaced with a gap marker, so it
        re-reads the truth instead of falling further behind."""
        items = self._items
        version = self._count_version(item)
        if version is None and self._counts_only and item is not None:
            return  # neither a count nor a gap: not this subscriber's business
        if version is not None:
            for index, waiting in enumerate(items):
                older = self._count_version(waiting)
                if older is not None:
                    if older >= version:
                        return
                    del items[index]
                    break  # there is never more than one
        if item is None and items and items[-1] is None:
            return  # already told
        if len(items) >= self._size:
            items.clear()
            item = None
        items.append(item)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def offer_traced(self, item: EventStreamItem, trace: Mapping[str, str]) -> None:
        """`offer`, for an event published with its trace context; a traced subscription
        (services/redis/traced_hub.py) keeps it for the push, this one has no use for it."""
        self.offer(item)

    def _count_version(self, item: EventStreamItem) -> int | None:
        """The version of a count this queue coalesces, or None for a step it keeps (a logged
        change is one, unless this subscriber wants counts only)."""
        told = counter_told(item)
        if told is None or (isinstance(item, LiveChange) and not self._counts_only):
            return None
        return told.version
