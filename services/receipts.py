"""Read receipts: after a markRead or markAllRead commits, each sender is told which of *its*
messages the call flipped to read (docs/conversations-design.md, section 6).

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

# As many ids as one markRead takes: a markAllRead over thousands of messages tells each
# sender its newest 100 and `up_to`, not a list the size of the backlog.
RECEIPT_IDS = MAX_MARK_READ_IDS


@dataclass
class _SenderReads:
    # When the last of them was read (a markAllRead's chunks commit one after another).
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
    """The receipts one call owes, collected chunk by chunk (markAllRead marks in many), in
    memory bounded by 100 ids per sender."""

    reader: UserId
    _by_sender: dict[UserId, _SenderReads] = field(default_factory=dict)

    def add(self, marked: MarkedRead, read_at: datetime) -> None:
        """One `store.mark_read` outcome, committed at `read_at`."""
        flipped = {
            message_id
            for change in marked.changes
            if isinstance(change.payload, MessagesReadChange)
            for message_id in change.payload.message_ids
        }
        for entry in marked.entries:
            # A note to self has no one else to tell: its reader is its sender.
            if entry.id in flipped and entry.sender_id != self.reader:
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
