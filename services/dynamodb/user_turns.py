"""One change at a time per user, within this process.

Every change to a user's inbox is conditioned on the version it read, so two changes to one
user at once make one of them read again and retry. Across processes that is how they
serialise; within one, waiting for a turn costs nothing and wastes no round trip, so a flood
of messages to one inbox (or a seeded demo) is written in sequence instead of in collisions.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from services.domain import UserId


class UserTurns:
    def __init__(self) -> None:
        # A lock exists only while someone holds or awaits it: idle users cost nothing.
        self._locks: dict[UserId, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def turn(self, user_id: UserId) -> AsyncIterator[None]:
        lock, users = self._locks.get(user_id, (asyncio.Lock(), 0))
        self._locks[user_id] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[user_id]
            if users == 1:
                del self._locks[user_id]
            else:
                self._locks[user_id] = (lock, users - 1)

    def __len__(self) -> int:
        return len(self._locks)
