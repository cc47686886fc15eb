"""A hot user: one inbox flooded by many senders at once, through the real pipeline (API
process -> SQS -> two worker processes -> DynamoDB Local). Every delivery updates the same
counter item in a transaction, so the deliveries contend on one key; the count must still be
exact. docs/scaling.md explains the partition design and quotes the rates printed here.

DynamoDB Local never cancels a transaction for a conflict (AWS documents that it does not throw
TransactionConflict), while DynamoDB on AWS does whenever two transactions touch the counter at
once. So a second test injects those cancellations in front of DynamoDB Local, to exercise the
store's retries and the SQS redelivery behind them under the same flood."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError

from services.bootstrap import bootstrap
from services.delivery import DeliveryWorker
from services.domain import MessageId, UserId
from services.dynamodb.store import DynamoMessageStore
from services.dynamodb.transactions import TRANSACTION_ATTEMPTS
from services.local.stack import StackEndpoints
from services.ports import MessageStore
from tests.conftest import new_user, stack_endpoints, stack_settings
from tests.e2e.conftest import provision
from tests.e2e.fleet import (
    MARK_ALL_READ,
    Fleet,
    all_entries,
    as_user,
    clients,
    counts_seen,
    increasing,
    queue_depth,
    send,
    subscribed,
)
from tests.polling import eventually

MESSAGES = 1000
SENDERS = 50
IN_FLIGHT = 32  # sends outstanding at once
WORKER_PROCESSES = 2
WORKER_CONCURRENCY = 4  # delivery loops per worker process
# A failure bound, not the expected time: about 20 s on a quiet 2-core machine.
FLOOD_DEADLINE = 120.0


@pytest.fixture(scope="module")
def flood_fleet(stack: StackEndpoints, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    # A short visibility timeout: a delivery that keeps conflicting is retried by SQS within
    # the test's time instead of after the default 30 s.
    settings = stack_settings(stack, f"hot-{uuid.uuid4().hex[:8]}", visibility_timeout_seconds=5)
    provision(stack, settings)
    fleet = Fleet(
        stack,
        settings,
        tmp_path_factory.mktemp("hot-user"),
        env_overrides={"INBOXQL_WORKER_CONCURRENCY": str(WORKER_CONCURRENCY)},
    )
    try:
        fleet.start({"api": True} | {f"worker{n}": False for n in range(WORKER_PROCESSES)})
        yield fleet
    finally:
        fleet.stop_all()


async def test_a_flooded_inbox_counts_exactly(flood_fleet: Fleet) -> None:
    fleet = flood_fleet
    celebrity = new_user("celebrity")
    senders = [new_user(f"fan{n}") for n in range(SENDERS)]
    limits = httpx.Limits(max_connections=IN_FLIGHT, max_keepalive_connections=IN_FLIGHT)
    async with (
        clients(fleet) as http,
        httpx.AsyncClient(base_url=fleet.nodes["api"].url, timeout=30, limits=limits) as pool,
        subscribed(fleet.nodes["api"], fleet.token(celebrity)) as subs,
    ):
        await subs.subscribe("badge", "subscription { unreadCount }")
        await subs.until(lambda: bool(subs.received["badge"]), "the first count")
        fans = [as_user(fleet, pool, sender) for sender in senders]
        gate = asyncio.Semaphore(IN_FLIGHT)

        async def one(n: int) -> str:
            async with gate:
                message = await send(fans[n % SENDERS], celebrity, f"flood {n}")
                return str(message["id"])

        # Pushes are read while the flood goes in: the time the count reaches the total is
        # when delivery finished.
        watching = asyncio.create_task(
            subs.until(
                lambda: counts_seen(subs, "badge")[-1] == MESSAGES,
                "the full count",
                within=FLOOD_DEADLINE,
            )
        )
        started = time.monotonic()
        try:
            ids = await asyncio.gather(*(one(n) for n in range(MESSAGES)))
        except httpx.TransportError as error:
            # A dropped connection is the API process's doing: show what became of it.
            api = fleet.nodes["api"]
            raise AssertionError(
                f"the API dropped a send ({error!r}); its exit code: {api.process.poll()}; "
                f"the end of its log:\n{api.log_text()[-6000:]}"
            ) from error
        sent_in = time.monotonic() - started
        await watching
        delivered_in = time.monotonic() - started

        print(
            f"\nflood into one inbox: {MESSAGES} messages from {SENDERS} senders, "
            f"{IN_FLIGHT} in flight; {WORKER_PROCESSES} worker processes x {WORKER_CONCURRENCY}"
            f"\n  accepted in {sent_in:.1f} s ({MESSAGES / sent_in:.0f} sends/s)"
            f"\n  delivered in {delivered_in:.1f} s from the first send "
            f"({MESSAGES / delivered_in:.0f} deliveries/s)"
        )

        accepted = set(ids)
        assert len(accepted) == MESSAGES, "a message id was handed out twice"
        seen = counts_seen(subs, "badge")
        assert increasing(seen), "a stale count was pushed"

        celebrity_client = as_user(fleet, http["api"], celebrity)
        assert await celebrity_client.unread_count() == MESSAGES
        unread = [entry["id"] for entry in await all_entries(celebrity_client, unread_only=True)]
        inbox = [entry["id"] for entry in await all_entries(celebrity_client, unread_only=False)]
        # No duplicates, no losses, nothing else: the count, the unread index and the inbox all
        # hold exactly the accepted messages.
        assert len(unread) == len(set(unread)) == MESSAGES
        assert len(inbox) == len(set(inbox)) == MESSAGES
        assert set(unread) == set(inbox) == accepted

        # The queue is left empty and nothing went to the dead-letter queue.
        settings = fleet.settings

        async def queue_empty() -> bool:
            return await queue_depth(fleet.stack, settings, settings.queue_name) == (0, 0)

        await eventually(queue_empty, "deliveries to be acknowledged", timeout=20)
        assert await queue_depth(fleet.stack, settings, settings.dead_letter_queue_name) == (0, 0)

        retries = sum(
            node.log_text().count("will retry")
            for name, node in fleet.nodes.items()
            if name.startswith("worker")
        )
        print(f"  deliveries that failed and were left to SQS to retry (worker logs): {retries}")

        marked = await celebrity_client.data(MARK_ALL_READ)
        assert marked["markAllRead"]["unreadCount"] == 0
        assert await celebrity_client.unread_count() == 0
        assert await all_entries(celebrity_client, unread_only=True) == []
        await subs.until(lambda: counts_seen(subs, "badge")[-1] == 0, "the live count back at 0")


class ConflictingDynamoDB:
    """The DynamoDB client, except that a transaction is cancelled for a TransactionConflict on
    the counter item (its last item) with probability `rate`, as DynamoDB on AWS does when
    another transaction holds that item. The first `forced` deliveries seen are cancelled on
    every attempt of their first receive, so that they go back to SQS for redelivery."""

    def __init__(self, client: Any, *, rate: float, forced: int, seed: int = 5) -> None:
        self._client = client
        self._rate = rate
        self._forced = forced
        self._random = random.Random(seed)
        self.attempts: dict[str, int] = {}
        self.forced_ids: set[str] = set()
        self.injected = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    async def transact_write_items(self, **request: Any) -> Any:
        items = request["TransactItems"]
        # A delivery's first item is its message's row: checked, or put by an older API's.
        first = items[0].get("ConditionCheck", {}).get("Key") or items[0].get("Put", {}).get(
            "Item", {}
        )
        pk = first.get("pk", {}).get("S", "")
        is_message = first.get("sk", {}).get("S") == "MSG" and pk.startswith("MSG#")
        message_id = pk.removeprefix("MSG#") if is_message else None
        if message_id is not None:
            self.attempts[message_id] = self.attempts.get(message_id, 0) + 1
            if self.attempts[message_id] == 1 and len(self.forced_ids) < self._forced:
                self.forced_ids.add(message_id)
        forced = message_id in self.forced_ids and self.attempts[message_id] <= TRANSACTION_ATTEMPTS
        if forced or self._random.random() < self._rate:
            self.injected += 1
            reasons = [{"Code": "None"}] * (len(items) - 1) + [
                {"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}
            ]
            response: Any = {
                "Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
                "CancellationReasons": reasons,
            }
            raise ClientError(response, "TransactWriteItems")
        return await self._client.transact_write_items(**request)


async def all_ids(store: MessageStore, user: UserId, *, unread_only: bool) -> list[MessageId]:
    ids: list[MessageId] = []
    before: MessageId | None = None
    while True:
        page = await store.list_inbox(user, limit=100, before=before, unread_only=unread_only)
        ids += [entry.id for entry in page.entries]
        if not page.has_next_page:
            return ids
        before = ids[-1]


async def test_a_flood_with_conflicting_transactions_still_counts_exactly(
    stack: StackEndpoints, caplog: pytest.LogCaptureFixture
) -> None:
    tag = uuid.uuid4().hex[:8]
    settings = stack_settings(
        stack,
        f"conflict-{tag}",
        # Short, so that the deliveries sent back to SQS come again within the test.
        visibility_timeout_seconds=4,
        max_receive_count=10,
    )
    celebrity = UserId(new_user("celebrity"))
    async with bootstrap(settings, stack_endpoints(stack), workers=0, provision=True) as app:
        conflicting = ConflictingDynamoDB(app.clients.dynamodb, rate=0.3, forced=5)
        store = DynamoMessageStore(conflicting, settings.table_name)
        marks = dataclasses.replace(app.read_marks, store=store)
        stop = asyncio.Event()
        workers = [
            asyncio.create_task(
                DeliveryWorker(app.consumer, store, app.hub, wait_seconds=1).run(stop)
            )
            for _ in range(4)
        ]
        gate = asyncio.Semaphore(16)

        async def one(n: int) -> str:
            async with gate:
                message = await app.sending.send_message(UserId(f"fan{n % 30}"), celebrity, f"m{n}")
                return message.id

        marked: set[MessageId] = set()

        async def keep_marking_all_read(until: asyncio.Future[list[str]]) -> None:
            # markAllRead over and over while the flood goes in: decrements contend for the
            # counter with the increments, through the same conflicting store.
            # Deliveries can lag behind the sends: go on until one markAllRead found some.
            deadline = time.monotonic() + 30
            while not until.done() or (not marked and time.monotonic() < deadline):
                result = await marks.mark_all_read(celebrity)
                marked.update(entry.id for entry in result.entries)

        with caplog.at_level(logging.WARNING, logger="inboxql.delivery"):
            try:
                sending = asyncio.gather(*(one(n) for n in range(300)))
                await keep_marking_all_read(sending)
                sent = set(await sending)

                async def all_delivered() -> bool:
                    ids = await all_ids(app.store, celebrity, unread_only=False)
                    return len(ids) >= len(sent)

                await eventually(
                    all_delivered, "the flood to be fully delivered", timeout=60, interval=0.1
                )
            finally:
                stop.set()
                await asyncio.gather(*workers)

        print(
            f"\ninjected {conflicting.injected} transaction conflicts into "
            f"{sum(conflicting.attempts.values())} delivery attempts of {len(sent)} messages; "
            f"{len(marked)} marked read by markAllRead while they came in"
        )
        assert len(sent) == 300
        assert marked, "markAllRead never overlapped the deliveries"
        assert conflicting.injected > len(sent) * 0.1
        # The forced ones really went back to SQS, and came again.
        assert len(conflicting.forced_ids) == 5
        assert all(conflicting.attempts[i] > TRANSACTION_ATTEMPTS for i in conflicting.forced_ids)
        assert "kept conflicting" in caplog.text

        inbox_ids = await all_ids(app.store, celebrity, unread_only=False)
        unread_ids = await all_ids(app.store, celebrity, unread_only=True)
        assert len(inbox_ids) == len(set(inbox_ids)) == 300
        assert set(inbox_ids) == sent
        # markAllRead answers with at most the 100 newest it flipped, so `marked` may be short
        # of what it read; all it named is read, and the count is the unread entries, exactly.
        assert marked <= sent - set(unread_ids)
        count = await app.store.unread_count(celebrity)
        assert count.count == len(unread_ids)

        assert (await marks.mark_all_read(celebrity)).unread_count == 0
        assert await all_ids(app.store, celebrity, unread_only=True) == []
