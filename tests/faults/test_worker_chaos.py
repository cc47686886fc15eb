"""(c) 1,000 sends to 20 users through the GraphQL API, interleaved with those users' markRead,
markUnread, markConversationRead and markAllRead and with their senders deleting some of them
(queued or delivered), while the only delivery worker is SIGKILLed
again and again: by itself right after a DynamoDB write in the middle of a batch, or by the
test at a random moment. Every accepted message ends up in its inbox once unless its sender
deleted it, a deleted one never does, every unreadCount is exact, and each user's change log
replays to exactly the inbox read back."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.app import App
from services.domain import UserId
from services.local.stack import StackEndpoints
from tests.conftest import new_user
from tests.e2e.fleet import MARK_ALL_READ, MARK_READ, SEND, Fleet
from tests.faults.checker import History, Inbox, check
from tests.faults.conftest import (
    SpawnWorker,
    WorkerProcess,
    fault_app,
    fault_settings,
    process_env,
    wait_quiet,
)
from tests.faults.inbox_readers import read_inbox_graphql, read_log

SENDS = 1_000
USERS = 20
KILLS = 8
SEND_CONCURRENCY = 12
UNREAD_PAGE = "{ messages(first: 20, unreadOnly: true) { edges { node { id } } } }"
READ_PAGE = "{ messages(first: 20) { edges { node { id isRead } } } }"
MARK_UNREAD = "mutation($ids: [ID!]!) { markUnread(ids: $ids) { unreadCount } }"
MARK_CONVERSATION_READ = (
    "mutation($with: ID!) { markConversationRead(withUserId: $with) { unreadCount } }"
)
DELETE = "mutation($id: ID!) { deleteMessage(id: $id) { deleted } }"
# One send in this many is deleted by its sender right after it was accepted: often while it is
# still queued behind a dead worker, so delivery must honour the tombstone.
DELETE_ONE_IN = 25


class Api:
    def __init__(self, http: httpx.AsyncClient, fleet: Fleet) -> None:
        self.http, self.fleet = http, fleet

    async def call(self, user: str, query: str, variables: dict[str, Any] | None = None) -> Any:
        response = await self.http.post(
            "/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {self.fleet.token(user)}"},
        )
        body = response.json()
        assert response.status_code == 200 and "errors" not in body, body
        return body["data"]


@contextlib.asynccontextmanager
async def api_process(fleet: Fleet) -> AsyncIterator[Api]:
    """One API process without a worker: deliveries are the killable workers' alone."""
    await asyncio.to_thread(fleet.start, {"api": True})
    try:
        async with httpx.AsyncClient(base_url=fleet.nodes["api"].url, timeout=30) as http:
            yield Api(http, fleet)
    finally:
        await asyncio.to_thread(fleet.stop_all)


@dataclass
class ChaosRun:
    app: App
    api: Api
    spawn_worker: SpawnWorker
    env: dict[str, str]
    users: list[str]
    history: History = field(default_factory=lambda: History("worker_killed_mid_batch"))
    rng: random.Random = field(default_factory=lambda: random.Random(2026))
    sending_done: asyncio.Event = field(default_factory=asyncio.Event)
    reads: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(
            ("markRead", "markAllRead", "markUnread", "markConversationRead"), 0
        )
    )
    workers: list[WorkerProcess] = field(default_factory=list)

    def redeliveries_of_stored_messages(self) -> int:
        """How often a worker received a message a killed one had already stored."""
        return sum(worker.log.read_text().count("was already stored") for worker in self.workers)

    async def run(self) -> None:
        await asyncio.gather(self.sending(), self.reader(), self.reader(), self.chaos())

    async def sending(self) -> None:
        await asyncio.gather(*(self.sender(lane) for lane in range(SEND_CONCURRENCY)))
        self.sending_done.set()

    async def sender(self, lane: int) -> None:
        for n in range(lane, SENDS, SEND_CONCURRENCY):
            author, recipient = self.rng.choice(self.users), self.rng.choice(self.users)
            body = f"chaos-{n}"
            data = await self.api.call(
                author, SEND, {"input": {"recipientId": recipient, "body": body}}
            )
            message_id = data["sendMessage"]["id"]
            self.history.accepted(recipient, body, message_id)
            if self.rng.randrange(DELETE_ONE_IN) == 0:
                deleted = await self.api.call(author, DELETE, {"id": message_id})
                assert deleted["deleteMessage"]["deleted"] is True
                self.history.deleted_by_sender(message_id)

    async def reader(self) -> None:
        while not self.sending_done.is_set():
            user, dice = self.rng.choice(self.users), self.rng.random()
            if dice < 0.2:
                await self.api.call(user, MARK_ALL_READ)
                self.reads["markAllRead"] += 1
                continue
            if dice < 0.35:
                other = self.rng.choice(self.users)
                await self.api.call(user, MARK_CONVERSATION_READ, {"with": other})
                self.reads["markConversationRead"] += 1
                continue
            if dice < 0.5:
                await self.mark_some_unread(user)
                continue
            edges = (await self.api.call(user, UNREAD_PAGE))["messages"]["edges"]
            ids = [edge["node"]["id"] for edge in edges]
            # Some of what is there, plus a repeat: concurrent marks overlap on purpose.
            chosen = self.rng.sample(ids, k=self.rng.randint(0, len(ids))) + ids[:1]
            await self.api.call(user, MARK_READ, {"ids": chosen})
            self.reads["markRead"] += 1

    async def mark_some_unread(self, user: str) -> None:
        """Some of the newest read messages back to unread, and an unread one (no change)."""
        nodes = [
            edge["node"] for edge in (await self.api.call(user, READ_PAGE))["messages"]["edges"]
        ]
        read = [node["id"] for node in nodes if node["isRead"]]
        unread = [node["id"] for node in nodes if not node["isRead"]]
        chosen = self.rng.sample(read, k=min(len(read), self.rng.randint(1, 3))) + unread[:1]
        await self.api.call(user, MARK_UNREAD, {"ids": chosen})
        self.reads["markUnread"] += 1

    async def chaos(self) -> None:
        """One worker at a time; each of the first KILLS dies mid-work, then one drains."""
        for kill in range(KILLS):
            if kill % 2 == 0:
                # Few enough writes that the sends still coming always reach them.
                writes = str(self.rng.randint(10, 40))
                worker = await self.spawn_worker(self.env, "--kill-after-writes", writes)
                self.workers.append(worker)
                await worker.expect("killing myself", within=120)
                self.history.fault("sigkill_self_after_write")
            else:
                worker = await self.spawn_worker(self.env)
                self.workers.append(worker)
                await asyncio.sleep(self.rng.uniform(0.3, 1.5))  # a random moment to kill at
                worker.kill()
                self.history.fault("sigkill_at_random_moment")
            assert await worker.exited() == -9
        survivor = await self.spawn_worker(self.env)
        self.workers.append(survivor)
        await self.sending_done.wait()
        await wait_quiet(self.app, within=180)
        assert await survivor.stop() == 0


async def with_log(app: App, inbox: Inbox) -> Inbox:
    """The inbox as the API showed it, with the user's change log straight from the store."""
    user = UserId(inbox.user)
    version = (await app.store.unread_count(user)).version
    return dataclasses.replace(inbox, log=await read_log(app.store, user), version=version)


@pytest.mark.timeout(600)
async def test_a_worker_killed_mid_batch_again_and_again_loses_and_doubles_nothing(
    stack: StackEndpoints, session_tag: str, spawn_worker: SpawnWorker, tmp_path: Path
) -> None:
    users = [new_user("chaos") for _ in range(USERS)]
    settings = fault_settings(stack, session_tag)
    fleet = Fleet(
        stack,
        settings,
        tmp_path,
        env_overrides={"INBOXQL_SEND_RATE_LIMIT": "0", "INBOXQL_READ_RATE_LIMIT": "0"},
    )
    async with fault_app(stack, settings) as app, api_process(fleet) as api:
        run = ChaosRun(app, api, spawn_worker, process_env(stack, settings), users)
        await run.run()
        inboxes = [
            await with_log(app, await read_inbox_graphql(api.http, u, fleet.token(u)))
            for u in users
        ]
    redelivered = run.redeliveries_of_stored_messages()
    verdict = check(
        run.history,
        inboxes,
        **run.reads,
        redelivered_after_kills=redelivered,
        deleted_by_senders=len(run.history.deleted),
    )
    verdict.write()
    verdict.assert_ok()
    assert verdict.sent == SENDS
    assert sum(verdict.faults.values()) == KILLS
    assert all(calls > 0 for calls in run.reads.values()), run.reads
    assert run.history.deleted, "no send was deleted: the run proves nothing about tombstones"
    assert verdict.logs_checked == USERS
    # The kills did bite: workers met messages a dead worker had stored but not deleted.
    assert redelivered > 0
