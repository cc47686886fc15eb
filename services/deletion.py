"""deleteMessage: the sender takes a message back, from both sides (docs/conversations-design.md,
4.7). The store commits the deletion; then every process's body cache gets its tombstone,
before the caller hears `deleted: true`; then the recipient's devices are told."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from services.change_log import LiveChange
from services.domain import UserId, parse_message_id, to_millisecond, utc_now
from services.errors import DependencyUnavailable
from services.inbox import announce
from services.ports import EventPublisher, MessageCache, MessageStore

log = logging.getLogger("inboxql.deletion")


@dataclass
class DeletionService:
    store: MessageStore
    cache: MessageCache
    publisher: EventPublisher
    clock: Callable[[], datetime] = field(default=utc_now)

    async def delete_message(self, sender_id: UserId, message_id: str) -> bool:
        """True once, for the sender's first call. False for everything else, after the same
        calls: a malformed id, an unknown one, someone else's message, a second call."""
        parsed = parse_message_id(message_id)
        if parsed is None:
            # Like an unknown id: the caller learns nothing it did not know.
            return False
        deletion = await self.store.delete_message(sender_id, parsed, to_millisecond(self.clock()))
        if not deletion.deleted:
            return False
        try:
            await self.cache.forget([parsed])
        except DependencyUnavailable as error:
            # Committed already, so no error for the caller. Bodies read from the store are
            # gone, and lists no longer hold the entry: what is left is a cached body shown
            # while the conversation index lags (documented).
            log.error("message cache unavailable, %s not forgotten: %s", parsed, error)
        if deletion.change is not None and deletion.recipient_id is not None:
            # The sender's own devices are not told: the sender's inbox did not change, and
            # they carry no version for it (a note to self is the recipient's change).
            await announce(self.publisher, LiveChange(deletion.change), to=deletion.recipient_id)
        return True
