"""Two paths to the same AWS calls, aiobotocore's and the lean one, measured in turns in one
process: the loop that `bench.dynamodb_path` and `bench.sqs_path` share. Each turn runs one
path's unit of work from `concurrency` tasks for `seconds`, and takes this process's CPU over
it (user + system; the emulator runs in its own process)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import orjson

# One unit of a path's work (a page, a batch through the queue): (calls made, items done).
Work = Callable[[], Awaitable[tuple[int, int]]]
PATHS = ("aiobotocore", "lean")


async def turn(work: Work, *, concurrency: int, seconds: float) -> dict[str, float]:
    calls = items = 0
    stop = time.monotonic() + seconds

    async def loop() -> None:
        nonlocal calls, items
        while time.monotonic() < stop:
            made, done = await work()  # `calls += ...` would read `calls` before the await
            calls += made
            items += done

    cpu = time.process_time()
    began = time.perf_counter()
    await asyncio.gather(*(loop() for _ in range(concurrency)))
    elapsed = time.perf_counter() - began
    cpu = time.process_time() - cpu
    return {"calls": calls, "items": items, "seconds": elapsed, "cpu_seconds": cpu}


async def in_turns(
    paths: Mapping[str, Work], *, concurrency: int, seconds: float, rounds: int
) -> dict[str, Any]:
    """Each path warmed (connections, routes, credentials), then `rounds` turns of each in
    alternation; per path, its turns and items a second and CPU per call over them."""
    for work in paths.values():
        await turn(work, concurrency=concurrency, seconds=min(1.0, seconds))
    turns: dict[str, list[dict[str, float]]] = {name: [] for name in paths}
    for _ in range(rounds):
        for name, work in paths.items():
            turns[name].append(await turn(work, concurrency=concurrency, seconds=seconds))
    result: dict[str, Any] = {"concurrency": concurrency, "seconds": seconds, "turns": turns}
    for name, runs in turns.items():
        calls = sum(r["calls"] for r in runs)
        result[name] = {
            "items_per_second": sum(r["items"] for r in runs) / sum(r["seconds"] for r in runs),
            "cpu_ms_per_call": 1000 * sum(r["cpu_seconds"] for r in runs) / calls,
        }
    return result


def report(result: Mapping[str, Any], items: str) -> None:
    """The two paths' figures, the lean one's ratios to aiobotocore's, then the JSON."""
    print(f"path         {items:>11}   ms CPU per call")
    for name in PATHS:
        figures = result[name]
        rate, cpu = figures["items_per_second"], figures["cpu_ms_per_call"]
        print(f"{name:12} {rate:11.1f}   {cpu:.3f}")
    base, lean = result["aiobotocore"], result["lean"]
    speed = lean["items_per_second"] / base["items_per_second"]
    cpu = lean["cpu_ms_per_call"] / base["cpu_ms_per_call"]
    print(f"lean / aiobotocore: throughput {speed:.2f}x, CPU per call {cpu:.2f}x")
    print(orjson.dumps(result).decode())
