"""A WebSocket client lean enough to hold 10,000 subscriptions in one process: a bare asyncio
protocol speaking `graphql-transport-ws` with small frames, `subscription { unreadCount }` on
each, and `Live`, which times every send until a push shows it counted."""

from __future__ import annotations

import asyncio
import base64
import collections
import os
import time
from dataclasses import dataclass, field
from typing import Any, cast

import orjson

from services.domain import UserId
from services.tokens.verifiers import HmacTokenVerifier

SUBSCRIBE = orjson.dumps(
    {"id": "1", "type": "subscribe", "payload": {"query": "subscription { unreadCount }"}}
)
OPEN_AT_ONCE = 200
OPEN_TIMEOUT_SECONDS = 120.0
# A zero masking key is valid framing and keeps each client frame a plain concatenation.
ZERO_MASK = b"\x00\x00\x00\x00"


def client_frame(payload: bytes, opcode: int = 1) -> bytes:
    size = len(payload)
    if size < 126:
        head = bytes([0x80 | opcode, 0x80 | size])
    elif size < 65536:
        head = bytes([0x80 | opcode, 0x80 | 126]) + size.to_bytes(2, "big")
    else:
        head = bytes([0x80 | opcode, 0x80 | 127]) + size.to_bytes(8, "big")
    return head + ZERO_MASK + payload


@dataclass
class Live:
    """Every user's latest pushed count and the sends still waiting for a push."""

    counts: dict[str, int] = field(default_factory=dict)
    waiting: dict[str, collections.deque[tuple[int, float]]] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    pushes: int = 0
    errors: list[str] = field(default_factory=list)
    last_push: float = 0.0
    expected: collections.Counter[str] = field(default_factory=collections.Counter)
    # Users whose pushed count is still below what was sent to them.
    short: set[str] = field(default_factory=set)
    sending_done: bool = False
    settled: asyncio.Event = field(default_factory=asyncio.Event)

    def sending(self, user: str) -> None:
        self.expected[user] += 1
        self.short.add(user)
        self.waiting.setdefault(user, collections.deque()).append(
            (self.expected[user], time.monotonic())
        )

    def sent_all(self) -> None:
        self.sending_done = True
        if not self.short:
            self.settled.set()

    def pushed(self, user: str, count: int) -> None:
        now = time.monotonic()
        self.pushes += 1
        self.counts[user] = count
        if user in self.short and count >= self.expected[user]:
            self.short.discard(user)
            if self.sending_done and not self.short:
                self.settled.set()
        queue = self.waiting.get(user)
        while queue and queue[0][0] <= count:
            self.latencies.append(now - queue.popleft()[1])
            self.last_push = now


class Subscriber(asyncio.Protocol):
    def __init__(self, user: str, handshake: bytes, init: bytes, live: Live) -> None:
        self.user = user
        self.handshake = handshake
        self.init = init
        self.live = live
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.buffer = bytearray()
        self.upgraded = False
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but have its methods.
        self.transport = cast(asyncio.Transport, transport)
        self.transport.write(self.handshake)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.ready.done():
            self.ready.set_exception(ConnectionError(f"{self.user}: closed ({exc!r})"))
        else:
            self.live.errors.append(f"{self.user}: connection lost")

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.upgraded:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            if not self.buffer.startswith(b"HTTP/1.1 101"):
                self._fail(bytes(self.buffer[:200]).decode("utf-8", "replace"))
                return
            del self.buffer[: end + 4]
            self.upgraded = True
            self._write(self.init)
        self._frames()

    def _frames(self) -> None:
        while len(self.buffer) >= 2:
            opcode, size, offset = self.buffer[0] & 0x0F, self.buffer[1] & 0x7F, 2
            if size == 126:
                size, offset = int.from_bytes(self.buffer[2:4], "big"), 4
            elif size == 127:
                size, offset = int.from_bytes(self.buffer[2:10], "big"), 10
            if len(self.buffer) < offset + size:
                return
            payload = bytes(self.buffer[offset : offset + size])
            del self.buffer[: offset + size]
            if opcode == 1:
                self._message(orjson.loads(payload))
            elif opcode == 9:
                self._write(payload, opcode=10)
            elif opcode == 8:
                self._fail(f"closed by the server: {payload[2:]!r}")

    def _message(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "connection_ack":
            self._write(SUBSCRIBE)
        elif kind == "next":
            data = message["payload"].get("data") or {}
            if "unreadCount" not in data:
                self._fail(f"no count: {message}")
                return
            self.live.pushed(self.user, int(data["unreadCount"]))
            if not self.ready.done():
                self.ready.set_result(None)
        elif kind == "ping":
            self._write(b'{"type":"pong"}')
        elif kind in ("error", "complete"):
            self._fail(f"{kind}: {message}")

    def _write(self, payload: bytes, opcode: int = 1) -> None:
        assert self.transport is not None
        self.transport.write(client_frame(payload, opcode))

    def _fail(self, reason: str) -> None:
        if not self.ready.done():
            self.ready.set_exception(RuntimeError(f"{self.user}: {reason}"))
        else:
            self.live.errors.append(f"{self.user}: {reason}")
        if self.transport is not None:
            self.transport.close()


def handshake(port: int) -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    return (
        f"GET /graphql HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n"
    ).encode()


async def open_all(port: int, users: list[str], tokens: HmacTokenVerifier, live: Live) -> int:
    """Opens every subscription, `OPEN_AT_ONCE` handshakes at a time. Returns failures."""
    loop = asyncio.get_running_loop()
    failed = 0
    keep: list[Subscriber] = []

    async def one(user: str) -> None:
        init = orjson.dumps(
            {
                "type": "connection_init",
                "payload": {"Authorization": f"Bearer {tokens.issue(UserId(user))}"},
            }
        )
        subscriber = Subscriber(user, handshake(port), init, live)
        keep.append(subscriber)
        await loop.create_connection(lambda: subscriber, "127.0.0.1", port)
        await asyncio.wait_for(subscriber.ready, OPEN_TIMEOUT_SECONDS)

    for offset in range(0, len(users), OPEN_AT_ONCE):
        results = await asyncio.gather(
            *(one(user) for user in users[offset : offset + OPEN_AT_ONCE]),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, BaseException):
                failed += 1
                if len(live.errors) < 5:
                    live.errors.append(repr(result))
    return failed
