"""The messaging domain: identifiers, messages, inbox entries, commands and events.

A message is immutable once accepted (its body is cached freely); its read state lives on the
recipient's inbox entry, the one mutable thing about it.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NewType

from ulid import ULID

from services.errors import BadUserInput

UserId = NewType("UserId", str)
MessageId = NewType("MessageId", str)
ConversationId = NewType("ConversationId", str)

# '#' and '|' are excluded because they separate parts of storage keys.
_USER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@:+-]{0,127}")
_ULID = re.compile(r"[0-7][0-9A-HJKMNP-TV-Z]{25}")
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_RFC4648_TO_CROCKFORD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", _CROCKFORD)
_CROCKFORD_VALUES = {digit: value for value, digit in enumerate(_CROCKFORD)}
_CONVERSATION_ID = re.compile(r"[0-9A-HJKMNP-TV-Z]{24}")
_CONVERSATION_ID_BYTES = 15
MAX_BODY_CHARS = 5000
MAX_CLIENT_MESSAGE_ID_CHARS = 128
MAX_PAGE_SIZE = 100
MAX_MARK_READ_IDS = 100


def is_user_id(raw: str) -> bool:
    return _USER_ID.fullmatch(raw) is not None


def parse_user_id(raw: str, field: str) -> UserId:
    if not is_user_id(raw):
        raise BadUserInput(
            f"`{field}` is not a valid user id: 1-128 characters of letters, digits and ._@:+-"
        )
    return UserId(raw)


def parse_message_id(raw: str) -> MessageId | None:
    """None for anything that cannot be a message id: callers treat it as unknown."""
    return MessageId(raw) if _ULID.fullmatch(raw) else None


def conversation_id(a: UserId, b: UserId) -> ConversationId:
    """The same for both participants, and computed rather than stored: the first 15 bytes of
    SHA-256 over the sorted pair, in Crockford base32 (24 characters). Hashing keeps user ids
    (which may be e-mail addresses) out of an id that clients pass around; 120 bits leave
    collisions out of reach. The unit separator cannot occur in a user id, so no two pairs
    hash the same text."""
    low, high = sorted((a, b))
    digest = hashlib.sha256(f"{low}\x1f{high}".encode()).digest()[:_CONVERSATION_ID_BYTES]
    # 15 bytes are 24 base32 digits exactly (no padding), most significant first: RFC 4648's
    # digits, spelt in Crockford's alphabet.
    return ConversationId(base64.b32encode(digest).decode().translate(_RFC4648_TO_CROCKFORD))


def sent_at_of(message_id: MessageId) -> datetime:
    """When a message was sent: its id's timestamp, the first 10 digits (48 bits of
    milliseconds), without decoding the rest."""
    millis = 0
    for digit in message_id[:10]:
        millis = millis * 32 + _CROCKFORD_VALUES[digit]
    return datetime.fromtimestamp(millis / 1000, tz=UTC)


def parse_conversation_id(raw: str) -> ConversationId | None:
    """None for anything that cannot be a conversation id: callers treat it as unknown."""
    return ConversationId(raw) if _CONVERSATION_ID.fullmatch(raw) else None


def new_message_id(at: datetime) -> MessageId:
    # ULIDs sort by creation time, so an inbox partition sorted by id is sorted by sentAt.
    return MessageId(str(ULID.from_datetime(at)))


def id_upper_bound(at: datetime) -> MessageId:
    """The greatest id that a message sent at or before `at` can have."""
    millis = int(at.timestamp() * 1000)
    return MessageId(str(ULID.from_bytes(millis.to_bytes(6, "big") + b"\xff" * 10)))


def format_timestamp(value: datetime) -> str:
    """ISO 8601 to the millisecond: how the store and the queue's wire format write a time."""
    return value.isoformat(timespec="milliseconds")


def to_millisecond(at: datetime) -> datetime:
    """Times are stored and shown to the millisecond, like the ids that encode them; a value
    returned before storing must equal the one read back later."""
    return at.replace(microsecond=at.microsecond // 1000 * 1000)


def utc_now() -> datetime:
    return datetime.now(UTC)


def normalize_body(raw: str) -> str:
    _require_utf8(raw, "body")
    body = raw.strip()
    if not body:
        raise BadUserInput("`body` must not be empty")
    if len(body) > MAX_BODY_CHARS:
        raise BadUserInput(f"`body` must be at most {MAX_BODY_CHARS} characters")
    return body


def parse_client_message_id(raw: str | None) -> str | None:
    if raw is None:
        return None
    _require_utf8(raw, "clientMessageId")
    if not 1 <= len(raw) <= MAX_CLIENT_MESSAGE_ID_CHARS or not raw.isprintable():
        raise BadUserInput(
            f"`clientMessageId` must be 1-{MAX_CLIENT_MESSAGE_ID_CHARS} printable characters"
        )
    return raw


def _require_utf8(raw: str, field: str) -> None:
    """Text that UTF-8 cannot encode (a lone UTF-16 surrogate, which JSON's `\\ud800` can
    carry) could be neither stored nor sent back: refused before anything is reserved."""
    try:
        raw.encode()
    except UnicodeEncodeError:
        raise BadUserInput(f"`{field}` contains a lone UTF-16 surrogate") from None


def check_page_size(first: int) -> int:
    if not 1 <= first <= MAX_PAGE_SIZE:
        raise BadUserInput(f"`first` must be between 1 and {MAX_PAGE_SIZE}")
    return first


@dataclass(frozen=True, slots=True)
class Message:
    """What the sender sent. Immutable, until the sender deletes it: the store then keeps a
    tombstone, `deleted_at` set and the body gone (""), which only the change log shows."""

    id: MessageId
    sender_id: UserId
    recipient_id: UserId
    body: str
    sent_at: datetime
    deleted_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class InboxEntry:
    """A message as it stands in its recipient's inbox: everything but the body, plus read state."""

    id: MessageId
    sender_id: UserId
    recipient_id: UserId
    sent_at: datetime
    read_at: datetime | None = None

    @property
    def is_read(self) -> bool:
        return self.read_at is not None

    @classmethod
    def unread(cls, message: Message) -> InboxEntry:
        return cls(message.id, message.sender_id, message.recipient_id, message.sent_at)


@dataclass(frozen=True, slots=True)
class Page:
    entries: list[InboxEntry]
    has_next_page: bool
    # Whether the page was asked for after a cursor (see `continues_after`): known without a
    # read, so a store leaves it to the service that knows the arguments.
    has_previous_page: bool = False
    # When the first message it shows expires (epoch seconds), None if none can: an answer
    # showing it is not kept past then. Set by the service that knows the retention.
    first_expiry: int | None = None


def continues_after(after: str | None) -> bool:
    """`hasPreviousPage` under forward pagination (Relay allows false when it is not known
    cheaply): true for a page asked for `after` a cursor, whose list went on before it when the
    cursor was handed out; false for a first page. Never a read: whether what came before has
    been deleted or read since is not checked."""
    return after is not None


@dataclass(frozen=True, slots=True)
class UnreadCount:
    """`version` grows with every change of the counter, so a stale value can be recognised."""

    count: int
    version: int


@dataclass(frozen=True, slots=True)
class MarkReadResult:
    entries: list[InboxEntry]
    counter: UnreadCount

    @property
    def unread_count(self) -> int:
        return self.counter.count


@dataclass(frozen=True, slots=True)
class UnreadCountChanged:
    user_id: UserId
    count: int
    version: int


@dataclass(frozen=True, slots=True)
class MessageReceived:
    message: Message


InboxEvent = UnreadCountChanged | MessageReceived


@dataclass(frozen=True, slots=True)
class ReadReceipt:
    """Told to a sender when its messages are read: only ever the sender's own ids. `up_to` is
    the newest id covered, for a horizon whose list of ids was cut at 100."""

    reader_id: UserId
    conversation_id: ConversationId
    message_ids: tuple[MessageId, ...]
    up_to: MessageId
    read_at: datetime


@dataclass(frozen=True, slots=True)
class Typing:
    from_user_id: UserId
    conversation_id: ConversationId
