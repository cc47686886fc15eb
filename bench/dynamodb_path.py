"""The inbox page's two DynamoDB calls (its Query, then the BatchGetItem of its read state)
through aiobotocore and through the leaner path (services/dynamodb/lean_client.py), side by
side in one process on DynamoDB Local, in turns:

    uv run python -m bench.dynamodb_path [--seconds 5] [--rounds 2] [--concurrency 32] [--quick]
    uv run python -m bench.dynamodb_path --changes  # a `changes` page's Query instead

`--changes` measures the Query of a full `changes` page instead: 101 change-log items, each
holding a binary message id, which the lean path decodes itself
(services/dynamodb/binary_values.py).

Prints, per path, pages per second and this process's CPU per call (user + system over the
turn, divided by the calls made; DynamoDB Local runs in its own process), and the lean path's
ratio against aiobotocore's. Before measuring, it checks that both paths return the same items.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

import uvloop

from bench.context import BenchContext
from bench.query_path import MESSAGES, seed
from bench.side_by_side import Work, in_turns, report
from services.aws import aws_session, client_config
from services.change_log import MAX_VERSION
from services.domain import UserId
from services.dynamodb.keys import ENTRY_PREFIX, counter_key, log_sk, s, summary_key, user_pk
from services.dynamodb.lean_client import LeanDynamoDB
from services.local.stack import LocalStack

CACHE_DIR = Path.home() / ".cache" / "inboxql"


def page_calls(client: Any, table: str, reader: UserId) -> Work:
    """The calls an inbox page makes, as `bench.aws_load query` makes them."""
    query = {
        "TableName": table,
        "KeyConditionExpression": "pk = :pk AND begins_with(sk, :low)",
        "ExpressionAttributeValues": {":pk": s(user_pk(reader)), ":low": s(ENTRY_PREFIX)},
        "ScanIndexForward": False,
        "Limit": 22,
        "ConsistentRead": True,
    }

    async def page() -> tuple[int, int]:
        items = (await client.query(**query))["Items"]
        if len(items) < 20:
            raise RuntimeError(f"the page has {len(items)} items")
        senders = {UserId(item["senderId"]["S"]) for item in items}
        keys = [counter_key(reader), *(summary_key(reader, sender) for sender in senders)]
        await client.batch_get_item(RequestItems={table: {"Keys": keys, "ConsistentRead": True}})
        return 2, 1

    return page


CHANGES_PAGE = 101  # a `changes` page of 100 reads one more, to know whether more follow


def changes_calls(client: Any, table: str, reader: UserId) -> Work:
    """The Query of a full `changes` page, as services/dynamodb/change_reads.py makes it."""
    query = {
        "TableName": table,
        "KeyConditionExpression": "pk = :pk AND sk BETWEEN :low AND :high",
        "ExpressionAttributeValues": {
            ":pk": s(user_pk(reader)),
            ":low": s(log_sk(1)),
            ":high": s(log_sk(MAX_VERSION)),
        },
        "Limit": CHANGES_PAGE,
        "ConsistentRead": True,
    }

    async def page() -> tuple[int, int]:
        items = (await client.query(**query))["Items"]
        if len(items) < CHANGES_PAGE or not isinstance(items[0]["m"]["B"], bytes):
            raise RuntimeError(f"the changes page has {len(items)} items, or no binary ids")
        return 1, 1

    return page


async def same_answers(client: Any, lean: LeanDynamoDB, table: str, reader: UserId) -> None:
    query = {
        "TableName": table,
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": s(user_pk(reader))},
        "ConsistentRead": True,
    }
    ours, theirs = await lean.query(**query), await client.query(**query)
    for answer in (ours, theirs):
        answer.pop("ResponseMetadata")
    if ours != theirs or not ours["Items"]:
        raise RuntimeError(f"the paths disagree:\n{ours}\n{theirs}")


async def measure(
    context: BenchContext,
    reader: UserId,
    *,
    concurrency: int,
    seconds: float,
    rounds: int,
    changes: bool = False,
) -> dict[str, Any]:
    settings = context.settings
    session = aws_session(settings, context.endpoints)
    config = client_config(settings)
    async with session.client(
        "dynamodb", endpoint_url=context.stack.dynamodb_url, config=config
    ) as client:
        lean = LeanDynamoDB(client)
        await same_answers(client, lean, settings.table_name, reader)
        calls_of = changes_calls if changes else page_calls
        paths = {
            "aiobotocore": calls_of(client, settings.table_name, reader),
            "lean": calls_of(lean, settings.table_name, reader),
        }
        result = await in_turns(paths, concurrency=concurrency, seconds=seconds, rounds=rounds)
    return {"page": "changes" if changes else "inbox", **result}


async def seeded_run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        data_dir = Path(folder)
        with LocalStack(data_dir / "stack", CACHE_DIR, persist=False) as stack:
            context = BenchContext(quick=args.quick, log_dir=data_dir, stack=stack)
            reader = UserId(f"bench-reader-{context.tag}")
            await seed(context, reader, CHANGES_PAGE if args.changes else MESSAGES)
            return await measure(
                context,
                reader,
                concurrency=args.concurrency,
                seconds=1.0 if args.quick else args.seconds,
                rounds=1 if args.quick else args.rounds,
                changes=args.changes,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--changes", action="store_true", help="a `changes` page's Query")
    args = parser.parse_args()
    report(uvloop.run(seeded_run(args)), "pages/s")


if __name__ == "__main__":
    main()
