"""Running several InboxQL processes on one local stack, for the scale-out tests: API
processes and delivery workers as real `server.py` subprocesses, HTTP and WebSocket clients for
them, and polls over what they store."""

from __future__ import annotations

import asyncio
import itertools
import json
import signal
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aioboto3
import httpx
import websockets
from websockets.asyncio.client import ClientConnection

from services.domain import UserId
from services.local.stack import StackEndpoints
from services.settings import Settings
from services.tokens.verifiers import HmacTokenVerifier
from tests import polling
from tests.conftest import TEST_JWT_SECRET, stack_settings
from tests.e2e.conftest import (
    REPO,
    GraphQLClient,
    free_port,
    provision,
    server_env,
    wait_until_serving,
)
from tests.polling import wait_until

DEADLINE = 30.0
STOP_TIMEOUT = 60.0
PROTOCOL = "graphql-transport-ws"
SEND = (
    "mutation($input: SendMessageInput!) { sendMessage(input: $input) "
    "{ id senderId recipientId body } }"
)
MARK_READ = "mutation($ids: [ID!]!) { markRead(ids: $ids) { unreadCount } }"
MARK_ALL_READ = "mutation { markAllRead { unreadCount } }"
PAGE = (
    "query($after: String, $unreadOnly: Boolean) { messages(first: 100, after: $after, "
    "unreadOnly: $unreadOnly) { edges { node { id isRead } } pageInfo { hasNextPage endCursor } } }"
)


# --- processes ---------------------------------------------------------------------------------


@dataclass
class Node:
    """One `server.py` process: an API server (with a URL) or a delivery worker (without)."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path
    port: int | None = None
    # A worker serves /metrics here (`worker --metrics-port`).
    metrics_port: int | None = None

    @property
    def url(self) -> str:
        assert self.port is not None, f"{self.name} is a worker, not an API process"
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://") + "/graphql"

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


@dataclass
class Fleet:
    """Processes of one InboxQL deployment on the session's local stack, by role ("A", "B",
    "worker"...). Replacing a role keeps the old process on record, so `stop_all` still
    reaps it."""

    stack: StackEndpoints
    settings: Settings
    logs: Path
    env_overrides: dict[str, str] = field(default_factory=dict)
    nodes: dict[str, Node] = field(default_factory=dict)
    retired: list[Node] = field(default_factory=list)

    def env(self) -> dict[str, str]:
        # No GraphiQL or demo page: these processes only serve the API, and start faster.
        return server_env(self.stack, self.settings) | {
            "INBOXQL_GRAPHIQL": "false",
            "INBOXQL_DEMO": "false",
            # A sender may outrun the per-user send limit (60 a minute) now that the local SQS
            # keeps up; these runs test delivery across processes, tests/security the limit.
            "INBOXQL_SEND_RATE_LIMIT": "0",
            # Their readers poll one user's inbox as fast as it answers.
            "INBOXQL_READ_RATE_LIMIT": "0",
            **self.env_overrides,
        }

    def spawn(self, role: str, *, api: bool) -> Node:
        """Start a process for `role` without waiting for it; see `wait_ready`."""
        every = [*self.retired, *self.nodes.values()]
        generation = sum(node.name.startswith(f"{role}#") for node in every) + 1
        name = f"{role}#{generation}"
        log = self.logs / f"{name.replace('#', '-')}.log"
        port = free_port() if api else None
        metrics_port = None if api else free_port()
        args = ["--stack", "external"]
        if api:
            args += ["--port", str(port), "--no-worker"]
        else:
            args += ["worker", "--metrics-port", str(metrics_port)]
        with log.open("wb") as sink:
            process = subprocess.Popen(
                [sys.executable, "server.py", *args],
                cwd=REPO,
                env=self.env(),
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        if role in self.nodes:
            self.retired.append(self.nodes[role])
        node = self.nodes[role] = Node(name, process, log, port, metrics_port)
        return node

    def wait_ready(self, node: Node) -> None:
        if node.port is not None:
            wait_until_serving(node.url, node.process, node.log)
            return

        def running() -> bool:
            if "delivery worker running" in node.log_text():
                return True
            if node.process.poll() is not None:
                raise RuntimeError(f"{node.name} exited:\n{node.log_text()}")
            return False

        wait_until(
            running,
            lambda: f"{node.name} to start:\n{node.log_text()}",
            timeout=60,
            interval=0.1,
        )

    def start(self, roles: dict[str, bool]) -> None:
        """Start every role (True for an API process) at once, then wait for all of them."""
        started = [self.spawn(role, api=api) for role, api in roles.items()]
        for node in started:
            self.wait_ready(node)

    def stop(self, node: Node) -> int:
        """SIGTERM, wait for a graceful exit, kill if it never comes. The exit code."""
        if node.process.poll() is None:
            node.process.send_signal(signal.SIGTERM)
            try:
                node.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                node.process.kill()
                node.process.wait(timeout=10)
        return node.process.returncode

    def stop_all(self) -> None:
        for node in [*self.nodes.values(), *self.retired]:
            self.stop(node)

    def token(self, user: str) -> str:
        return HmacTokenVerifier(TEST_JWT_SECRET).issue(UserId(user), ttl_seconds=3600)


@contextmanager
def running_fleet(
    stack: StackEndpoints, logs: Path, name: str, roles: dict[str, bool]
) -> Iterator[Fleet]:
    """A fleet of `roles` (True for an API process) on a table and queues of its own, so that
    no other test's worker takes its messages; stopped when the block ends."""
    settings = stack_settings(stack, f"{name}-{uuid.uuid4().hex[:8]}")
    provision(stack, settings)
    fleet = Fleet(stack, settings, logs)
    try:
        fleet.start(roles)
        yield fleet
    finally:
        fleet.stop_all()


# --- clients -----------------------------------------------------------------------------------


@asynccontextmanager
async def clients(fleet: Fleet) -> AsyncIterator[dict[str, httpx.AsyncClient]]:
    """One HTTP client per API process currently in the fleet."""
    opened = {
        role: httpx.AsyncClient(base_url=node.url, timeout=30)
        for role, node in fleet.nodes.items()
        if node.port is not None
    }
    try:
        yield opened
    finally:
        for client in opened.values():
            await client.aclose()


def as_user(fleet: Fleet, http: httpx.AsyncClient, user: str) -> GraphQLClient:
    return GraphQLClient(http, fleet.token(user))


async def send(client: GraphQLClient, to: str, body: str) -> dict[str, Any]:
    data = await client.data(SEND, {"input": {"recipientId": to, "body": body}})
    message: dict[str, Any] = data["sendMessage"]
    return message


async def all_entries(client: GraphQLClient, *, unread_only: bool) -> list[dict[str, Any]]:
    """Every inbox entry (or every unread one), paging 100 at a time."""
    entries: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        page = (await client.data(PAGE, {"after": after, "unreadOnly": unread_only}))["messages"]
        entries += [edge["node"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return entries
        after = page["pageInfo"]["endCursor"]


async def eventually(
    check: Callable[[], Awaitable[bool]] | Callable[[], bool], what: polling.What
) -> None:
    """The shared poll, with the fleet's bound: processes on a shared CPU are slow to agree."""
    await polling.eventually(check, what, timeout=DEADLINE)


async def counts_reach(expected: int, *readers: GraphQLClient) -> None:
    async def reached() -> bool:
        counts = [await reader.unread_count() for reader in readers]
        return counts == [expected] * len(readers)

    await eventually(reached, f"unreadCount {expected} on every process")


class Subscriptions:
    """A `graphql-transport-ws` connection: what each operation id has received so far."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.received: dict[str, list[Any]] = defaultdict(list)

    async def subscribe(self, op_id: str, query: str) -> None:
        payload = {"query": query}
        await self.ws.send(json.dumps({"id": op_id, "type": "subscribe", "payload": payload}))

    async def until(self, done: Callable[[], bool], what: str, within: float = DEADLINE) -> None:
        """Read pushes until `done()`; fail after `within` seconds or on any error message."""
        deadline = time.monotonic() + within
        while not done():
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"timed out waiting for {what}: {dict(self.received)}"
            try:
                message = json.loads(await asyncio.wait_for(self.ws.recv(), remaining))
            except TimeoutError:
                continue
            if message["type"] == "ping":
                await self.ws.send(json.dumps({"type": "pong"}))
                continue
            assert message["type"] == "next", message
            assert "errors" not in message["payload"], message
            self.received[message["id"]].append(message["payload"]["data"])


@asynccontextmanager
async def subscribed(node: Node, token: str) -> AsyncIterator[Subscriptions]:
    async with websockets.connect(node.ws_url, subprotocols=[PROTOCOL]) as ws:  # type: ignore[list-item]
        init = {"Authorization": f"Bearer {token}"}
        await ws.send(json.dumps({"type": "connection_init", "payload": init}))
        ack = json.loads(await asyncio.wait_for(ws.recv(), DEADLINE))
        assert ack["type"] == "connection_ack", ack
        yield Subscriptions(ws)


def counts_seen(subscriptions: Subscriptions, op_id: str) -> list[int]:
    return [int(data["unreadCount"]) for data in subscriptions.received[op_id]]


def increasing(values: list[int]) -> bool:
    return all(a < b for a, b in itertools.pairwise(values))


def aws_session(settings: Settings) -> Any:
    return aioboto3.Session(
        region_name=settings.aws_region,
        aws_access_key_id="inboxql",
        aws_secret_access_key="inboxql",
    )


async def queue_depth(
    stack: StackEndpoints, settings: Settings, queue_name: str
) -> tuple[int, int]:
    """(visible, in flight) messages on a queue; moto's "approximate" numbers are exact."""
    async with aws_session(settings).client("sqs", endpoint_url=stack.sqs_url) as sqs:
        url = (await sqs.get_queue_url(QueueName=queue_name))["QueueUrl"]
        return await visible_and_in_flight(sqs, url)


async def visible_and_in_flight(sqs: Any, queue_url: str) -> tuple[int, int]:
    attributes = (
        await sqs.get_queue_attributes(
            QueueUrl=queue_url,
            AttributeNames=[
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesNotVisible",
            ],
        )
    )["Attributes"]
    return (
        int(attributes["ApproximateNumberOfMessages"]),
        int(attributes["ApproximateNumberOfMessagesNotVisible"]),
    )
