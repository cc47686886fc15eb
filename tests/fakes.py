"""In-memory fakes of the ports in `services/ports.py`, for fast unit tests.

`FakeMessageStore` has the observable semantics of `DynamoMessageStore` (including its quirks,
which are called out where they matter); the others model SQS and Redis closely enough for the
services' rules to be exercised without I/O. Each fake counts its calls and can be told to fail.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import operator
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from services.app import App
from services.bootstrap import bootstrap
from services.change_log import (
    LOG_RETENTION,
    ChangeBatch,
    ChangePayload,
    Deletion,
    Delivered,
    InboxChange,
    MarkedRead,
    MessageReceivedChange,
    MessagesReadChange,
    MessagesUnreadChange,
)
from services.disabled import NO_METRICS
from services.domain import (
    ConversationId,
    InboxEntry,
    Message,
    MessageId,
    Page,
    UnreadCount,
    UserId,
    utc_now,
)
from services.errors import (
    BadUserInput,
    DependencyUnavailable,
    RateLimited,
    SyncTooOld,
    Unauthenticated,
)
from services.ports import (
    Delivery,
    DeliveryConsumer,
    DeliveryProducer,
    EventHub,
    LiveEvent,
    MessageCache,
    MessageStore,
    Metrics,
    PersistedQueryStore,
    RateLimiter,
    SendRateLimiter,
    TokenVerifier,
    TypingGate,
)
from services.read_state import ConversationPage, ConversationSummary
from services.redis.persisted_queries import document_hash
from services.redis.subscriber_queue import DEFAULT_QUEUE_SIZE, SubscriberQueue
from services.retention import ExpiryStep, Retention
from services.settings import Settings
from tests.fake_deletion import delete_message
from tests.fake_read_marks import FakeReadMarks
from tests.fake_read_marks import millis as _millis
from tests.fake_retention import FakeExpiries
from tests.fake_summaries import FakeSummaries


class FakeStoreError(Exception):
    """What DynamoDB would refuse with a ValidationException."""


def _as_stored(message: Message) -> Message:
    return Message(
        message.id, message.sender_id, message.recipient_id, message.body, _millis(message.sent_at)
    )


def _unique(ids: Sequence[MessageId]) -> None:
    # BatchGetItem refuses duplicate keys, and every read of DynamoMessageStore goes through it.
    if len(set(ids)) != len(ids):
        raise FakeStoreError("Provided list of item keys contains duplicates")


class FakeClock:
    """A settable clock for `InboxService(clock=...)`."""

    def __init__(self, now: datetime | None = None) -> None:
        self.now = now if now is not None else datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> datetime:
        self.now += delta
        return self.now


@dataclass
class _Reservation:
    message: Message
    expires_at: int  # epoch seconds, as stored in the `expiresAt` TTL attribute


class FakeMessageStore:
    """`MessageStore` in memory.

    Failure injection: `fail_next` is popped by `deliver` before it changes anything;
    `fail_after_commit` is popped by `deliver` after the write (a lost response);
    `fail_deliveries_of[id]` makes `deliver` of that message raise (once per listed error);
    `failures[method]` makes any method raise before doing anything.
    `deliver_gate`, when set, holds every `deliver` (after `delivering` is set) until opened.
    """

    def __init__(self) -> None:
        self.messages: dict[MessageId, Message] = {}
        self.entries: dict[UserId, dict[MessageId, InboxEntry]] = {}
        self.counters: dict[UserId, UnreadCount] = {}
        # Each user's change log: version -> (change, when it was written).
        self.logs: dict[UserId, dict[int, tuple[InboxChange, datetime]]] = {}
        self.summaries = FakeSummaries()
        self.expiries = FakeExpiries()
        self.read_marks = FakeReadMarks(
            self.entries, self.summaries, self.commit, items_of=self.expiries.items_of
        )
        self.now: Callable[[], datetime] = utc_now
        self.reservations: dict[tuple[UserId, str], _Reservation] = {}
        self.calls: Counter[str] = Counter()
        self.fail_next: list[Exception] = []
        self.fail_after_commit: list[Exception] = []
        self.fail_deliveries_of: dict[MessageId, list[Exception]] = {}
        self.failures: dict[str, list[Exception]] = {}
        self.deliver_gate: asyncio.Event | None = None
        self.delivering = asyncio.Event()

    def _enter(self, method: str) -> None:
        self.calls[method] += 1
        pending = self.failures.get(method)
        if pending:
            raise pending.pop(0)

    @property
    def retention(self) -> Retention | None:
        return self.expiries.retention

    @retention.setter
    def retention(self, retention: Retention | None) -> None:
        self.expiries.retention = retention

    def _live(self, message_id: MessageId) -> bool:
        # The clock only for a message with an expiry: the API benchmarks list pages from this
        # fake, and what it costs is counted against the API.
        return message_id not in self.expiries.expires_at or self.expiries.live(
            message_id, self.now()
        )

    def _add_to_counter(self, user_id: UserId, delta: int) -> None:
        current = self.counters.get(user_id, UnreadCount(0, 0))
        self.counters[user_id] = UnreadCount(current.count + delta, current.version + 1)

    def commit(self, user_id: UserId, delta: int, payload: ChangePayload) -> InboxChange:
        """A change to the user's inbox: the counter and its logged change, as one step."""
        self._add_to_counter(user_id, delta)
        counter = self.counters[user_id]
        change = InboxChange(counter.version, counter.count, payload)
        self.logs.setdefault(user_id, {})[change.version] = (change, self.now())
        return change

    def bump_version_unlogged(self, user_id: UserId) -> None:
        """A version step without a logged change, as a process that predates the log makes."""
        self._add_to_counter(user_id, 0)

    def inbox_of(self, user_id: UserId) -> dict[MessageId, InboxEntry]:
        return self.entries.setdefault(user_id, {})

    async def deliver(self, message: Message) -> Delivered:
        self._enter("deliver")
        self.delivering.set()
        if self.deliver_gate is not None:
            await self.deliver_gate.wait()
        if self.fail_next:
            raise self.fail_next.pop(0)
        targeted = self.fail_deliveries_of.get(message.id)
        if targeted:
            raise targeted.pop(0)
        inbox = self.inbox_of(message.recipient_id)
        if message.id in inbox:
            return Delivered(None)
        # Accepted by the API first; one that predates `accept` is stored here, as before.
        stored = self.messages.get(message.id) or _as_stored(message)
        if stored.recipient_id != message.recipient_id:
            return Delivered(None)  # the id of another message: nothing to store
        if stored.deleted_at is not None:
            return Delivered(None, deleted=True)
        self.messages[message.id] = stored
        inbox[message.id] = InboxEntry.unread(stored)
        change = self.commit(message.recipient_id, 1, MessageReceivedChange(message.id))
        self.summaries.received(stored, change.version)
        if self.fail_after_commit:
            raise self.fail_after_commit.pop(0)
        return Delivered(change)

    async def accept(self, message: Message) -> None:
        self._enter("accept")
        # The first stays, above all a tombstone (DynamoDB's `attribute_not_exists(pk)`).
        self.messages.setdefault(message.id, _as_stored(message))

    async def delete_message(
        self, sender_id: UserId, message_id: MessageId, at: datetime
    ) -> Deletion:
        self._enter("delete_message")
        return delete_message(self, sender_id, message_id, _millis(at))

    async def touch_sender_summary(self, message: Message) -> None:
        self._enter("touch_sender_summary")
        self.summaries.sent(message)

    async def reserve_client_message_id(
        self, message: Message, client_message_id: str, expires_at: datetime
    ) -> Message:
        self._enter("reserve_client_message_id")
        key = (message.sender_id, client_message_id)
        held = self.reservations.get(key)
        # Same condition as DynamoDB: free if absent or `expiresAt < sentAt` in whole seconds.
        if held is not None and not held.expires_at < int(message.sent_at.timestamp()):
            return held.message
        stored = Message(
            message.id,
            message.sender_id,
            message.recipient_id,
            message.body,
            _millis(message.sent_at),
        )
        self.reservations[key] = _Reservation(stored, int(expires_at.timestamp()))
        return message

    async def get_messages(self, ids: Sequence[MessageId]) -> dict[MessageId, Message]:
        self._enter("get_messages")
        _unique(ids)
        return {i: self.messages[i] for i in ids if i in self.messages and self._live(i)}

    async def get_entries(
        self, user_id: UserId, ids: Sequence[MessageId]
    ) -> dict[MessageId, InboxEntry]:
        self._enter("get_entries")
        _unique(ids)
        inbox = self.entries.get(user_id, {})
        return {i: inbox[i] for i in ids if i in inbox and self._live(i)}

    async def message_parties(self, message_id: MessageId) -> tuple[UserId, UserId] | None:
        self._enter("message_parties")
        message = self.messages.get(message_id)
        if message is None or not self._live(message_id):
            return None
        return message.sender_id, message.recipient_id

    async def list_inbox(
        self, user_id: UserId, *, limit: int, before: MessageId | None, unread_only: bool
    ) -> Page:
        self._enter("list_inbox")
        # The API benchmarks list pages from this fake, and what it costs is counted against
        # the API: the ids sorted in C, then only as many entries looked at as the page takes.
        inbox = self.entries.get(user_id, {})
        found: list[InboxEntry] = []
        for message_id in sorted(inbox, reverse=True):
            entry = inbox[message_id]
            if (before is not None and message_id >= before) or (unread_only and entry.is_read):
                continue
            if self._live(message_id):
                found.append(entry)
                if len(found) > limit:
                    break
        return Page(found[:limit], len(found) > limit)

    async def list_conversation(
        self, user_id: UserId, other_id: UserId, *, limit: int, before: MessageId | None
    ) -> Page:
        self._enter("list_conversation")
        pair = sorted((user_id, other_id))
        return _page(
            (
                entry
                for inbox in self.entries.values()
                for entry in inbox.values()
                if sorted((entry.sender_id, entry.recipient_id)) == pair and self._live(entry.id)
            ),
            limit,
            before,
        )

    async def mark_read(
        self, user_id: UserId, ids: Sequence[MessageId], read_at: datetime
    ) -> MarkedRead:
        self._enter("mark_read")
        _unique(ids)
        marked = self.read_marks.mark_read(user_id, [i for i in ids if self._live(i)], read_at)
        inbox = self.inbox_of(user_id)
        self.expiries.read(inbox[i] for c in marked.changes for i in _flipped(c))
        return marked

    async def mark_unread(
        self, user_id: UserId, ids: Sequence[MessageId], at: datetime
    ) -> MarkedRead:
        self._enter("mark_unread")
        _unique(ids)
        marked = self.read_marks.mark_unread(user_id, [i for i in ids if self._live(i)])
        self.expiries.unread(i for c in marked.changes for i in _flipped(c))
        return marked

    async def mark_conversation_read(
        self, user_id: UserId, other_id: UserId, read_at: datetime, *, list_limit: int
    ) -> MarkedRead:
        self._enter("mark_conversation_read")
        return self.read_marks.mark_conversation_read(
            user_id, other_id, read_at, list_limit=list_limit
        )

    async def mark_all_read(
        self, user_id: UserId, read_at: datetime, *, list_limit: int
    ) -> MarkedRead:
        self._enter("mark_all_read")
        return self.read_marks.mark_all_read(user_id, read_at, list_limit=list_limit)

    async def list_conversations(
        self, user_id: UserId, *, limit: int, before: MessageId | None
    ) -> ConversationPage:
        self._enter("list_conversations")
        if self.retention is None:
            return self.summaries.page(user_id, limit=limit, before=before)
        # Like the adapter: a conversation with nothing live left leaves the list, and the
        # page is filled from further down.
        summaries: list[ConversationSummary] = []
        positions: dict[UserId, MessageId] = {}
        while True:
            raw = self.summaries.page(user_id, limit=limit - len(summaries), before=before)
            page = self.expiries.conversations(user_id, raw, self.entries, self.now())
            summaries += page.summaries
            positions.update(page.positions)
            if len(summaries) >= limit or not raw.has_next_page or not raw.summaries:
                return ConversationPage(summaries, raw.has_next_page, positions)
            before = raw.summaries[-1].last_message_id

    async def expire_read(
        self,
        user_id: UserId,
        *,
        before: MessageId | None,
        limit: int,
        with_user: UserId | None = None,
    ) -> ExpiryStep:
        self._enter("expire_read")
        inbox = self.entries.get(user_id, {})
        if with_user is not None:
            inbox = {i: e for i, e in inbox.items() if e.sender_id == with_user}
        return self.expiries.walk(inbox)

    async def unread_count(self, user_id: UserId) -> UnreadCount:
        self._enter("unread_count")
        return self.counters.get(user_id, UnreadCount(0, 0))

    async def changes(
        self, user_id: UserId, *, since: int, limit: int, now: datetime
    ) -> ChangeBatch:
        self._enter("changes")
        log = self.logs.get(user_id, {})
        after = sorted(version for version in log if version > since)[: limit + 1]
        if not after:
            current = self.counters.get(user_id, UnreadCount(0, 0)).version
            if current < since:
                raise BadUserInput(f"`since` {since} is beyond the current version {current}")
            if current > since:
                raise SyncTooOld(f"the changes after version {since} are no longer kept")
            return ChangeBatch((), since, False)
        expected = range(since + 1, since + 1 + len(after))
        if after != list(expected) or any(
            log[version][1] < now - LOG_RETENTION for version in after
        ):
            raise SyncTooOld(f"the changes after version {since} are no longer kept")
        page = tuple(log[version][0] for version in after[:limit])
        has_more = len(after) > limit
        current = self.counters[user_id].version
        if not has_more and current > page[-1].version and current not in log:
            raise SyncTooOld(f"the changes after version {since} are no longer kept")
        return ChangeBatch(page, page[-1].version, has_more)


def _flipped(change: InboxChange) -> tuple[MessageId, ...]:
    payload = change.payload
    if isinstance(payload, MessagesReadChange | MessagesUnreadChange):
        return payload.message_ids
    return ()


def _page(entries: Iterable[InboxEntry], limit: int, before: MessageId | None) -> Page:
    # A C key, not a lambda: the benchmarks' conversation view lists from here.
    newest_first = sorted(
        (entry for entry in entries if before is None or entry.id < before),
        key=_entry_id,
        reverse=True,
    )
    return Page(newest_first[:limit], len(newest_first) > limit)


_entry_id = operator.attrgetter("id")


@dataclass
class _QueueItem:
    message: Message | None
    receive_count: int = 0
    receipt: str | None = None  # set while in flight


class FakeDeliveryQueue:
    """Both sides of the delivery queue (`DeliveryProducer`, `DeliveryConsumer`) in memory, with
    SQS's receipts, visibility and receive counts.

    `receive` with `wait_seconds > 0` long-polls: it waits (up to that many seconds) until an
    item becomes visible. Received items stay in flight until acknowledged or until
    `expire_in_flight()` (the visibility timeout) makes them visible again. With
    `max_receive_count`, an item received that many times and not acknowledged moves to
    `dead_letters` instead of becoming visible again.
    """

    def __init__(self, *, max_receive_count: int | None = None) -> None:
        self.max_receive_count = max_receive_count
        self.enqueued: list[Message] = []
        self.acknowledged: list[str] = []
        self.dead_letters: list[Message | None] = []
        self.receive_calls = 0
        self.fail_next_enqueue: list[Exception] = []
        self.fail_next_receive: list[Exception] = []
        self._items: dict[int, _QueueItem] = {}
        self._seq = itertools.count()
        self._receipts = itertools.count(1)
        self._changed = asyncio.Event()
        self._polling = asyncio.Event()
        self._acked_event = asyncio.Event()

    def _put(self, message: Message | None) -> None:
        self._items[next(self._seq)] = _QueueItem(message)
        self._changed.set()

    async def enqueue(self, message: Message) -> None:
        if self.fail_next_enqueue:
            raise self.fail_next_enqueue.pop(0)
        self.enqueued.append(message)
        self._put(message)

    def push_undecodable(self) -> None:
        """A queue message whose body cannot be decoded (`Delivery.message` is None)."""
        self._put(None)

    def _visible(self) -> list[_QueueItem]:
        return [item for item in self._items.values() if item.receipt is None]

    async def receive(self, *, max_messages: int, wait_seconds: int) -> list[Delivery]:
        self.receive_calls += 1
        if self.fail_next_receive:
            raise self.fail_next_receive.pop(0)
        if not self._visible() and wait_seconds > 0:
            self._changed.clear()
            self._polling.set()
            try:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), wait_seconds)
            finally:
                self._polling.clear()
        taken: list[Delivery] = []
        for item in self._visible()[:max_messages]:
            item.receive_count += 1
            item.receipt = f"receipt-{next(self._receipts)}"
            taken.append(Delivery(item.receipt, item.message, item.receive_count))
        return taken

    async def acknowledge(self, receipts: Sequence[str]) -> None:
        wanted = set(receipts)
        self.acknowledged.extend(receipts)
        for seq, item in list(self._items.items()):
            if item.receipt is not None and item.receipt in wanted:
                del self._items[seq]
        self._acked_event.set()

    def expire_in_flight(self) -> int:
        """The visibility timeout passes: in-flight items become receivable again (or go to
        the dead-letter list). Returns how many became visible."""
        visible = 0
        for seq, item in list(self._items.items()):
            if item.receipt is None:
                continue
            item.receipt = None
            if self.max_receive_count is not None and item.receive_count >= self.max_receive_count:
                del self._items[seq]
                self.dead_letters.append(item.message)
            else:
                visible += 1
        if visible:
            self._changed.set()
        return visible

    @property
    def redeliveries(self) -> int:
        """Receives beyond the first, over the items still on the queue."""
        return sum(max(0, item.receive_count - 1) for item in self._items.values())

    @property
    def pending(self) -> int:
        """Items not acknowledged (visible or in flight)."""
        return len(self._items)

    @property
    def in_flight(self) -> int:
        return sum(1 for item in self._items.values() if item.receipt is not None)

    async def wait_until_polling(self) -> None:
        """Until some `receive` is blocked in a long poll on an empty queue."""
        await self._polling.wait()

    async def wait_until_acknowledged(self, count: int) -> None:
        """Until at least `count` receipts have been acknowledged in total."""
        while len(self.acknowledged) < count:
            self._acked_event.clear()
            await self._acked_event.wait()


class FakeMessageCache:
    """`MessageCache` in memory; `unavailable = True` makes every call raise like a Redis
    outage does."""

    def __init__(self) -> None:
        # None is a tombstone.
        self.data: dict[MessageId, Message | None] = {}
        self.unavailable = False
        self.calls: Counter[str] = Counter()

    def _enter(self, method: str) -> None:
        self.calls[method] += 1
        if self.unavailable:
            raise DependencyUnavailable("redis: connection refused (fake)")

    async def get_many(self, ids: Sequence[MessageId]) -> dict[MessageId, Message | None]:
        self._enter("get_many")
        return {i: self.data[i] for i in ids if i in self.data}

    async def put_many(self, messages: Iterable[Message]) -> None:
        self._enter("put_many")
        for message in messages:
            self.data.setdefault(message.id, message)

    async def forget(self, ids: Sequence[MessageId]) -> None:
        self._enter("forget")
        for message_id in ids:
            self.data[message_id] = None


class FakeEventHub:
    """`EventHub` (`EventPublisher` and `EventStream`) in memory.

    Subscribers get every event published to their user while subscribed, in order, through
    the very queue `RedisEventHub` gives each subscriber (services/redis/subscriber_queue.py),
    so it bounds and coalesces alike: a newer count replaces an older one still waiting, and a
    queue of `queue_size` that overflows becomes one gap marker (`None`). `inject_gap()` tells
    subscribers events may have been missed, as `RedisEventHub` does after a reconnect.
    `unavailable = True` makes `publish` raise `DependencyUnavailable` (and deliver nothing).
    tests/contract/ holds it to the same behaviour as `RedisEventHub`.
    """

    def __init__(self, *, queue_size: int = DEFAULT_QUEUE_SIZE) -> None:
        self.published: list[tuple[UserId, LiveEvent]] = []
        self.unavailable = False
        self.fail_next_publish: list[Exception] = []
        self._queue_size = queue_size
        self._subscribers: dict[UserId, list[SubscriberQueue]] = {}
        self._subscribed = asyncio.Event()

    async def publish(self, user_id: UserId, event: LiveEvent) -> None:
        if self.fail_next_publish:
            raise self.fail_next_publish.pop(0)
        if self.unavailable:
            raise DependencyUnavailable("redis publish: connection refused (fake)")
        self.published.append((user_id, event))
        for queue in self._subscribers.get(user_id, []):
            queue.offer(event)

    @contextlib.asynccontextmanager
    async def subscribe(
        self, user_id: UserId, *, counts_only: bool = False
    ) -> AsyncIterator[SubscriberQueue]:
        queue = SubscriberQueue(self._queue_size, counts_only=counts_only)
        self._subscribers.setdefault(user_id, []).append(queue)
        self._subscribed.set()
        try:
            yield queue
        finally:
            self._subscribers[user_id].remove(queue)
            if not self._subscribers[user_id]:
                del self._subscribers[user_id]

    def inject_gap(self, user_id: UserId | None = None) -> None:
        """Tell the subscribers of `user_id` (everyone if None) that events may be lost."""
        for user, queues in self._subscribers.items():
            if user_id is None or user == user_id:
                for queue in queues:
                    queue.offer(None)

    def subscriber_count(self, user_id: UserId) -> int:
        return len(self._subscribers.get(user_id, []))

    async def wait_for_subscriber(self, user_id: UserId) -> None:
        while not self.subscriber_count(user_id):
            self._subscribed.clear()
            await self._subscribed.wait()

    def events_for(self, user_id: UserId) -> list[LiveEvent]:
        return [event for user, event in self.published if user == user_id]


class FakeTokenVerifier:
    """`TokenVerifier` in memory: a token is accepted when it was issued here, as the user it
    was issued for; anything else is Unauthenticated, as from a real verifier."""

    def __init__(self) -> None:
        self._users: dict[str, UserId] = {}
        self.prepared: list[str] = []

    def issue(self, user_id: UserId) -> str:
        token = f"fake-token-{len(self._users)}-{user_id}"
        self._users[token] = user_id
        return token

    async def prepare(self, token: str) -> None:
        self.prepared.append(token)

    def verify(self, token: str) -> UserId:
        try:
            return self._users[token]
        except KeyError:
            raise Unauthenticated("invalid token") from None


class FakeSendRateLimiter:
    """`SendRateLimiter` in memory: at most `limit` sends per sender until `reset()`."""

    def __init__(self, limit: int | None = None, *, retry_after_seconds: int = 60) -> None:
        self.limit = limit
        self.retry_after_seconds = retry_after_seconds
        self.sends: Counter[UserId] = Counter()

    async def admit(self, sender_id: UserId) -> None:
        self.sends[sender_id] += 1
        if self.limit is not None and self.sends[sender_id] > self.limit:
            raise RateLimited(
                f"at most {self.limit} messages; retry in {self.retry_after_seconds} s",
                retry_after_seconds=self.retry_after_seconds,
            )

    def reset(self) -> None:
        self.sends.clear()


class FakeRateLimiter:
    """`RateLimiter` in memory: at most `limit` per user until `reset()`; None: no limit."""

    def __init__(self, limit: int | None = None, *, retry_after_seconds: int = 60) -> None:
        self.limit = limit
        self.retry_after_seconds = retry_after_seconds
        self.counts: Counter[UserId] = Counter()

    async def admit(self, user_id: UserId, /) -> None:
        self.counts[user_id] += 1
        if self.limit is not None and self.counts[user_id] > self.limit:
            raise RateLimited(
                f"at most {self.limit}; retry in {self.retry_after_seconds} s",
                retry_after_seconds=self.retry_after_seconds,
            )

    def reset(self) -> None:
        self.counts.clear()


class FakePersistedQueryStore:
    """`PersistedQueryStore` in memory; `unavailable = True` reads as "not found", as the Redis
    store does while Redis is down."""

    def __init__(self) -> None:
        self.documents: dict[str, str] = {}
        self.unavailable = False

    async def get(self, sha256_hash: str) -> str | None:
        query = None if self.unavailable else self.documents.get(sha256_hash)
        # As the Redis store: what is under a hash is served only if it is that hash's document.
        if query is None or document_hash(query) != sha256_hash:
            return None
        return query

    async def put(self, sha256_hash: str, query: str) -> None:
        if not self.unavailable:
            self.documents[sha256_hash] = query


class FakeTypingGate:
    """`TypingGate` in memory: a sender and conversation admitted once per `hold_seconds` of
    `clock` (monotonic seconds); `unavailable = True` raises like a Redis outage."""

    def __init__(
        self, *, hold_seconds: float = 3.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.hold_seconds = hold_seconds
        self.clock = clock
        self.unavailable = False
        self.held_until: dict[tuple[UserId, ConversationId], float] = {}

    async def admit(self, from_user: UserId, conversation: ConversationId) -> bool:
        if self.unavailable:
            raise DependencyUnavailable("redis: connection refused (fake)")
        now = self.clock()
        key = (from_user, conversation)
        if self.held_until.get(key, now) > now:
            return False
        self.held_until[key] = now + self.hold_seconds
        return True


def _fakes_obey_their_ports(
    *,
    store: FakeMessageStore,
    queue: FakeDeliveryQueue,
    cache: FakeMessageCache,
    hub: FakeEventHub,
    tokens: FakeTokenVerifier,
    limiter: FakeSendRateLimiter,
    persisted: FakePersistedQueryStore,
    counter: FakeRateLimiter,
    typing_gate: FakeTypingGate,
) -> None:
    """Never called: mypy checks here that every fake satisfies its Protocol structurally."""
    _store: MessageStore = store
    _producer: DeliveryProducer = queue
    _consumer: DeliveryConsumer = queue
    _cache: MessageCache = cache
    _hub: EventHub = hub
    _tokens: TokenVerifier = tokens
    _limiter: SendRateLimiter = limiter
    _counter: RateLimiter = counter
    _persisted: PersistedQueryStore = persisted
    _typing_gate: TypingGate = typing_gate
    _metrics: Metrics = NO_METRICS


@contextlib.asynccontextmanager
async def in_memory_app(
    settings: Settings,
    *,
    store: MessageStore | None = None,
    queue: FakeDeliveryQueue | None = None,
    cache: MessageCache | None = None,
    hub: EventHub | None = None,
    tokens: TokenVerifier | None = None,
    send_limiter: SendRateLimiter | None = None,
    read_limiter: RateLimiter | None = None,
    registration_quota: RateLimiter | None = None,
    typing_limiter: SendRateLimiter | None = None,
    typing_gate: TypingGate | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> AsyncIterator[App]:
    """The api role through the composition root with every port in memory: what is not given
    is a fresh fake, so nothing is opened, and no limiter reaches for a Redis that isn't there.
    `tokens` not given is built from `settings`, as the server builds it (no I/O for HS256)."""
    queue = queue or FakeDeliveryQueue()
    async with bootstrap(
        settings,
        store=store or FakeMessageStore(),
        producer=queue,
        consumer=queue,
        cache=cache or FakeMessageCache(),
        hub=hub or FakeEventHub(),
        tokens=tokens,
        send_limiter=send_limiter or FakeSendRateLimiter(),
        persisted_queries=FakePersistedQueryStore(),
        read_limiter=read_limiter or FakeRateLimiter(),
        registration_quota=registration_quota or FakeRateLimiter(),
        typing_limiter=typing_limiter or FakeSendRateLimiter(),
        typing_gate=typing_gate or FakeTypingGate(),
        clock=clock,
    ) as app:
        yield app
