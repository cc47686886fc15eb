"""Read receipts: after a markRead, markConversationRead or markAllRead commits, each sender is
told which of *its* messages the call flipped to read (docs/conversations-design.md, section 6).

Only flips count: an id that was read before the call is in `MarkedRead.entries` but not in
any committed change, and telling its sender again would move the "Seen" time it shows.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from services.change_log import MarkedRead, MessagesReadChange
from services.domain import (
    MAX_MARK_READ_IDS,
    MessageId,
    ReadReceipt,
    UserId,
    conversation_id,
)

# As many ids as one markRead takes: a horizon over thousands of messages tells each sender
# (at most) its newest 100 and `up_to`, not a list the size of the backlog.
RECEIPT_IDS = MAX_MARK_READ_IDS


@dataclass
class _SenderReads:
    # When the last of them was read (a markRead's chunks commit one after another).
    read_at: datetime
    # A min-heap of the newest ids seen so far: ULIDs sort by time, so the oldest goes first.
    newest: list[MessageId] = field(default_factory=list)

    def add(self, message_id: MessageId, read_at: datetime) -> None:
        if len(self.newest) < RECEIPT_IDS:
            heapq.heappush(self.newest, message_id)
        elif message_id > self.newest[0]:
            heapq.heapreplace(self.newest, message_id)
        self.read_at = max(self.read_at, read_at)


@dataclass
class ReadReceipts:
    """The receipts one call owes, collected chunk by chunk (a markRead spanning many
    conversations commits several), in memory bounded by 100 ids per sender."""

    reader: UserId
    _by_sender: dict[UserId, _SenderReads] = field(default_factory=dict)

    def add(self, marked: MarkedRead, read_at: datetime) -> None:
        """One read mark's outcome, committed at `read_at`. A horizon's change lists no ids:
        the entries it answers with are the newest it flipped, and they are what it tells."""
        read = [c.payload for c in marked.changes if isinstance(c.payload, MessagesReadChange)]
        horizon = any(change.is_horizon for change in read)
        flipped = {message_id for change in read for message_id in change.message_ids}
        for entry in marked.entries:
            # A note to self has no one else to tell: its reader is its sender.
            if (horizon or entry.id in flipped) and entry.sender_id != self.reader:
                reads = self._by_sender.setdefault(entry.sender_id, _SenderReads(read_at))
                reads.add(entry.id, read_at)

    def receipts(self) -> Iterable[tuple[UserId, ReadReceipt]]:
        """(sender, its receipt), one per sender that had a message flipped: the sender's
        newest ids first, `up_to` the newest."""
        for sender, reads in self._by_sender.items():
            ids = tuple(sorted(reads.newest, reverse=True))
            yield (
                sender,
                ReadReceipt(
                    reader_id=self.reader,
                    conversation_id=conversation_id(self.reader, sender),
                    message_ids=ids,
                    up_to=ids[0],
                    read_at=reads.read_at,
                ),
            )
