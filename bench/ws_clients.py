"""Live clients for the send and subscription benchmarks, in their own process.

    python -m bench.ws_clients --port P --users N --prefix bench-u- \
        (--rate R --seconds S | --count M --concurrency C)

1. opens one WebSocket per user (`graphql-transport-ws`, `subscription { unreadCount }`),
   through a client lean enough to hold 10,000 of them (a bare asyncio protocol, small frames);
   prints {"phase": "subscribed", ...} once every one has its first count;
2. waits for a line on stdin (the parent measures the idle server meanwhile);
3. sends messages over HTTP (`sendMessage`) to the users, paced at R/s for S seconds or M as
   fast as C concurrent senders go, and times each send until a push shows it counted;
4. prints the result: accepted, delivered, lost, rate, and push latency percentiles and
   histogram (bench/latency.py).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import sys
import time
from collections.abc import Callable
from typing import Any

import httpx
import orjson
import uvloop

from bench.context import BENCH_JWT_SECRET
from bench.http_load import percentile
from bench.latency import LatencyHistogram
from bench.lean_subscriber import Live, open_all
from bench.processes import raise_file_limit
from services.domain import UserId
from services.tokens.verifiers import HmacTokenVerifier

SEND = "mutation($input: SendMessageInput!) { sendMessage(input: $input) { id } }"
SEND_ATTEMPTS = 3
SETTLE_SECONDS = 60.0


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
    # Paced sends that find every connection busy wait here, not in httpx's pool: the pool
    # walks all its waiting requests and connections each time one is added or ends, so a
    # backlog of a few hundred doubled this process's CPU, took it from the stack it shares
    # the machine with, and made the backlog grow (docs/performance.md, target 4).
    gate = asyncio.Semaphore(concurrency)
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
                    async with gate:
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
        "histogram": LatencyHistogram.of(live.latencies).as_json(),
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
