"""Reading many items: a Query paged until it has enough, and BatchGetItem with its
unprocessed keys retried under jittered backoff."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from typing import Any

from services.domain import MessageId
from services.dynamodb.keys import ENTRY_PREFIX, Item
from services.errors import DependencyUnavailable

READ_ATTEMPTS = 8
BATCH_GET_LIMIT = 100


async def backoff(attempt: int) -> None:
    await asyncio.sleep(random.uniform(0, 0.02 * 2**attempt))


async def query_page(
    client: Any, table: str, start: Item | None, **params: Any
) -> tuple[list[Item], Item | None]:
    """One page of a Query, newest first, from `start` (None: the first page); and where the
    next page starts (None: there is none)."""
    if start is not None:
        params["ExclusiveStartKey"] = start
    response = await client.query(TableName=table, ScanIndexForward=False, **params)
    items: list[Item] = response.get("Items", [])
    return items, response.get("LastEvaluatedKey")


async def query_newest(
    client: Any,
    table: str,
    limit: int,
    *,
    skip_id: MessageId | None = None,
    keep: Callable[[Item], bool] = lambda _: True,
    **params: Any,
) -> tuple[list[Item], bool]:
    """Newest first, up to `limit` items that `keep` keeps, and whether more exist. `skip_id`
    drops the inclusive upper bound of a BETWEEN range."""
    items: list[Item] = []
    start: Item | None = None
    while True:
        page, start = await query_page(client, table, start, **params, Limit=limit + 2 - len(items))
        items.extend(
            item
            for item in page
            if (skip_id is None or item["sk"]["S"] != ENTRY_PREFIX + skip_id) and keep(item)
        )
        if len(items) > limit or start is None:
            return items[:limit], len(items) > limit


async def batch_get(client: Any, table: str, keys: list[Item]) -> list[Item]:
    found: list[Item] = []
    for offset in range(0, len(keys), BATCH_GET_LIMIT):
        request = {
            table: {
                "Keys": keys[offset : offset + BATCH_GET_LIMIT],
                "ConsistentRead": True,
            }
        }
        attempt = 0
        while request:
            response = await client.batch_get_item(RequestItems=request)
            found.extend(response["Responses"].get(table, []))
            request = response.get("UnprocessedKeys") or {}
            if request:
                attempt += 1
                # Sustained throttling leaves keys unprocessed on every call: give up
                # rather than retry for ever inside a request that has a time budget.
                if attempt >= READ_ATTEMPTS:
                    raise DependencyUnavailable(
                        f"BatchGetItem left keys unprocessed {attempt} times in a row"
                    )
                await backoff(attempt)
    return found
