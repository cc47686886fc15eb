"""Target 5: capacity units, SQS requests and Redis commands per operation, measured by
`bench.capacity` (ReturnConsumedCapacity=INDEXES on DynamoDB Local, transactions charged per
item by AWS's rule, SQS and Redis calls counted) on this run's stack."""

from __future__ import annotations

import asyncio
from typing import Any

from bench.capacity_run import MARK_ALL_READ_SIZE, measure
from bench.context import BenchContext
from bench.figures import Figure
from services.bootstrap import bootstrap

INFO_OPERATIONS = (
    "inbox_page_cold",
    "mark_read_1",
    "mark_read_20",
    "mark_unread_1",
    f"mark_all_read_{MARK_ALL_READ_SIZE}",
    f"mark_conversation_read_{MARK_ALL_READ_SIZE}",
    "subscribe_unread_count",
)


async def _measure(context: BenchContext, samples: int) -> dict[str, Any]:
    settings = context.settings.with_overrides(
        table_name=f"{context.settings.table_name}-cost",
        queue_name=f"{context.settings.queue_name}-cost",
        dead_letter_queue_name=f"{context.settings.dead_letter_queue_name}-cost",
    )
    async with bootstrap(settings, context.endpoints, workers=0, provision=True) as app:
        return await measure(app, samples=samples)


def _breakdown(op: dict[str, Any]) -> dict[str, Any]:
    return {
        "by_table_index": op["dynamodb"]["by_table_index"],
        "dynamodb_calls": op["dynamodb"]["calls"],
        "sqs_requests": op["sqs_requests"],
        "redis_commands": op["redis_commands"],
    }


def _units(op: dict[str, Any]) -> str:
    ddb = op["dynamodb"]
    parts = ", ".join(
        f"{key} {u['read_units']:g}R/{u['write_units']:g}W"
        for key, u in ddb["by_table_index"].items()
    )
    return f"{ddb['read_units']:g} RRU, {ddb['write_units']:g} WRU ({parts})"


def run(context: BenchContext) -> list[Figure]:
    result = asyncio.run(_measure(context, samples=5 if context.quick else 20))
    ops: dict[str, Any] = result["operations"]
    send, hot, unread = ops["send"], ops["inbox_page_hot"], ops["unread_count"]
    # Under load senders share SendMessageBatch calls: the SQS figure is the concurrent sends'.
    loaded = ops["send_concurrent"]
    worker_sqs = sum(ops["send_concurrent_worker"]["sqs_requests"].values())
    figures = [
        Figure(
            5,
            "send: write units per message, all included",
            send["dynamodb"]["write_units"],
            "WRU",
            target=6,
            compare="<=",
            detail=_breakdown(send) | {"summary": _units(send)},
        ),
        Figure(
            5,
            "inbox page of 20 (hot cache): read units",
            hot["dynamodb"]["read_units"],
            "RRU",
            target=1.5,
            compare="<=",
            detail=_breakdown(hot) | {"cache_hit_ratio": hot["cache_hit_ratio"]},
        ),
        Figure(
            5,
            "unreadCount: read units",
            unread["dynamodb"]["read_units"],
            "RRU",
            target=0.5,
            compare="<=",
            detail=_breakdown(unread),
        ),
        Figure(
            5,
            "SQS requests per delivered message",
            sum(loaded["sqs_requests"].values()),
            "requests",
            target=0.4,
            compare="<=",
            detail=_breakdown(loaded)
            | {
                "worker_part": worker_sqs,
                "concurrent_senders": loaded["samples"],
                "one_at_a_time": sum(send["sqs_requests"].values()),
            },
        ),
        Figure(
            5,
            "  of which the worker (receive + delete)",
            worker_sqs,
            "requests",
            detail=ops["send_concurrent_worker"]["sqs_requests"],
        ),
    ]
    for name in INFO_OPERATIONS:
        op = ops[name]
        figures.append(
            Figure(
                5,
                f"{name}: write units",
                op["dynamodb"]["write_units"],
                "WRU",
                detail=_breakdown(op) | {"summary": _units(op)},
            )
        )
        if op["dynamodb"]["read_units"]:
            figures.append(Figure(5, f"{name}: read units", op["dynamodb"]["read_units"], "RRU"))
    return figures
