"""A real server process's guards. Slow clients: a trickled request head or body is cut off
within its bound while honest requests and WebSockets are served, and connections beyond the
bound are refused instead of piling up. Host names: another one is refused, WebSockets too.

`uv run pytest -q -s tests/e2e/test_connection_guards.py` prints how long each cut-off took, at the
default INBOXQL_HEADER_TIMEOUT and INBOXQL_BODY_TIMEOUT (10 s each)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from contextlib import AsyncExitStack
from pathlib import Path

import httpx
import pytest

from services.local.stack import StackEndpoints
from services.settings import Settings
from tests.conftest import stack_settings
from tests.e2e.conftest import Server, provision, serving
from tests.e2e.websocket_client import receive, session
from tests.polling import eventually

TIMEOUT = Settings().body_timeout_seconds
assert Settings().header_timeout_seconds == TIMEOUT  # one bound below checks both
# A failure bound: the cut-off is due at TIMEOUT; a loaded 2-core machine may be late.
SLACK = 5.0
MAX_CONNECTIONS = 24
# Pacing of the trickle, one byte or header line at a time: no deadline ever sees silence.
TRICKLE_INTERVAL = 1.0


@pytest.fixture(scope="module")
def guarded(
    stack: StackEndpoints, session_tag: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    settings = stack_settings(stack, session_tag)
    provision(stack, settings)
    log = tmp_path_factory.mktemp("slow-clients") / "server.log"
    env = {
        "INBOXQL_MAX_CONNECTIONS": str(MAX_CONNECTIONS),
        # As local mode has it, on the address the tests connect to.
        "INBOXQL_ALLOWED_HOSTS": "127.0.0.1",
    }
    with serving(stack, settings, log, env=env, args=("--no-worker",)) as server:
        yield server


def address(server: Server) -> tuple[str, int]:
    host, port = server.url.removeprefix("http://").split(":")
    return host, int(port)


async def trickle(writer: asyncio.StreamWriter, pieces: Iterator[bytes]) -> None:
    try:
        for piece in pieces:
            writer.write(piece)
            await writer.drain()
            await asyncio.sleep(TRICKLE_INTERVAL)  # the attack's pace, not synchronisation
    except (ConnectionError, OSError):
        pass  # cut off: what the test waits for


def forever(piece: bytes) -> Iterator[bytes]:
    while True:
        yield piece


def head(method: str, path: str, *lines: str, body_length: int | None = None) -> bytes:
    fields = ["Host: 127.0.0.1", *lines]
    if body_length is not None:
        fields += ["Content-Type: application/json", f"Content-Length: {body_length}"]
    return (f"{method} {path} HTTP/1.1\r\n" + "".join(f"{f}\r\n" for f in fields) + "\r\n").encode()


async def cut_off_after(server: Server, pieces: Iterator[bytes]) -> tuple[float, bytes]:
    """Seconds from connecting until the server closed the connection, and what it sent."""
    reader, writer = await asyncio.open_connection(*address(server))
    started = time.monotonic()
    sender = asyncio.create_task(trickle(writer, pieces))
    try:
        async with asyncio.timeout(TIMEOUT + SLACK):
            answer = await reader.read()  # until EOF: the server closed the connection
        return time.monotonic() - started, answer
    finally:
        sender.cancel()
        writer.close()


async def test_trickled_heads_and_bodies_are_cut_off(guarded: Server) -> None:
    token = guarded.token("slow-client-victim")
    async with session(guarded.ws_url, token) as ws:
        await slow_clients_are_cut_off(guarded, token)
        # Open all along, past both deadlines: they bound a request, not a WebSocket.
        await ws.send(json.dumps({"type": "ping"}))
        assert (await receive(ws))["type"] == "pong"


async def slow_clients_are_cut_off(guarded: Server, token: str) -> None:
    authorization = f"Authorization: Bearer {token}"

    def body_pieces() -> Iterator[bytes]:
        yield head("POST", "/graphql", authorization, body_length=1000)
        yield from forever(b" ")

    def head_pieces() -> Iterator[bytes]:
        yield b"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        yield from forever(b"X-Padding: 1\r\n")

    def unread_body_pieces() -> Iterator[bytes]:
        # Answered (405) without its body being read: the rest must not hold the connection.
        yield head("PUT", "/healthz", body_length=1000)
        yield from forever(b" ")

    slow = [
        asyncio.create_task(cut_off_after(guarded, pieces))
        for pieces in (body_pieces(), body_pieces(), head_pieces(), head_pieces(), iter([]))
    ]
    unread = asyncio.create_task(cut_off_after(guarded, unread_body_pieces()))
    # Honest requests are served meanwhile.
    async with httpx.AsyncClient(base_url=guarded.url, timeout=10) as http:
        for _ in range(3):
            honest = await http.post(
                "/graphql",
                json={"query": "{ unreadCount }"},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert honest.json() == {"data": {"unreadCount": 0}}
    body_times: list[float] = []
    head_times: list[float] = []
    for n, task in enumerate(slow):
        seconds, answer = await task
        assert seconds >= TIMEOUT - 0.5, (seconds, answer)
        assert answer.startswith(b"HTTP/1.1 408 "), answer
        assert b'"code":"REQUEST_TIMEOUT"' in answer, answer
        (body_times if n < 2 else head_times).append(seconds)
    seconds, answer = await unread
    # Answered at once; the connection then reads the body until its deadline, as an honest
    # client still sending one would otherwise be reset before it read the answer.
    assert answer.startswith(b"HTTP/1.1 405 "), answer
    assert seconds >= TIMEOUT - 0.5, seconds
    print(
        f"\ntrickled body cut off after {max(body_times):.2f} s, trickled or silent head after "
        f"{max(head_times):.2f} s, unread trickled body after {seconds:.2f} s "
        f"(bounds: {TIMEOUT:g} s each)"
    )


async def test_connections_beyond_the_bound_are_refused(guarded: Server) -> None:
    async with AsyncExitStack() as held:
        # Honest keep-alive clients: each holds a connection between requests.
        for _ in range(MAX_CONNECTIONS):
            client = await held.enter_async_context(
                httpx.AsyncClient(base_url=guarded.url, timeout=10)
            )
            assert (await client.get("/healthz")).status_code == 200
        async with httpx.AsyncClient(base_url=guarded.url, timeout=10) as extra:
            refused = await extra.get("/healthz")
        assert refused.status_code == 503, refused.text
        assert refused.json()["errors"][0]["extensions"]["code"] == "UNAVAILABLE"
        assert refused.headers["retry-after"] == "1"

    async def served() -> bool:
        async with httpx.AsyncClient(base_url=guarded.url, timeout=10) as http:
            return (await http.get("/healthz")).status_code == 200

    await eventually(served, "a connection once the others closed", timeout=10)


async def test_another_host_is_refused_even_for_websockets(guarded: Server) -> None:
    rebound = f"attacker.example:{address(guarded)[1]}"
    reader, writer = await asyncio.open_connection(*address(guarded))
    try:
        writer.write(
            head(
                "GET",
                "/graphql",
                "Upgrade: websocket",
                "Connection: Upgrade",
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
                "Sec-WebSocket-Version: 13",
                "Sec-WebSocket-Protocol: graphql-transport-ws",
                f"Origin: http://{rebound}",
            ).replace(b"Host: 127.0.0.1", f"Host: {rebound}".encode())
        )
        await writer.drain()
        async with asyncio.timeout(10):
            status_line = await reader.readline()
        assert status_line.startswith(b"HTTP/1.1 403 "), status_line
    finally:
        writer.close()
    async with httpx.AsyncClient(base_url=guarded.url, timeout=10) as http:
        refused = await http.post(
            "/graphql", json={"query": "{ unreadCount }"}, headers={"Host": rebound}
        )
        assert refused.status_code == 421
        assert refused.json()["errors"][0]["extensions"]["code"] == "MISDIRECTED_REQUEST"
        # A load balancer's health check names the task's address.
        assert (await http.get("/healthz", headers={"Host": rebound})).status_code == 200


async def test_an_oversized_request_head_is_refused(guarded: Server) -> None:
    reader, writer = await asyncio.open_connection(*address(guarded))
    try:
        padding = [f"X-Padding-{n}: {'p' * 1000}" for n in range(100)]  # 100 KB of headers
        writer.write(head("GET", "/healthz", *padding))
        await writer.drain()
        async with asyncio.timeout(10):
            answer = await reader.read()
        assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    finally:
        writer.close()
    async with httpx.AsyncClient(base_url=guarded.url, timeout=10) as http:
        padding_ok = {f"X-Padding-{n}": "p" * 1000 for n in range(40)}  # 40 KB: served
        assert (await http.get("/healthz", headers=padding_ok)).status_code == 200


# Longer than uvicorn's own default (5 s): a connection closed at 5 s means the setting was lost.
KEEP_ALIVE = 8


@pytest.fixture
def keeping_alive(stack: StackEndpoints, session_tag: str, tmp_path: Path) -> Iterator[Server]:
    settings = stack_settings(stack, session_tag)
    provision(stack, settings)
    env = {"INBOXQL_KEEP_ALIVE_TIMEOUT": str(KEEP_ALIVE), "INBOXQL_ALLOWED_HOSTS": "127.0.0.1"}
    with serving(
        stack, settings, tmp_path / "server.log", env=env, args=("--no-worker",)
    ) as server:
        yield server


async def test_an_idle_connection_stays_for_the_keep_alive_timeout(keeping_alive: Server) -> None:
    reader, writer = await asyncio.open_connection(*address(keeping_alive))
    try:
        writer.write(head("GET", "/healthz"))
        await writer.drain()
        async with asyncio.timeout(10):
            status_line = await reader.readline()
        assert status_line.startswith(b"HTTP/1.1 200 "), status_line
        answered = time.monotonic()
        async with asyncio.timeout(KEEP_ALIVE + SLACK):
            await reader.read()  # the rest of the answer, then EOF when the server closes
        idle = time.monotonic() - answered
    finally:
        writer.close()
    assert idle >= KEEP_ALIVE - 0.5, idle
