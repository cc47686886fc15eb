"""Live clients for the send and subscription benchmarks, in their own process.

    python -m bench.ws_clients --port P --users N --prefix bench-u- \
        (--rate R --seconds S | --count M --concurrency C)

1. opens one WebSocket per user (`graphql-transport-ws`, `subscription { unreadCount }`),
   through a client lean enough to hold 10,000 of them (a bare asyncio protocol, small frames);
   prints {"phase": "subscribed", ...} once every one has its first count;
2. waits for a line on stdin (the parent measures the idle server meanwhile);
3. sends messages over HTTP (`sendMessage`) to the users, paced at R/s for S seconds or M as
   fast as C concurrent senders go, and times each send until a push shows it counted;
4. prints the result: accepted, delivered, lost, rate, and push latency percentiles.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import collections
import contextlib
import os
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

import httpx
import orjson
import uvloop

from bench.context import BENCH_JWT_SECRET
from bench.http_load import percentile
from bench.processes import raise_file_limit
from services.domain import UserId
from services.tokens.verifiers import HmacTokenVerifier

SUBSCRIBE = orjson.dumps(
    {"id": "1", "type": "subscribe", "payload": {"query": "subscription { unreadCount }"}}
)
SEND = "mutation($input: SendMessageInput!) { sendMessage(input: $input) { id } }"
OPEN_AT_ONCE = 200
SEND_ATTEMPTS = 3
OPEN_TIMEOUT_SECONDS = 120.0
SETTLE_SECONDS = 60.0
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


async def send_all(
    port: int,
    users: list[str],
    live: Live,
    pick: Callable[[int], str],
    *,
    total: int,
    concurrency: int,
    rate: float | None,
) -> dict[str, Any]:
    verifier = HmacTokenVerifier(BENCH_JWT_SECRET)
    senders = [verifier.issue(UserId(f"bench-sender-{n}")) for n in range(16)]
    failures: list[str] = []
    retries: list[str] = []
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    began = time.monotonic()
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}", timeout=30, limits=limits
    ) as http:

        async def send(n: int) -> None:
            user = pick(n)
            live.sending(user)
            token = senders[n % len(senders)]
            # No clientMessageId: its idempotency write is no part of the pipeline measured.
            # A retry follows a connection the server dropped (an idle keep-alive closed as
            # it was reused); `send_retries` says how often, and a duplicate would show as a
            # count above what was sent, never as a loss.
            given = {"recipientId": user, "body": f"m{n}"}
            body = {"query": SEND, "variables": {"input": given}}
            for attempt in range(SEND_ATTEMPTS):
                try:
                    response = await http.post(
                        "/graphql", json=body, headers={"Authorization": f"Bearer {token}"}
                    )
                    break
                except httpx.HTTPError as error:
                    if attempt == SEND_ATTEMPTS - 1:
                        failures.append(f"{user}: {error!r}")
                        return
                    retries.append(repr(error))
            if response.status_code != 200 or "errors" in response.json():
                failures.append(response.text[:300])

        if rate is not None:
            tasks = []
            for n in range(total):
                delay = began + n / rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)  # pacing the offered load
                tasks.append(asyncio.create_task(send(n)))
            await asyncio.gather(*tasks)
        else:
            counter = iter(range(total))

            async def sender() -> None:
                for n in counter:
                    await send(n)

            await asyncio.gather(*(sender() for _ in range(concurrency)))
    sent_seconds = time.monotonic() - began
    live.sent_all()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(live.settled.wait(), SETTLE_SECONDS)
    expected = live.expected
    accepted = total - len(failures)
    delivered = sum(min(live.counts.get(user, 0), count) for user, count in expected.items())
    seconds = max(live.last_push - began, 1e-9)
    return {
        "offered": total,
        "accepted": accepted,
        "failed_sends": len(failures),
        "first_failure": failures[0] if failures else "",
        "delivered": delivered,
        "lost": max(0, accepted - delivered),
        "send_seconds": round(sent_seconds, 3),
        "seconds": round(seconds, 3),
        "delivered_per_second": round(delivered / seconds, 1),
        "p50_ms": round(1000 * percentile(live.latencies, 0.50), 1),
        "p99_ms": round(1000 * percentile(live.latencies, 0.99), 1),
        "max_ms": round(1000 * max(live.latencies, default=0.0), 1),
        "pushes": live.pushes,
        "send_retries": len(retries),
    }


async def run(args: argparse.Namespace) -> None:
    users = [f"{args.prefix}{n}" for n in range(args.users)]
    live = Live()
    began = time.monotonic()
    failed = await open_all(args.port, users, HmacTokenVerifier(BENCH_JWT_SECRET), live)
    report = {
        "phase": "subscribed",
        "subscribed": len(users) - failed,
        "failed": failed,
        "seconds": round(time.monotonic() - began, 2),
        "errors": live.errors[:5],
    }
    sys.stdout.write(orjson.dumps(report).decode() + "\n")
    sys.stdout.flush()
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    pushes_before = live.pushes
    randomly = random.Random(7)
    if args.rate is not None:
        # Few connections, each reused often: an idle one may be closed by the server as the
        # next request goes out on it.
        total, concurrency = int(args.rate * args.seconds), 32

        def pick(n: int) -> str:
            return randomly.choice(users)
    else:
        total, concurrency = args.count, args.concurrency

        def pick(n: int) -> str:
            return users[n % len(users)]

    result = await send_all(
        args.port, users, live, pick, total=total, concurrency=concurrency, rate=args.rate
    )
    result["phase"] = "sent"
    result["pushes"] -= pushes_before
    result["connection_errors"] = live.errors[:5]
    sys.stdout.write(orjson.dumps(result).decode() + "\n")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ws_clients", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--users", type=int, required=True)
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--rate", type=float, help="messages per second, paced")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--count", type=int, default=0, help="messages, unpaced")
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args(argv)
    raise_file_limit()
    uvloop.run(run(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
