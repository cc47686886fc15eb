"""Target 2: the query path on the local stack. messages(first: 20) end to end through a real
server on DynamoDB Local and Redis, against the bare DynamoDB Query that page needs (same
client library and config, same concurrency, same run), with the body cache's hit ratio."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from bench.api_layer import CONCURRENCY, check_answers, token_for
from bench.context import BenchContext
from bench.documents import PAGE_QUERY
from bench.figures import Figure
from bench.processes import http_load, run_module, serving
from bench.provision import provisioned
from services.domain import Message, UserId, new_message_id

MESSAGES = 40
LOOKUPS = re.compile(r'^inboxql_message_cache_lookups_total\{result="(hit|miss)"\} (\S+)$', re.M)


async def seed(context: BenchContext, reader: UserId) -> None:
    """A full inbox, delivered straight to the store, its bodies read once so they are hot."""
    async with provisioned(context) as stack:
        start = datetime.now(UTC) - timedelta(hours=1)
        sender = UserId(f"bench-writer-{context.tag}")
        ids = []
        for i in range(MESSAGES):
            at = start + timedelta(seconds=i)
            message = Message(new_message_id(at), sender, reader, f"hello {i} " * 10, at)
            await stack.store.deliver(message)
            ids.append(message.id)
        await stack.cache.put_many((await stack.store.get_messages(ids)).values())


def cache_lookups(url: str) -> dict[str, float]:
    text = httpx.get(f"{url}/metrics", timeout=30).text
    return {kind: float(value) for kind, value in LOOKUPS.findall(text)}


def run(context: BenchContext) -> list[Figure]:
    reader = UserId(f"bench-reader-{context.tag}")
    asyncio.run(seed(context, reader))
    token = token_for(reader)
    env = context.server_env()
    seconds = context.seconds(5.0)
    rounds = 1 if context.quick else 2
    ours: list[dict[str, Any]] = []
    bare: list[dict[str, Any]] = []
    with serving("stack", context.log_dir, env=env, workers=0) as server:
        page = check_answers(server.url, token, PAGE_QUERY)
        if len(page["data"]["messages"]["edges"]) != 20:
            raise RuntimeError(f"a page of 20 expected: {page}")
        before = cache_lookups(server.url)
        for _ in range(rounds):
            query_args = ["query", "--table", context.settings.table_name, "--user", reader]
            query_args += ["--concurrency", str(CONCURRENCY), "--seconds", str(seconds)]
            bare.append(run_module("bench.aws_load", query_args, env=env))
            result = http_load(
                server.port,
                path="/graphql",
                body={"query": PAGE_QUERY},
                token=token,
                concurrency=CONCURRENCY,
                seconds=seconds,
            )
            if result["errors"]:
                raise RuntimeError(f"bad answers under load: {result['first_error']}")
            ours.append(result)
        after = cache_lookups(server.url)
    hits = after.get("hit", 0.0) - before.get("hit", 0.0)
    misses = after.get("miss", 0.0) - before.get("miss", 0.0)
    ratio = hits / (hits + misses) if hits + misses else 0.0
    our_rps = sum(r["requests"] for r in ours) / sum(r["seconds"] for r in ours)
    bare_rps = sum(r["requests"] for r in bare) / sum(r["seconds"] for r in bare)
    return [
        Figure(
            2,
            "messages(first: 20) end to end, local stack",
            our_rps,
            "req/s",
            target=0.5,
            baseline=bare_rps,
            baseline_name=f"bare DynamoDB Query of the page (aioboto3, {CONCURRENCY} tasks)",
            detail={"runs": ours, "baseline_runs": bare},
        ),
        Figure(
            2,
            "body cache hit ratio under that load",
            ratio,
            "ratio",
            detail={"hits": hits, "misses": misses},
        ),
    ]
