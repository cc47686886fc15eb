"""Latest-value-wins delivery of live state (such as a count) to consumers that may be slow.

A WebSocket client that stops reading makes the server's send wait. If the subscription's source
waited with it, the events meant for that client would pile up upstream. Here the source is read
by a task of its own into a short backlog that drops its oldest value when full, so a slow
consumer costs a bounded amount of memory and, when it reads again, gets the newest state
instead of the whole history.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Generic, TypeVar

T = TypeVar("T")

# A consumer a little behind still sees each step; one further behind skips to the newest.
DEFAULT_BACKLOG = 16


class _Backlog(Generic[T]):
    def __init__(self, size: int) -> None:
        self.values: deque[T] = deque(maxlen=size)
        self.ended = False
        self.error: Exception | None = None
        self.changed = asyncio.Event()

    def put(self, value: T) -> None:
        self.values.append(value)
        self.changed.set()

    def end(self, error: Exception | None) -> None:
        self.ended, self.error = True, error
        self.changed.set()


async def latest_values(
    source: AsyncIterator[T], *, backlog: int = DEFAULT_BACKLOG
) -> AsyncGenerator[T, None]:
    """`source`'s values in order, except that when more than `backlog` wait for the consumer
    the oldest are dropped: the newest value is never lost. Errors from `source` reach the
    consumer after the values before them. Closing this generator stops reading `source`."""
    if backlog < 1:
        raise ValueError("backlog must be at least 1")
    pending: _Backlog[T] = _Backlog(backlog)

    async def pump() -> None:
        try:
            async for value in source:
                pending.put(value)
        except Exception as error:
            pending.end(error)
        else:
            pending.end(None)

    reader = asyncio.create_task(pump())
    try:
        while True:
            await pending.changed.wait()
            pending.changed.clear()
            while pending.values:
                yield pending.values.popleft()
            if pending.ended and not pending.values:
                if pending.error is not None:
                    raise pending.error
                return
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
