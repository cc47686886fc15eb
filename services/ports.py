"""Every interface the services need from the outside world, in one place. Adapters implement
them against DynamoDB, SQS, Redis and JWT/JWKS; `services/disabled.py` holds the ones for a
feature switched off; `tests/fakes.py` implements them all in memory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from services.change_log import ChangeBatch, Deletion, Delivered, LiveChange, MarkedRead
from services.domain import (
    ConversationId,
    InboxEntry,
    InboxEvent,
    Message,
    MessageId,
    Page,
    ReadReceipt,
    Typing,
    UnreadCount,
    UserId,
)
from services.read_state import ConversationPage
from services.retention import ExpiryStep


class MessageStore(Protocol):
    """Under retention (services/retention.py) a read message expires: every read here leaves
    out an entry or message past its `expiresAt`, though TTL may not have deleted it yet, and
    the marks treat it as unknown."""

    async def accept(self, message: Message) -> None:
        """Store the message itself, before it is queued: the record a deletion of a message
        still queued tombstones. Again for the same message changes nothing (a send retried
        with its clientMessageId), also once it is deleted."""

    async def deliver(self, message: Message) -> Delivered:
        """Store the message's inbox entry, +1 unread and the recipient's next version with
        its logged change, and +1 unread in the recipient's summary of the conversation, all
        or nothing. No change if it was delivered before, or if its sender deleted it
        (`Delivered.deleted`). A message accepted by an API that predates `accept` is stored
        here as well."""

    async def delete_message(
        self, sender_id: UserId, message_id: MessageId, at: datetime
    ) -> Deletion:
        """The sender's deletion: the message becomes a tombstone (no body, `deleted_at`);
        if it was delivered, its entry goes, the recipient's counts drop if it was unread,
        the recipient's next version logs it (and its received change gains `deleted_at`),
        and both summaries fall back to the conversation's previous message (or leave the
        list). Not deleted, with the same calls, for an unknown id, someone else's message
        and a second call."""

    async def touch_sender_summary(self, message: Message) -> None:
        """Make a delivered message the newest of its sender's summary of the conversation,
        unless a newer one is: after `deliver`, and again after a redelivery (it holds no
        count, so it is outside the transaction, and repeating it changes nothing)."""

    async def reserve_client_message_id(
        self, message: Message, client_message_id: str, expires_at: datetime
    ) -> Message:
        """Claim the sender's `client_message_id` for `message`; return the message that
        holds it (the given one, or the one that claimed it first)."""

    async def get_messages(self, ids: Sequence[MessageId]) -> dict[MessageId, Message]: ...

    async def get_entries(
        self, user_id: UserId, ids: Sequence[MessageId]
    ) -> dict[MessageId, InboxEntry]: ...

    async def message_parties(self, message_id: MessageId) -> tuple[UserId, UserId] | None:
        """The (sender, recipient) of a stored message, read without its body; None when there
        is no such message."""

    async def list_inbox(
        self, user_id: UserId, *, limit: int, before: MessageId | None, unread_only: bool
    ) -> Page: ...

    async def list_conversation(
        self, user_id: UserId, other_id: UserId, *, limit: int, before: MessageId | None
    ) -> Page: ...

    async def list_conversations(
        self, user_id: UserId, *, limit: int, before: MessageId | None
    ) -> ConversationPage:
        """The user's conversations whose newest message is older than `before`, newest
        first, each at most once."""

    async def mark_read(
        self, user_id: UserId, ids: Sequence[MessageId], read_at: datetime
    ) -> MarkedRead:
        """Mark the user's own messages among `ids` read, each with -1 unread exactly once
        (in the counter and in its conversation's summary), and log each transaction's flips
        as one change."""

    async def mark_unread(
        self, user_id: UserId, ids: Sequence[MessageId], at: datetime
    ) -> MarkedRead:
        """The user's own read messages among `ids` become unread: +1 each, exactly once, in the
        counter and in its conversation's summary; one logged `MessagesUnreadChange` of the ids
        flipped per transaction (none when nothing was read). `entries`: the user's messages
        among `ids` in the order asked, all unread now; other ids (unknown, someone else's)
        are left out."""

    async def mark_conversation_read(
        self, user_id: UserId, other_id: UserId, read_at: datetime, *, list_limit: int
    ) -> MarkedRead:
        """Everything the user received from `other_id` so far becomes read, in writes that do
        not grow with their number; one logged `MessagesReadChange(all_before=read_at,
        with_user_id=other_id)`, none when nothing was unread (the version does not move).
        `entries`: at most `list_limit` of the newest messages it flipped, newest first, each
        read now. A note to self is `other_id == user_id`."""

    async def mark_all_read(
        self, user_id: UserId, read_at: datetime, *, list_limit: int
    ) -> MarkedRead:
        """The same for the whole inbox: one `MessagesReadChange(all_before=read_at)`; a
        message delivered after the call stays unread even if it was sent before it."""

    async def expire_read(
        self,
        user_id: UserId,
        *,
        before: MessageId | None,
        limit: int,
        with_user: UserId | None = None,
    ) -> ExpiryStep:
        """Under retention, one bounded step of the walk after a horizon: up to `limit` of the
        user's messages read without a write of their own (by markAllRead or
        markConversationRead) get their expiry, newest first from below `before` (None: the
        newest); only the conversation with `with_user`, when given. Unread messages are
        passed over. Without retention, nothing to do."""

    async def unread_count(self, user_id: UserId) -> UnreadCount: ...

    async def changes(
        self, user_id: UserId, *, since: int, limit: int, now: datetime
    ) -> ChangeBatch:
        """Up to `limit` logged changes after version `since`, oldest first and contiguous.
        SyncTooOld when one of them is no longer kept (older than the retention at `now`, or
        never logged); BadUserInput when `since` is beyond the current version."""


@dataclass(frozen=True, slots=True)
class Delivery:
    """One received queue message. `message` is None when the payload cannot be decoded;
    `request_id` is the one it was sent under, when the payload carries one; `trace` the trace
    context it was sent with, when a traced consumer read one (services/sqs/trace_context.py)."""

    receipt: str
    message: Message | None
    receive_count: int
    request_id: str | None = None
    trace: Mapping[str, str] | None = None


class DeliveryProducer(Protocol):
    """The API's side of the delivery queue."""

    async def enqueue(self, message: Message) -> None:
        """Returns once the queue has accepted the message: from then on it is never lost."""


class DeliveryConsumer(Protocol):
    """The long-polling worker's side. A Lambda worker has none: its event source mapping
    receives and deletes."""

    async def receive(self, *, max_messages: int, wait_seconds: int) -> list[Delivery]: ...

    async def acknowledge(self, receipts: Sequence[str]) -> None: ...


class MessageCache(Protocol):
    """Bodies never change, but a message can be deleted: `forget` leaves a tombstone that no
    later `put_many` overwrites (a reader that loaded the body before the deletion), so no
    process serves the body again while the cache holds it."""

    async def get_many(self, ids: Sequence[MessageId]) -> dict[MessageId, Message | None]:
        """The cached ids; None for a tombstone (deleted: do not read the store for it)."""

    async def put_many(self, messages: Iterable[Message]) -> None:
        """Only where nothing is cached yet: never over a tombstone."""

    async def forget(self, ids: Sequence[MessageId]) -> None:
        """Tombstones for deleted messages, kept as long as a body would be."""


# Everything published on a user's channel: the legacy count and message events (still read,
# from workers that predate the change log), a logged change, a read receipt, typing.
LiveEvent = InboxEvent | LiveChange | ReadReceipt | Typing


class EventPublisher(Protocol):
    async def publish(self, user_id: UserId, event: LiveEvent) -> None: ...


# None in the stream means "events may have been missed": re-read the truth.
EventStreamItem = LiveEvent | None


class EventStream(Protocol):
    def subscribe(
        self, user_id: UserId, *, counts_only: bool = False
    ) -> AbstractAsyncContextManager[AsyncIterator[EventStreamItem]]:
        """Everything published for the user while subscribed, in order. `counts_only`: only
        the newest count waits (every change carries one), for subscribers of counts alone."""


class EventHub(EventPublisher, EventStream, Protocol):
    """Both sides of the live events, as one process holds them."""


class TokenVerifier(Protocol):
    async def prepare(self, token: str) -> None:
        """Whatever `verify` needs fetched first (a signing key); never raises."""

    def verify(self, token: str) -> UserId:
        """The caller's user id; Unauthenticated if the token is not good."""


class SendRateLimiter(Protocol):
    async def admit(self, sender_id: UserId) -> None:
        """Count one send by `sender_id`; raise RateLimited when over the limit."""


class TypingGate(Protocol):
    """One typing push per sender and conversation per hold period, across every process."""

    async def admit(self, from_user: UserId, conversation: ConversationId) -> bool:
        """True for the first call of a hold period (the caller pushes), False while one is
        held; DependencyUnavailable when the gate cannot be asked."""


class RateLimiter(Protocol):
    """A count per user in a window: the read limit, the persisted-query registration quota."""

    async def admit(self, user_id: UserId, /) -> None:
        """Count one for `user_id`; raise RateLimited when over the limit."""


class PersistedQueryStore(Protocol):
    async def get(self, sha256_hash: str) -> str | None:
        """The document registered under this hash, or None (unknown, expired, unavailable)."""

    async def put(self, sha256_hash: str, query: str) -> None:
        """Register `query` under its hash; best effort."""


DeliveryOutcome = Literal["delivered", "duplicate", "deleted", "failed", "undecodable"]
DeliveryStage = Literal["persisted", "published"]
# How deliveries were written (services/dynamodb/deliveries.py): alone (a delivery that
# started by itself), or a round of several that DynamoDB committed or cancelled.
RoundOutcome = Literal["alone", "committed", "cancelled"]
QueueName = Literal["delivery", "dead_letter"]


class Metrics(Protocol):
    """What InboxQL measures, as calls. Every label takes values from a small fixed set: a
    label fed by clients would grow without bound."""

    def operation_finished(
        self, operation: str, operation_type: str, outcome: str, seconds: float | None
    ) -> None:
        """One GraphQL operation (or a request refused before one): `outcome` is "ok" or an
        error code. `seconds` is None when a duration says nothing (subscriptions)."""

    def subscription_started(self, field: str) -> None: ...

    def subscription_ended(self, field: str) -> None: ...

    def delivery_attempted(self, outcome: DeliveryOutcome) -> None: ...

    def message_delivered(self, stage: DeliveryStage, seconds_since_sent: float) -> None: ...

    def deliveries_written(self, outcome: RoundOutcome, deliveries: int) -> None:
        """One write of deliveries: alone, or a round of `deliveries` committed or cancelled
        (a cancelled round's deliveries are then written alone, and counted again)."""

    def cache_looked_up(self, *, hits: int, misses: int) -> None: ...

    def response_cache_looked_up(self, *, hit: bool) -> None: ...

    def queue_measured(self, queue: QueueName, *, visible: float, in_flight: float) -> None:
        """NaN for a queue that could not be read: an old number would look current."""
