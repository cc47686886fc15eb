"""One capacity measurement: `measure(app)` drives every operation through the real services
on metered clients and returns the per-operation figures (the JSON profile)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.capacity_deletion import measure_deletions
from bench.capacity_live import measure_live
from bench.dynamodb_sizing import storage_bytes
from bench.meter import combine, rounded
from bench.metered_services import Metered, metered_services
from bench.online import online
from services.app import App
from services.delivery import BATCH_SIZE, DeliveryWorker
from services.domain import Message, MessageId, UserId, new_message_id
from services.redis.message_cache import KEY_PREFIX

PAGE_SIZE = 20
CHANGES_PAGE_SIZE = 100
MARK_ALL_READ_SIZE = 50
BODY_CHARS = 200
LARGE_BODY_CHARS = 5000
SAMPLE_TEXT = (
    "lunch tomorrow? the deploy went fine, but the dashboard still shows yesterday's numbers "
    "and I think the cache needs a nudge before the demo; can you check the queue depth and "
    "send me the notes from the planning call when you get a minute"
)


def body_text(chars: int, n: int) -> str:
    """`chars` characters of plain text, different for each `n`."""
    words = SAMPLE_TEXT.split(" ")
    text = " ".join(words[(n + i) % len(words)] for i in range(chars))
    return text[:chars].strip().ljust(chars, ".")


async def measure(
    app: App, *, samples: int = 10, dynamodb_local_version: str = "unknown"
) -> dict[str, Any]:
    """Drive every operation through the real services on `app`'s stack and return the
    per-operation figures (the JSON profile). `samples` sends are averaged per send variant."""
    async with metered_services(app) as metered:
        run = _Run(app, metered, samples)
        await run.prepare()
        await run.sends()
        await run.reads()
        await run.read_state()
        await run.sync()
        await measure_live(run.measured, metered, run.tag, samples=samples, reader=run.reader)
        await measure_deletions(run.measured, metered, run.tag)
    return {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "dynamodb_local_version": dynamodb_local_version,
        "method": (
            "bench/capacity.py: real InboxService/DeliveryWorker on DynamoDB Local, moto SQS and "
            "redis-server. DynamoDB units from ReturnConsumedCapacity=INDEXES, except "
            "TransactWriteItems, whose units DynamoDB Local under-reports: those follow AWS's "
            "per-item rule from the items' images (DynamoDB Local's own figure is kept as "
            "reported_by_dynamodb_local). SQS requests counted per API call and as billed "
            "(64 KB chunks). Redis commands counted on the client (pipelines and pub/sub "
            "included); ECPUs estimated as one per command per started KB sent plus received"
        ),
        "parameters": {
            "body_chars": BODY_CHARS,
            "large_body_chars": LARGE_BODY_CHARS,
            "page_size": PAGE_SIZE,
            "worker_batch_size": BATCH_SIZE,
            "samples_per_send_variant": samples,
            "recipients_online_during_sends": True,
        },
        "storage_bytes": storage_bytes(BODY_CHARS),
        "timings_local": run.timings,
        "operations": run.operations,
    }


class _Run:
    """One measurement: users with known inboxes, then each operation in turn."""

    def __init__(self, app: App, metered: Metered, samples: int) -> None:
        tag = uuid.uuid4().hex[:8]
        self.app, self.metered, self.samples, self.tag = app, metered, samples, tag
        self.meter, self.inbox = metered.meter, metered.inbox
        self.sending = metered.sending
        self.reader, self.sender = UserId(f"bench-reader-{tag}"), UserId(f"bench-sender-{tag}")
        self.bulk, self.large = UserId(f"bench-bulk-{tag}"), UserId(f"bench-large-{tag}")
        self.chatty = UserId(f"bench-chatty-{tag}")
        self.lister = UserId(f"bench-lister-{tag}")
        self.operations: dict[str, Any] = {}
        self.timings: dict[str, float] = {}
        self.ids: list[MessageId] = []

    async def measured(self, name: str, per: int, action: Callable[[], Awaitable[Any]]) -> None:
        self.meter.reset()
        await action()
        await asyncio.sleep(0.05)  # let the pub/sub pushes the action caused arrive
        self.operations[name] = self.meter.report(per)

    async def prepare(self) -> None:
        """The reader's inbox: 60 messages from one sender; `bulk` gets exactly 50 unread, and
        so does `chatty`, all in one conversation."""
        start = datetime.now(UTC) - timedelta(hours=1)
        with self.meter.paused():
            for n in range(60):
                await self.app.store.deliver(_message(self.sender, self.reader, start, n))
            for n in range(MARK_ALL_READ_SIZE):
                await self.app.store.deliver(_message(self.sender, self.bulk, start, n))
                await self.app.store.deliver(_message(self.sender, self.chatty, start, n))
            # More conversations than a page: one message from each of as many senders.
            for n in range(PAGE_SIZE + 2):
                other = UserId(f"bench-peer-{n}-{self.tag}")
                await self.app.store.deliver(_message(other, self.lister, start, n))

    async def sends(self) -> None:
        """sendMessage: the API part (validate, enqueue), then the worker part (receive in
        batches, store, count, publish, delete), each per message."""
        async with online(self.inbox, self.reader), online(self.inbox, self.large):
            for name, recipient, chars in (
                ("send", self.reader, BODY_CHARS),
                ("send_5000", self.large, LARGE_BODY_CHARS),
            ):

                async def send_all(to: UserId = recipient, size: int = chars) -> None:
                    for n in range(self.samples):
                        await self.sending.send_message(self.sender, to, body_text(size, n))

                await self.measured(f"{name}_api", self.samples, send_all)
                began = time.perf_counter()
                await self.measured(
                    f"{name}_worker",
                    self.samples,
                    lambda: _drain(self.metered.worker, self.samples),
                )
                self.timings[f"{name}_worker_seconds_per_message"] = round(
                    (time.perf_counter() - began) / self.samples, 4
                )
                self.operations[name] = combine(
                    self.operations[f"{name}_api"], self.operations[f"{name}_worker"]
                )
            await self.concurrent_sends()

        async def send_idempotent() -> None:
            for n in range(self.samples):
                body = body_text(BODY_CHARS, n)
                await self.sending.send_message(self.sender, self.reader, body, f"{self.tag}-{n}")

        await self.measured("send_idempotent_api", self.samples, send_idempotent)
        with self.meter.paused():
            await _drain(self.metered.worker, self.samples)

    async def concurrent_sends(self) -> None:
        """`samples` senders at once, as under load: the queue shares SendMessageBatch calls
        between them (one at a time, each send is a call of its own)."""

        async def send_together() -> None:
            batching = self.metered.batching
            await asyncio.gather(
                *(
                    batching.send_message(self.sender, self.reader, body_text(BODY_CHARS, n))
                    for n in range(self.samples)
                )
            )

        await self.measured("send_concurrent_api", self.samples, send_together)
        await self.measured(
            "send_concurrent_worker",
            self.samples,
            lambda: _drain(self.metered.worker, self.samples),
        )
        self.operations["send_concurrent"] = combine(
            self.operations["send_concurrent_api"], self.operations["send_concurrent_worker"]
        )

    async def reads(self) -> None:
        inbox, reader = self.inbox, self.reader
        with self.meter.paused():
            listed = await inbox.inbox(reader, first=3 * PAGE_SIZE, after=None, unread_only=False)
            self.ids = [entry.id for entry in listed.entries]
            await self.app.clients.redis.delete(*(KEY_PREFIX + i for i in self.ids))

        senders: set[UserId] = set()

        async def page() -> None:
            found = await inbox.inbox(reader, first=PAGE_SIZE, after=None, unread_only=False)
            senders.update(entry.sender_id for entry in found.entries)
            await inbox.load_messages([entry.id for entry in found.entries])

        for name in ("inbox_page_cold", "inbox_page_hot"):
            await self.measured(name, 1, page)
            # Beside the bodies, a page reads its read state: the counter and one summary
            # per sender.
            keys = self.operations[name]["dynamodb"]["batch_get_keys"] - 1 - len(senders)
            self.operations[name]["cache_hit_ratio"] = rounded(1 - keys / PAGE_SIZE)

        async def unread_page() -> None:
            found = await inbox.inbox(reader, first=PAGE_SIZE, after=None, unread_only=True)
            await inbox.load_messages([entry.id for entry in found.entries])

        async def conversation_page() -> None:
            found = await inbox.conversation(reader, self.sender, first=PAGE_SIZE, after=None)
            await inbox.load_messages([entry.id for entry in found.entries])

        async def conversations_page() -> None:
            listed = await self.metered.conversations.conversations(
                self.lister, first=PAGE_SIZE, after=None
            )
            ids = [conversation.last_message_id for conversation in listed.conversations]
            await inbox.load_messages(ids)

        async def conversations_read_states() -> None:
            listed = await self.metered.conversations.conversations(
                self.lister, first=PAGE_SIZE, after=None
            )
            await self.metered.conversations.load_entries(
                [(c.last_recipient_id, c.last_message_id) for c in listed.conversations]
            )

        # The list with its last messages' bodies, cold (bodies from DynamoDB) then hot; and
        # with `lastMessage { isRead }` too, which reads each last message's entry.
        for name in ("conversations_page_cold", "conversations_page_hot"):
            await self.measured(name, 1, conversations_page)
        await self.measured("conversations_page_read_states", 1, conversations_read_states)

        await self.measured("inbox_page_unread_only", 1, unread_page)
        await self.measured("conversation_page", 1, conversation_page)
        await self.measured("message", 1, lambda: inbox.message(reader, self.ids[0]))
        await self.measured("message_cold", 1, lambda: inbox.message(reader, self.ids[-1]))
        # The sender's own lookup, and the two answers to a stranger that must look alike.
        sender, stranger, unknown = self.sender, self.bulk, new_message_id(datetime.now(UTC))
        await self.measured("message_sent", 1, lambda: inbox.message(sender, self.ids[0]))
        await self.measured("message_foreign", 1, lambda: inbox.message(stranger, self.ids[0]))
        await self.measured("message_unknown", 1, lambda: inbox.message(stranger, unknown))
        await self.measured("unread_count", 1, lambda: inbox.unread_count(reader))

    async def read_state(self) -> None:
        """markRead of one unread message and of 20, markUnread of that one again,
        markAllRead of 50 unread, and markConversationRead of a conversation of 50 unread."""
        marks, ids = self.metered.read_marks, self.ids
        await self.measured("mark_read_1", 1, lambda: marks.mark_read(self.reader, ids[:1]))
        batch = ids[1 : 1 + PAGE_SIZE]
        await self.measured("mark_read_20", 1, lambda: marks.mark_read(self.reader, batch))
        await self.measured("mark_unread_1", 1, lambda: marks.mark_unread(self.reader, ids[:1]))
        await self.measured(
            f"mark_all_read_{MARK_ALL_READ_SIZE}", 1, lambda: marks.mark_all_read(self.bulk)
        )
        await self.measured(
            f"mark_conversation_read_{MARK_ALL_READ_SIZE}",
            1,
            lambda: marks.mark_conversation_read(self.chatty, self.sender),
        )

    async def sync(self) -> None:
        """`changes`: a full page of a log of received messages and a markRead of 20 (bodies
        cached, as the pushes of a catching-up client's messages left them), and an empty
        page at the current version, the call of a client that is up to date."""
        sync, syncer = self.metered.sync, UserId(f"bench-sync-{self.tag}")
        with self.meter.paused():
            start = datetime.now(UTC) - timedelta(hours=1)
            sent = [_message(self.sender, syncer, start, n) for n in range(CHANGES_PAGE_SIZE)]
            for message in sent:
                await self.app.store.deliver(message)
            await self.app.store.mark_read(
                syncer, [m.id for m in sent[:PAGE_SIZE]], datetime.now(UTC)
            )
            await self.metered.cache.put_many(sent)
            current = (await self.app.store.unread_count(syncer)).version
        await self.measured(
            "changes_page", 1, lambda: sync.changes(syncer, since=1, first=CHANGES_PAGE_SIZE)
        )
        await self.measured(
            "changes_empty",
            1,
            lambda: sync.changes(syncer, since=current, first=CHANGES_PAGE_SIZE),
        )


async def _drain(worker: DeliveryWorker, expected: int) -> None:
    delivered = 0
    for _ in range(10 * expected):
        delivered += await worker.run_once(wait_seconds=0)
        if delivered >= expected:
            return
    raise RuntimeError(f"only {delivered} of {expected} queued messages came back from SQS")


def _message(sender: UserId, recipient: UserId, start: datetime, n: int) -> Message:
    at = start + timedelta(seconds=n)
    return Message(new_message_id(at), sender, recipient, body_text(BODY_CHARS, n), at)
