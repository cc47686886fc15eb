"""The walk after a horizon, under retention (docs/retention.md): markAllRead and
markConversationRead read their messages in one write, so those messages get their expiry
afterwards, off the request path, in bounded steps (`MessageStore.expire_read`).

After markAllRead the walk reads the user's whole `unread` index; after markConversationRead
only that conversation, newest first, until as many messages as it read have their expiry.
The walks run in the process that committed the horizon, one at a time per user (horizons
during a walk queue up behind it), a few users at once. What a walk has not done yet is in the
data, not here: a read entry owed an expiry stays in the `unread` index until it gets one. So a
walk cut short (the process stopped) loses nothing that the user's next markAllRead, or an
unread page's clean of the index, does not pick up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from services.domain import MessageId, UserId
from services.ports import MessageStore

log = logging.getLogger("inboxql.retention")

# Entries per step: one transaction's worth (services/dynamodb/expiry_walk.py).
STEP_ENTRIES = 48
# Walks at once per process: a burst of markAllRead calls must not take DynamoDB's capacity
# from the requests.
CONCURRENT_WALKS = 4
# How long a stopping process lets walks in flight go on before it cancels them.
CLOSE_SECONDS = 5.0
# Users whose walk is running or waiting for a slot, at most: a burst of markAllRead from many
# users must not queue tasks without bound. One more is dropped, which loses nothing: what it
# owed stays in the `unread` index for the user's next horizon or unread page.
MAX_PENDING_WALKS = 10_000

# What a user's walk is owed: the whole index (None), or conversations, each with how many
# messages its horizons read.
Owed = dict[UserId | None, int]


@dataclass
class ReadExpiry:
    store: MessageStore
    concurrent_walks: int = CONCURRENT_WALKS
    close_seconds: float = CLOSE_SECONDS
    max_pending_walks: int = MAX_PENDING_WALKS
    dropped: int = 0
    _walks: dict[UserId, asyncio.Task[None]] = field(default_factory=dict)
    _owed: dict[UserId, Owed] = field(default_factory=dict)
    _slots: asyncio.Semaphore | None = None

    def after_horizon(
        self, user_id: UserId, *, with_user: UserId | None = None, read: int = 0
    ) -> None:
        """The user's messages were just read by a horizon (`read` of them, in the
        conversation with `with_user`, or in the whole inbox): walk them, in the background."""
        running = self._walks.get(user_id)
        if running is None and len(self._walks) >= self.max_pending_walks:
            self.dropped += 1
            log.warning("too many expiry walks waiting: %s's is left to a later one", user_id)
            return
        owed = self._owed.setdefault(user_id, {})
        owed[with_user] = owed.get(with_user, 0) + read
        if running is not None and not running.done():
            return  # it takes what is owed when it has done what it is doing
        task = asyncio.create_task(self._walk(user_id), name=f"inboxql-expiry-{user_id}")
        self._walks[user_id] = task
        task.add_done_callback(lambda done: self._forget(user_id, done))

    def _forget(self, user_id: UserId, done: asyncio.Task[None]) -> None:
        if self._walks.get(user_id) is done:
            del self._walks[user_id]

    async def idle(self) -> None:
        """Returns once no walk is running (tests, and a graceful stop)."""
        while self._walks:
            await asyncio.gather(*self._walks.values(), return_exceptions=True)

    async def aclose(self) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.close_seconds):
                await self.idle()
        for task in list(self._walks.values()):
            task.cancel()
        await asyncio.gather(*self._walks.values(), return_exceptions=True)

    async def _walk(self, user_id: UserId) -> None:
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.concurrent_walks)
        expired = 0
        try:
            async with self._slots:
                while owed := self._owed.pop(user_id, None):
                    if None in owed:
                        # The whole index holds every conversation's too.
                        expired += await self._steps(user_id, None, None)
                        continue
                    for other, read in owed.items():
                        expired += await self._steps(user_id, other, read)
            log.info("gave %d read messages of %s their expiry", expired, user_id)
        except Exception as error:
            # Best effort: what is left stays in the unread index for a later walk.
            self._owed.pop(user_id, None)
            log.warning("the expiry walk for %s stopped: %r", user_id, error)

    async def _steps(self, user_id: UserId, with_user: UserId | None, read: int | None) -> int:
        """One walk, to the end of what it reads, or (`read`) once that many have expired."""
        expired = 0
        before: MessageId | None = None
        while True:
            step = await self.store.expire_read(
                user_id, before=before, limit=STEP_ENTRIES, with_user=with_user
            )
            expired += step.expired
            if step.next_before is None or (read is not None and expired >= read):
                return expired
            before = step.next_before
