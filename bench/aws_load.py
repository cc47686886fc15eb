"""Bare AWS baselines, in their own process, through the client library InboxQL uses
(aioboto3, InboxQL's client config) and nothing of InboxQL's code path:

    python -m bench.aws_load query --table T --user U [--concurrency 32] [--seconds 5]
        the DynamoDB calls an inbox page makes (its Query, then the BatchGetItem of its read
        state), as fast as `concurrency` tasks go
    python -m bench.aws_load pipeline --table T --queue-url Q --count N [--receivers 2]
            [--senders 16]
        the bound the emulators set on a send and its delivery: every AWS call they make,
        bare (bench/pipeline_baseline.py)

Each prints one JSON object. Endpoints and credentials come from AWS_ENDPOINT_URL_* as for
an external-mode server.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from typing import Any

import orjson
import uvloop

from bench.http_load import percentile
from bench.latency import LatencyHistogram
from bench.pipeline_baseline import pipeline
from services.aws import AwsEndpoints, aws_session, client_config
from services.domain import UserId
from services.dynamodb.keys import (
    ENTRY_PREFIX,
    counter_key,
    s,
    summary_key,
    user_pk,
)
from services.settings import Settings


def _settings() -> Settings:
    return Settings.from_env()


async def query_load(table: str, user: str, *, concurrency: int, seconds: float) -> dict[str, Any]:
    settings = _settings()
    session = aws_session(settings, AwsEndpoints())
    async with session.client("dynamodb", config=client_config(settings)) as client:
        params = {
            "TableName": table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :low)",
            "ExpressionAttributeValues": {":pk": s(user_pk(UserId(user))), ":low": s(ENTRY_PREFIX)},
            "ScanIndexForward": False,
            "Limit": 22,
            "ConsistentRead": True,
        }
        latencies: list[float] = []
        counting = False
        stop = False

        async def loop() -> None:
            while not stop:
                began = time.perf_counter()
                response = await client.query(**params)
                items = response["Items"]
                if len(items) < 20:
                    raise RuntimeError(f"the page has {len(items)} items")
                # The page's read state (issue 13): the reader's counter and the summaries of
                # the conversations on the page, in one BatchGetItem, as the page reads them.
                reader = UserId(user)
                senders = {UserId(item["senderId"]["S"]) for item in items}
                keys = [counter_key(reader), *(summary_key(reader, sender) for sender in senders)]
                await client.batch_get_item(
                    RequestItems={table: {"Keys": keys, "ConsistentRead": True}}
                )
                if counting:
                    latencies.append(time.perf_counter() - began)

        tasks = [asyncio.create_task(loop()) for _ in range(concurrency)]
        await asyncio.sleep(min(1.0, seconds / 3))
        counting = True
        began = time.perf_counter()
        await asyncio.sleep(seconds)
        counting = False
        elapsed = time.perf_counter() - began
        stop = True
        await asyncio.gather(*tasks)
    return {
        "requests": len(latencies),
        "seconds": round(elapsed, 3),
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(1000 * percentile(latencies, 0.5), 3),
        "p99_ms": round(1000 * percentile(latencies, 0.99), 3),
        "concurrency": concurrency,
        "histogram": LatencyHistogram.of(latencies).as_json(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.aws_load", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    query = commands.add_parser("query")
    query.add_argument("--table", required=True)
    query.add_argument("--user", required=True)
    query.add_argument("--concurrency", type=int, default=32)
    query.add_argument("--seconds", type=float, default=5.0)
    pipe = commands.add_parser("pipeline")
    pipe.add_argument("--table", required=True)
    pipe.add_argument("--queue-url", required=True)
    pipe.add_argument("--count", type=int, required=True)
    pipe.add_argument("--receivers", type=int, default=2)
    pipe.add_argument("--recipients", type=int, default=50)
    pipe.add_argument("--senders", type=int, default=16)
    args = parser.parse_args(argv)
    if args.command == "query":
        result = uvloop.run(
            query_load(args.table, args.user, concurrency=args.concurrency, seconds=args.seconds)
        )
    else:
        result = uvloop.run(
            pipeline(
                args.table,
                args.queue_url,
                count=args.count,
                receivers=args.receivers,
                recipients=args.recipients,
                senders=args.senders,
            )
        )
    sys.stdout.write(orjson.dumps(result).decode() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
