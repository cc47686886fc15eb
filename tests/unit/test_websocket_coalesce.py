"""Latest-value-wins delivery (services/coalesce.py): what a slow subscriber is handed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from services.coalesce import latest_values


class Source:
    """Values pushed by the test; records whether it was closed."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[int | Exception | None] = asyncio.Queue()
        self.closed = asyncio.Event()
        self.idle = asyncio.Event()  # everything put so far has been read
        self.read = 0

    async def values(self) -> AsyncIterator[int]:
        try:
            while True:
                if self.queue.empty():
                    self.idle.set()
                item = await self.queue.get()
                if item is None:
                    return
                if isinstance(item, Exception):
                    raise item
                self.read += 1
                yield item
        finally:
            self.closed.set()

    def put(self, item: int | Exception | None) -> None:
        self.idle.clear()
        self.queue.put_nowait(item)


async def test_a_consumer_that_keeps_up_gets_every_value_in_order() -> None:
    source = Source()
    values = latest_values(source.values())
    try:
        for n in range(5):
            source.put(n)
            assert await asyncio.wait_for(anext(values), 5) == n
    finally:
        await values.aclose()


async def test_a_stalled_consumer_gets_the_newest_values_and_memory_stays_bounded() -> None:
    source = Source()
    values = latest_values(source.values(), backlog=3)
    try:
        source.put(0)
        assert await asyncio.wait_for(anext(values), 5) == 0
        for n in range(1, 100_001):  # the consumer reads nothing meanwhile
            source.put(n)
        await asyncio.wait_for(source.idle.wait(), 30)
        assert source.read == 100_001  # the source was never held back by the consumer
        got = [await asyncio.wait_for(anext(values), 5) for _ in range(3)]
        assert got == [99_998, 99_999, 100_000]
        source.put(100_001)
        assert await asyncio.wait_for(anext(values), 5) == 100_001
    finally:
        await values.aclose()


async def test_closing_stops_reading_the_source() -> None:
    source = Source()
    values = latest_values(source.values())
    source.put(1)
    assert await asyncio.wait_for(anext(values), 5) == 1
    await values.aclose()
    await asyncio.wait_for(source.closed.wait(), 5)


async def test_an_error_reaches_the_consumer_after_the_values_before_it() -> None:
    source = Source()
    values = latest_values(source.values())
    source.put(1)
    source.put(RuntimeError("store down"))
    assert await asyncio.wait_for(anext(values), 5) == 1
    with pytest.raises(RuntimeError, match="store down"):
        await asyncio.wait_for(anext(values), 5)
    await values.aclose()


async def test_the_end_of_the_source_ends_the_values() -> None:
    source = Source()
    values = latest_values(source.values())
    source.put(7)
    source.put(None)
    assert [value async for value in values] == [7]
    assert source.closed.is_set()
