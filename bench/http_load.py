"""An HTTP/1.1 load generator lean enough not to be the bottleneck: keep-alive connections,
each sending one precomputed request after the other (no pipelining), on uvloop.

    python -m bench.http_load --port P --path /graphql [--body JSON ...] [--token T]
        [--concurrency 32] [--seconds 5] [--warmup 1]

prints one JSON object: requests, seconds, rps, errors (non-200 answers, or bodies with
"errors"), p50/p99 latency in ms, every latency in a histogram (bench/latency.py), and
`completed`: every answer received, warm-up and the last in-flight requests included (what
the server did over the whole run, for CPU per request). Several bodies are spread over the
connections, the first connection the first body. Run it in its own process so the server has
its own core.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import orjson
import uvloop

from bench.latency import LatencyHistogram


@dataclass
class Tally:
    counting: bool = False
    running: bool = True
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    completed: int = 0
    first_error: bytes = b""


def build_request(host: str, port: int, path: str, body: bytes | None, token: str | None) -> bytes:
    lines = [
        f"{'POST' if body is not None else 'GET'} {path} HTTP/1.1",
        f"Host: {host}:{port}",
        "Accept: application/json",
    ]
    if token:
        lines.append(f"Authorization: Bearer {token}")
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")


class _Client(asyncio.Protocol):
    def __init__(self, request: bytes, tally: Tally, closed: asyncio.Future[None]) -> None:
        self.request = request
        self.tally = tally
        self.closed = closed
        self.buffer = bytearray()
        self.started = 0.0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self._send()

    def _send(self) -> None:
        assert self.transport is not None
        if not self.tally.running:
            self.transport.close()
            return
        self.started = time.perf_counter()
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self.buffer[:end]).lower()
        at = head.find(b"content-length:")
        length = int(head[at + 15 :].split(b"\r\n", 1)[0]) if at >= 0 else 0
        if len(self.buffer) < end + 4 + length:
            return
        body = bytes(self.buffer[end + 4 : end + 4 + length])
        status_ok = head.startswith(b"http/1.1 200")
        del self.buffer[: end + 4 + length]
        self.tally.completed += 1
        if self.tally.counting:
            self.tally.latencies.append(time.perf_counter() - self.started)
            if not status_ok or b'"errors"' in body:
                self.tally.errors += 1
                self.tally.first_error = self.tally.first_error or head[:200] + b" " + body[:300]
        self._send()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)


def _factory(request: bytes, tally: Tally, closed: asyncio.Future[None]) -> Callable[[], _Client]:
    return lambda: _Client(request, tally, closed)


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def run(
    port: int,
    requests: list[bytes],
    *,
    concurrency: int,
    seconds: float,
    warmup: float,
) -> dict[str, object]:
    loop = asyncio.get_running_loop()
    tally = Tally()
    closed: list[asyncio.Future[None]] = []
    for n in range(concurrency):
        done: asyncio.Future[None] = loop.create_future()
        closed.append(done)
        request = requests[n % len(requests)]
        await loop.create_connection(_factory(request, tally, done), "127.0.0.1", port)
    await asyncio.sleep(warmup)
    tally.counting = True
    began = time.perf_counter()
    await asyncio.sleep(seconds)
    tally.counting = False
    elapsed = time.perf_counter() - began
    tally.running = False
    await asyncio.wait_for(asyncio.gather(*closed), timeout=30)
    count = len(tally.latencies)
    return {
        "requests": count,
        "seconds": round(elapsed, 3),
        "rps": round(count / elapsed, 1),
        "errors": tally.errors,
        "completed": tally.completed,
        "first_error": tally.first_error.decode("utf-8", "replace"),
        "p50_ms": round(1000 * percentile(tally.latencies, 0.50), 3),
        "p99_ms": round(1000 * percentile(tally.latencies, 0.99), 3),
        "concurrency": concurrency,
        "histogram": LatencyHistogram.of(tally.latencies).as_json(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.http_load", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", default="/graphql")
    parser.add_argument(
        "--body", action="append", help="JSON request body (POST), repeatable; none means GET"
    )
    parser.add_argument("--token")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    args = parser.parse_args(argv)
    bodies: list[bytes | None] = [b.encode() for b in args.body] if args.body else [None]
    requests = [build_request("127.0.0.1", args.port, args.path, b, args.token) for b in bodies]
    result = uvloop.run(
        run(
            args.port,
            requests,
            concurrency=args.concurrency,
            seconds=args.seconds,
            warmup=args.warmup,
        )
    )
    sys.stdout.write(orjson.dumps(result).decode() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
