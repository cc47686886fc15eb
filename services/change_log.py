"""The change log's model: one `InboxChange` per version of a user's inbox.

Every change to a user's inbox (a message received, read, unread or deleted) advances the
user's version by exactly 1 and records one change beside it, so `changes(since)` can hand a
client every step with contiguous versions (docs/conversations-design.md, section 3).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from services.domain import InboxEntry, Message, MessageId, UnreadCount, UnreadCountChanged, UserId

# Changes older than this are treated as absent, whatever TTL has deleted yet: a `since`
# before them answers SYNC_TOO_OLD.
LOG_RETENTION = timedelta(days=7)
# A version is a 10-digit sort key (`L#0000000042`).
MAX_VERSION = 9_999_999_999
MAX_IDS_PER_CHANGE = 100


class ChangeKind(StrEnum):
    """The `t` of a logged change; the values are stored, so they never change."""

    RECEIVED = "R"
    READ = "r"
    UNREAD = "U"
    DELETED = "D"


@dataclass(frozen=True, slots=True)
class MessageReceivedChange:
    """The message itself is not logged: sender and body come from the message item, sentAt
    from the id. `deleted_at` is set when the sender deletes it later: history keeps the
    event, without the body."""

    message_id: MessageId
    deleted_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class MessagesReadChange:
    """One call, one change: every id the call flipped. A horizon (markAllRead, or
    markConversationRead with `with_user_id`) carries `all_before` and no ids, because what it
    covers is defined in version space, not by a list."""

    message_ids: tuple[MessageId, ...] = ()
    all_before: datetime | None = None
    with_user_id: UserId | None = None

    def __post_init__(self) -> None:
        if self.with_user_id is not None and self.all_before is None:
            raise ValueError("a conversation's read horizon needs `all_before`")
        if self.all_before is None and not self.message_ids:
            raise ValueError("a read change flips at least one message or is a horizon")
        if len(self.message_ids) > MAX_IDS_PER_CHANGE:
            raise ValueError(f"a read change lists at most {MAX_IDS_PER_CHANGE} ids")

    @property
    def is_horizon(self) -> bool:
        return self.all_before is not None


@dataclass(frozen=True, slots=True)
class MessagesUnreadChange:
    message_ids: tuple[MessageId, ...]

    def __post_init__(self) -> None:
        # A call that flips nothing writes nothing, so an empty change is a bug upstream.
        if not 1 <= len(self.message_ids) <= MAX_IDS_PER_CHANGE:
            raise ValueError(f"an unread change lists 1-{MAX_IDS_PER_CHANGE} ids")


@dataclass(frozen=True, slots=True)
class MessageDeletedChange:
    message_id: MessageId


ChangePayload = (
    MessageReceivedChange | MessagesReadChange | MessagesUnreadChange | MessageDeletedChange
)

_KINDS: dict[type[ChangePayload], ChangeKind] = {
    MessageReceivedChange: ChangeKind.RECEIVED,
    MessagesReadChange: ChangeKind.READ,
    MessagesUnreadChange: ChangeKind.UNREAD,
    MessageDeletedChange: ChangeKind.DELETED,
}


@dataclass(frozen=True, slots=True)
class InboxChange:
    """A user's inbox at `version`: what changed, and the unread count after it."""

    version: int
    count: int
    payload: ChangePayload

    def __post_init__(self) -> None:
        if not 1 <= self.version <= MAX_VERSION:
            raise ValueError(f"a change's version is 1..{MAX_VERSION}, not {self.version}")
        if self.count < 0:
            raise ValueError("an unread count is never negative")

    @property
    def kind(self) -> ChangeKind:
        return _KINDS[type(self.payload)]


@dataclass(frozen=True, slots=True)
class LiveChange:
    """A change as published: a received message travels with its event, which saves every
    subscriber a read of the message."""

    change: InboxChange
    message: Message | None = None

    def __post_init__(self) -> None:
        received = isinstance(self.change.payload, MessageReceivedChange)
        if received != (self.message is not None):
            raise ValueError("a published change carries the message exactly when it is `R`")
        if (
            isinstance(self.change.payload, MessageReceivedChange)
            and self.message is not None
            and self.message.id != self.change.payload.message_id
        ):
            raise ValueError("the published message is not the one received")


@dataclass(frozen=True, slots=True)
class ChangeBatch:
    """A page of a user's log: changes since+1, since+2, ... with no gap. `version` is the last
    one's (the `since` asked about when empty); `has_more` when more follow it already."""

    changes: tuple[InboxChange, ...]
    version: int
    has_more: bool


@dataclass(frozen=True, slots=True)
class Delivered:
    """What `MessageStore.deliver` did: `change` is the recipient's change it committed, None
    when the message had been delivered before (a redelivery changes nothing) or when its
    sender deleted it while it was queued (`deleted`: the tombstone is honoured, and nothing
    is stored or told)."""

    change: InboxChange | None
    deleted: bool = False

    def __post_init__(self) -> None:
        if self.deleted and self.change is not None:
            raise ValueError("a deleted message is never stored")

    @property
    def stored(self) -> bool:
        return self.change is not None


@dataclass(frozen=True, slots=True)
class Deletion:
    """What `MessageStore.delete_message` did. `deleted` only for the sender's first call;
    `change` is the recipient's `MessageDeletedChange` when the message had been delivered
    (None while it was still queued: the recipient's inbox did not change). `recipient_id` is
    None when nothing was deleted, so an unknown id and someone else's look the same."""

    deleted: bool
    change: InboxChange | None = None
    recipient_id: UserId | None = None

    def __post_init__(self) -> None:
        if not self.deleted and (self.change is not None or self.recipient_id is not None):
            raise ValueError("a refused deletion tells nothing")
        if self.change is not None and not isinstance(self.change.payload, MessageDeletedChange):
            raise ValueError("a deletion commits a MessageDeletedChange")


@dataclass(frozen=True, slots=True)
class MarkedRead:
    """What one of `MessageStore`'s read marks did (mark_read, mark_unread, and the horizons
    mark_conversation_read and mark_all_read): `entries` are the messages it answers with, in
    their state now (see each method); `changes` the versions it committed, oldest first (one
    per transaction: none when it flipped nothing). `flipped`: how many a horizon read (its
    `entries` list at most 100 of them), for the walk after it (services/read_expiry.py)."""

    entries: list[InboxEntry]
    changes: tuple[InboxChange, ...] = ()
    flipped: int = 0


def counter_told(item: object) -> UnreadCount | None:
    """The count and version a live item says the inbox has reached: a logged change carries
    the count after it, a legacy count event (an older worker's, or a redelivery's) its own.
    None for anything else (a message, a receipt, typing, a gap marker)."""
    if isinstance(item, LiveChange):
        return UnreadCount(item.change.count, item.change.version)
    if isinstance(item, UnreadCountChanged):
        return UnreadCount(item.count, item.version)
    return None
