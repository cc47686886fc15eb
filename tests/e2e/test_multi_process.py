"""Scale-out: several processes sharing one stack. Two API processes (A and B, `--no-worker`)
and a separate delivery worker (`server.py worker`) on their own table and queues: a
subscription held on A hears what was sent through B and stored by the worker, counts stay
exact across processes, and stopping any one process loses nothing."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest

from services.local.stack import StackEndpoints
from tests.conftest import new_user
from tests.e2e.fleet import (
    MARK_ALL_READ,
    MARK_READ,
    SEND,
    STOP_TIMEOUT,
    Fleet,
    all_entries,
    as_user,
    clients,
    counts_reach,
    counts_seen,
    eventually,
    increasing,
    queue_depth,
    running_fleet,
    send,
    subscribed,
)


@pytest.fixture(scope="module")
def fleet(stack: StackEndpoints, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    """API A and API B without workers, and one separate worker process, on their own table
    and queues (so that no other test's worker takes their messages)."""
    roles = {"A": True, "B": True, "worker": False}
    with running_fleet(stack, tmp_path_factory.mktemp("multi-process"), "mp", roles) as fleet:
        yield fleet


# --- tests -------------------------------------------------------------------------------------


async def test_subscription_on_a_hears_sends_through_b_stored_by_the_worker(fleet: Fleet) -> None:
    alice = new_user("alice")
    senders = [new_user(f"sender{n}") for n in range(3)]
    async with clients(fleet) as http, subscribed(fleet.nodes["A"], fleet.token(alice)) as subs:
        await subs.subscribe("inbox", "subscription { messageReceived { id senderId body } }")
        # messageReceived is live once a count subscription on the same socket has answered.
        await subs.subscribe("badge", "subscription { unreadCount }")
        await subs.until(lambda: bool(subs.received["badge"]), "the first count")
        assert counts_seen(subs, "badge") == [0]

        through_b = [as_user(fleet, http["B"], sender) for sender in senders]
        sent = await asyncio.gather(
            *(send(through_b[n % 3], alice, f"via B {n}") for n in range(30))
        )
        await subs.until(
            lambda: counts_seen(subs, "badge")[-1] == 30 and len(subs.received["inbox"]) >= 30,
            "30 deliveries pushed on A",
        )
        seen = counts_seen(subs, "badge")
        assert seen[0] == 0 and seen[-1] == 30
        assert increasing(seen), f"not monotonic: {seen}"
        pushed = [data["messageReceived"] for data in subs.received["inbox"]]
        assert sorted(pushed, key=lambda m: m["id"]) == sorted(
            ({"id": m["id"], "senderId": m["senderId"], "body": m["body"]} for m in sent),
            key=lambda m: m["id"],
        )
        # Both processes read the same truth.
        for role in ("A", "B"):
            assert await as_user(fleet, http[role], alice).unread_count() == 30

        # The worker process has metrics of its own: what it delivered, and the queues.
        worker = fleet.nodes["worker"]
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{worker.metrics_port}") as scrape:
            page = (await scrape.get("/metrics")).text
        samples = dict(
            line.rsplit(" ", 1) for line in page.splitlines() if line and not line.startswith("#")
        )
        assert float(samples['inboxql_delivery_attempts_total{outcome="delivered"}']) >= 30
        assert 'inboxql_queue_messages{queue="dead_letter",state="visible"}' in samples


async def test_concurrent_sends_and_reads_across_processes_stay_exact(fleet: Fleet) -> None:
    alice = new_user("alice")
    senders = [new_user(f"sender{n}") for n in range(5)]
    async with clients(fleet) as http:
        via = {role: [as_user(fleet, http[role], s) for s in senders] for role in ("A", "B")}
        alice_on = {role: as_user(fleet, http[role], alice) for role in ("A", "B")}

        async def send_through(role: str, n: int) -> tuple[str, str]:
            return role, (await send(via[role][n % 5], alice, f"{role} {n}"))["id"]

        sent = await asyncio.gather(*(send_through("AB"[n % 2], n) for n in range(100)))
        ids = {role: [i for r, i in sent if r == role] for role in ("A", "B")}
        assert len(set(ids["A"]) | set(ids["B"])) == 100
        await counts_reach(100, alice_on["A"], alice_on["B"])

        # Messages sent through A are marked read through B and the other way round, at the
        # same time, with five ids marked through both.
        marked_via_b = ids["A"][:25]
        marked_via_a = ids["B"][:25] + ids["A"][20:25]
        await asyncio.gather(
            alice_on["B"].data(MARK_READ, {"ids": marked_via_b}),
            alice_on["A"].data(MARK_READ, {"ids": marked_via_a}),
        )
        read = set(marked_via_b) | set(marked_via_a)
        assert len(read) == 50
        unread = await all_entries(alice_on["A"], unread_only=True)
        assert {entry["id"] for entry in unread} == {i for _, i in sent} - read
        for role in ("A", "B"):
            assert await alice_on[role].unread_count() == len(unread) == 50

        # markAllRead through B while twenty more are sent through A and delivered.
        late, _ = await asyncio.gather(
            asyncio.gather(*(send_through("A", n) for n in range(100, 120))),
            alice_on["B"].data(MARK_ALL_READ),
        )
        everything = {i for _, i in sent} | {i for _, i in late}

        async def all_delivered() -> bool:
            return {e["id"] for e in await all_entries(alice_on["A"], unread_only=False)} == (
                everything
            )

        await eventually(all_delivered, "all 120 messages in the inbox")
        unread = await all_entries(alice_on["B"], unread_only=True)
        assert {entry["id"] for entry in unread} <= {i for _, i in late}
        counts = [await alice_on[role].unread_count() for role in ("A", "B")]
        assert counts == [len(unread), len(unread)]

        assert (await alice_on["A"].data(MARK_ALL_READ))["markAllRead"]["unreadCount"] == 0
        assert [await alice_on[role].unread_count() for role in ("A", "B")] == [0, 0]
        assert await all_entries(alice_on["B"], unread_only=True) == []


async def test_a_stopped_worker_leaves_nothing_behind_and_a_new_one_delivers_the_rest(
    fleet: Fleet,
) -> None:
    alice = new_user("alice")
    senders = [new_user(f"sender{n}") for n in range(4)]
    queue = fleet.settings.queue_name
    async with clients(fleet) as http, subscribed(fleet.nodes["A"], fleet.token(alice)) as subs:
        await subs.subscribe("badge", "subscription { unreadCount }")
        await subs.until(lambda: bool(subs.received["badge"]), "the first count")
        via = [as_user(fleet, http["AB"[n % 2]], s) for n, s in enumerate(senders)]
        reader = as_user(fleet, http["B"], alice)

        # A burst, and the worker stopped while it is delivering it.
        first = await asyncio.gather(*(send(via[n % 4], alice, f"one {n}") for n in range(120)))

        async def delivering() -> bool:
            return await reader.unread_count() > 0

        await eventually(delivering, "the worker to start delivering")
        worker = fleet.nodes["worker"]
        assert await asyncio.to_thread(fleet.stop, worker) == 0, worker.log_text()
        visible, in_flight = await queue_depth(fleet.stack, fleet.settings, queue)
        # Nothing hidden in flight by the stopped worker, nothing lost: each message is either
        # delivered or still waiting on the queue.
        assert in_flight == 0
        delivered = await reader.unread_count()
        assert delivered + visible == 120, (delivered, visible)

        # With no worker at all, new messages wait on the queue and the count stays put.
        second = await asyncio.gather(*(send(via[n % 4], alice, f"two {n}") for n in range(80)))
        assert await queue_depth(fleet.stack, fleet.settings, queue) == (visible + 80, 0)
        assert await reader.unread_count() == delivered

        # A new worker delivers everything queued, exactly once.
        await asyncio.to_thread(fleet.start, {"worker": False})
        await counts_reach(200, reader, as_user(fleet, http["A"], alice))

        async def queue_empty() -> bool:
            return await queue_depth(fleet.stack, fleet.settings, queue) == (0, 0)

        await eventually(queue_empty, "the new worker to acknowledge everything")
        entries = await all_entries(reader, unread_only=True)
        assert len(entries) == 200
        assert {e["id"] for e in entries} == {m["id"] for m in [*first, *second]}
        assert await reader.unread_count() == 200
        dead = await queue_depth(fleet.stack, fleet.settings, fleet.settings.dead_letter_queue_name)
        assert dead == (0, 0)

        # The live count on A went up through the restart, never down, and ended exact.
        await subs.until(lambda: counts_seen(subs, "badge")[-1] == 200, "the live count at 200")
        seen = counts_seen(subs, "badge")
        assert increasing(seen), f"not monotonic: {seen}"


@dataclass
class TrafficThroughAStoppingB:
    """Senders through A and through B at once; B gets SIGTERM once traffic has built up.
    Records every send that got an id back, and how each stream through B ended."""

    fleet: Fleet = field(repr=False)
    http: dict[str, httpx.AsyncClient] = field(repr=False)
    recipient: str
    accepted: dict[str, str] = field(default_factory=dict)  # id -> body
    refused: list[str] = field(default_factory=list)  # how each stream through B ended
    straddling: int = 0  # sends through B started before SIGTERM that succeeded after it
    terminated_at: float | None = None
    b_gone: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self, streams_per_process: int = 2) -> None:
        senders = [new_user(f"sender{n}") for n in range(2 * streams_per_process)]
        await asyncio.gather(
            *(self.through_a(s) for s in senders[:streams_per_process]),
            *(self.through_b(s) for s in senders[streams_per_process:]),
            self.terminate_b_midway(),
        )

    async def through_b(self, sender: str) -> None:
        client = as_user(self.fleet, self.http["B"], sender)
        for n in range(10_000):
            body = f"B {sender} {n}"
            started = time.monotonic()
            variables = {"input": {"recipientId": self.recipient, "body": body}}
            try:
                response = await client.http.post(
                    "/graphql",
                    json={"query": SEND, "variables": variables},
                    headers={"Authorization": f"Bearer {client.token}"},
                )
            except httpx.TransportError as error:
                assert self.terminated_at is not None, f"B failed before SIGTERM: {error!r}"
                self.refused.append(type(error).__name__)
                return
            result = response.json() if response.status_code == 200 else {}
            message = (result.get("data") or {}).get("sendMessage")
            if not message:
                self.refused.append(f"HTTP {response.status_code}: {response.text[:200]}")
                return
            self.accepted[message["id"]] = body
            if self.terminated_at is not None and started < self.terminated_at:
                self.straddling += 1
        raise AssertionError("B kept answering after SIGTERM")

    async def through_a(self, sender: str) -> None:
        """Sends all along, and ten more once B is gone: every one must succeed."""
        client = as_user(self.fleet, self.http["A"], sender)
        n = after_b = 0
        while after_b < 10:
            message = await send(client, self.recipient, f"A {sender} {n}")
            self.accepted[message["id"]] = message["body"]
            n += 1
            after_b += self.b_gone.is_set()

    async def terminate_b_midway(self) -> None:
        async def built_up() -> bool:
            return len(self.accepted) >= 60

        await eventually(built_up, "traffic to build up")
        b = self.fleet.nodes["B"]
        self.terminated_at = time.monotonic()
        os.kill(b.process.pid, signal.SIGTERM)
        try:
            code = await asyncio.to_thread(b.process.wait, STOP_TIMEOUT)
        finally:
            self.b_gone.set()
        assert code == 0, b.log_text()


async def test_stopping_an_api_process_mid_traffic_loses_nothing(fleet: Fleet) -> None:
    alice = new_user("alice")
    async with clients(fleet) as http:
        traffic = TrafficThroughAStoppingB(fleet, http, alice)
        await traffic.run()
        # Each stream through B ended on a refused connection, not on an error answer.
        assert len(traffic.refused) == 2, traffic.refused
        assert all(end.endswith("Error") for end in traffic.refused), traffic.refused
        assert traffic.straddling >= 1, "no send was in flight through B when it was stopped"

        reader = as_user(fleet, http["A"], alice)
        await counts_reach(len(traffic.accepted), reader)
        inbox = await all_entries(reader, unread_only=False)
        # Every send that got an id is delivered, once, and nothing else.
        assert len(inbox) == len(traffic.accepted)
        assert {entry["id"] for entry in inbox} == set(traffic.accepted)

    # A replacement B serves the same inbox.
    await asyncio.to_thread(fleet.start, {"B": True})
    async with clients(fleet) as http:
        assert await as_user(fleet, http["B"], alice).unread_count() == len(traffic.accepted)


async def metric(http: httpx.AsyncClient, sample: str) -> float:
    page = (await http.get("/metrics")).text
    for line in page.splitlines():
        if line.startswith(sample + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{sample} not in /metrics")


async def test_kept_inbox_answers_follow_changes_made_through_other_processes(
    fleet: Fleet,
) -> None:
    """A keeps alice's inbox answers (transport/response_cache.py); every change made through B
    and the worker shows in A's very next answer."""
    alice, bob = new_user("alice"), new_user("bob")
    page = "{ unreadCount messages(first: 5) { edges { node { id body isRead } } } }"
    hits = 'inboxql_response_cache_lookups_total{result="hit"}'
    async with clients(fleet) as http:
        on_a, on_b = as_user(fleet, http["A"], alice), as_user(fleet, http["B"], alice)
        empty = await on_a.data(page)
        assert empty == {"unreadCount": 0, "messages": {"edges": []}}
        before = await metric(http["A"], hits)
        assert await on_a.data(page) == empty
        assert await metric(http["A"], hits) == before + 1

        sent = await send(as_user(fleet, http["B"], bob), alice, "through B")
        await on_b.wait_for_count(1)  # delivered by the worker, read on B...
        # ...and A's next answer shows it: the version it reads has moved.
        one = await on_a.data(page)
        assert one["unreadCount"] == 1
        assert one["messages"]["edges"] == [
            {"node": {"id": sent["id"], "body": "through B", "isRead": False}}
        ]
        assert await on_a.data(page) == one  # kept again

        await on_b.data(MARK_READ, {"ids": [sent["id"]]})
        read = await on_a.data(page)
        assert read["unreadCount"] == 0
        assert read["messages"]["edges"][0]["node"]["isRead"] is True
