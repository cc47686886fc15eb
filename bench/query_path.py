"""Target 2: the query path on the local stack. messages(first: 20) end to end through a real
server on DynamoDB Local and Redis, against the bare DynamoDB calls that page needs (its Query
and the BatchGetItem of its read state; same client library and config, same concurrency, same
run), with the body cache's hit ratio."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from bench.api_layer import CONCURRENCY, check_answers, token_for
from bench.context import BenchContext
from bench.cpu import cpu_figure
from bench.documents import PAGE_QUERY, UNREAD_QUERY
from bench.figures import Figure
from bench.latency import LatencyDistribution, sum_histograms
from bench.processes import ServerProcess, http_load, run_module, serving
from bench.provision import provisioned
from services.domain import Message, UserId, new_message_id

MESSAGES = 40
LOOKUPS = re.compile(
    r'^inboxql_(message|response)_cache_lookups_total\{result="(hit|miss)"\} (\S+)$', re.M
)


async def seed(context: BenchContext, reader: UserId, messages: int = MESSAGES) -> None:
    """A full inbox, delivered straight to the store, its bodies read once so they are hot."""
    async with provisioned(context) as stack:
        start = datetime.now(UTC) - timedelta(hours=1)
        sender = UserId(f"bench-writer-{context.tag}")
        ids = []
        for i in range(messages):
            at = start + timedelta(seconds=i)
            message = Message(new_message_id(at), sender, reader, f"hello {i} " * 10, at)
            await stack.store.deliver(message)
            ids.append(message.id)
        await stack.cache.put_many((await stack.store.get_messages(ids)).values())


def cache_lookups(url: str) -> dict[tuple[str, str], float]:
    text = httpx.get(f"{url}/metrics", timeout=30).text
    return {(cache, kind): float(value) for cache, kind, value in LOOKUPS.findall(text)}


def hit_ratio(
    before: dict[tuple[str, str], float], after: dict[tuple[str, str], float], cache: str
) -> tuple[float, float, float]:
    hits = after.get((cache, "hit"), 0.0) - before.get((cache, "hit"), 0.0)
    misses = after.get((cache, "miss"), 0.0) - before.get((cache, "miss"), 0.0)
    return (hits / (hits + misses) if hits + misses else 0.0), hits, misses


def measure(
    context: BenchContext, reader: UserId, env: dict[str, str], *, unread: bool = False
) -> tuple[float, float, dict[str, Any]]:
    """Our page's req/s and the bare Query's, in turns, and each cache's hit ratio; the
    server's CPU per page over our turns (`cpu_ms`), and with `unread` per unreadCount in a
    turn of its own after them (`unread_cpu_ms`)."""
    token = token_for(reader)
    seconds = context.seconds(5.0)
    rounds = 1 if context.quick else 2
    ours: list[dict[str, Any]] = []
    bare: list[dict[str, Any]] = []

    def load(server: ServerProcess, query: str) -> dict[str, Any]:
        return http_load(
            server.port,
            path="/graphql",
            body={"query": query},
            token=token,
            concurrency=CONCURRENCY,
            seconds=seconds,
            server_pid=server.process.pid,
        )

    with serving("stack", context.log_dir, env=env, workers=0) as server:
        page = check_answers(server.url, token, PAGE_QUERY)
        if len(page["data"]["messages"]["edges"]) != 20:
            raise RuntimeError(f"a page of 20 expected: {page}")
        before = cache_lookups(server.url)
        for _ in range(rounds):
            query_args = ["query", "--table", context.settings.table_name, "--user", reader]
            query_args += ["--concurrency", str(CONCURRENCY), "--seconds", str(seconds)]
            bare.append(run_module("bench.aws_load", query_args, env=env))
            result = load(server, PAGE_QUERY)
            if result["errors"]:
                raise RuntimeError(f"bad answers under load: {result['first_error']}")
            ours.append(result)
        after = cache_lookups(server.url)
        counted = None
        if unread:
            check_answers(server.url, token, UNREAD_QUERY)
            counted = load(server, UNREAD_QUERY)
    our_rps = sum(r["requests"] for r in ours) / sum(r["seconds"] for r in ours)
    bare_rps = sum(r["requests"] for r in bare) / sum(r["seconds"] for r in bare)
    detail: dict[str, Any] = {"runs": ours, "baseline_runs": bare}
    detail["cpu_ms"] = (
        1000 * sum(r["cpu_seconds"] for r in ours) / sum(r["completed"] for r in ours)
    )
    if counted is not None:
        detail["unread_cpu_ms"] = counted["cpu_ms_per_request"]
        detail["unread_run"] = counted
    for cache in ("response", "message"):
        ratio, hits, misses = hit_ratio(before, after, cache)
        detail[cache] = {"ratio": ratio, "hits": hits, "misses": misses}
    return our_rps, bare_rps, detail


def run(context: BenchContext) -> list[Figure]:
    reader = UserId(f"bench-reader-{context.tag}")
    asyncio.run(seed(context, reader))
    env = context.server_env()
    baseline = f"bare DynamoDB Query + BatchGetItem of the page (aioboto3, {CONCURRENCY} tasks)"
    ours, bare, cached = measure(context, reader, env)
    # The same page executed every time: what a reader whose inbox changes between reads gets.
    off = {**env, "INBOXQL_RESPONSE_CACHE_BYTES": "0"}
    executed, executed_bare, uncached = measure(context, reader, off, unread=True)
    return [
        Figure(
            2,
            "messages(first: 20) end to end, local stack",
            ours,
            "req/s",
            target=0.5,
            baseline=bare,
            baseline_name=baseline,
            detail=cached,
        ),
        Figure(
            2,
            "response cache hit ratio under that load",
            cached["response"]["ratio"],
            "ratio",
            detail=cached["response"],
        ),
        Figure(
            2,
            "  the same page executed every time (response cache off)",
            executed,
            "req/s",
            # Issue 14 target 2: what a reader whose inbox changed between reads gets.
            target=0.60,
            baseline=executed_bare,
            baseline_name=baseline,
            detail=uncached,
            latency=LatencyDistribution(
                "t2-executed-page-end-to-end",
                f"messages(first: 20) executed every time, end to end on the local stack, "
                f"{CONCURRENCY} connections",
                sum_histograms(uncached["runs"]),
                sum_histograms(uncached["baseline_runs"]),
                f"the page's bare Query + BatchGetItem (aioboto3, {CONCURRENCY} tasks), in turns",
            ),
        ),
        Figure(
            2,
            "  body cache hit ratio, executed every time",
            uncached["message"]["ratio"],
            "ratio",
            detail=uncached["message"],
        ),
        *cpu_figures(cached, uncached),
    ]


def cpu_figures(cached: dict[str, Any], executed: dict[str, Any]) -> list[Figure]:
    """What the cost model sizes API tasks from: CPU per request with aiobotocore's calls to
    DynamoDB Local and redis-py's to Valkey in the process, as in production."""
    where = "bench.serve stack (server.py's app, 0 delivery loops) on the local stack, {}"
    return [
        cpu_figure(
            2,
            "CPU: unreadCount end to end",
            executed["unread_cpu_ms"],
            key="unread_count",
            measured_on=where.format("response cache off"),
            detail={"run": executed["unread_run"]},
        ),
        cpu_figure(
            2,
            "CPU: messages(first: 20) executed, end to end",
            executed["cpu_ms"],
            key="inbox_page_executed",
            measured_on=where.format("response cache off, bodies from the body cache"),
        ),
        cpu_figure(
            2,
            "CPU: messages(first: 20) cached, end to end",
            cached["cpu_ms"],
            key="inbox_page_cached",
            measured_on=where.format(
                f"response cache on (hit ratio {cached['response']['ratio']:.3f})"
            ),
        ),
    ]
