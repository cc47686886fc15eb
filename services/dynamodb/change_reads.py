"""Reading a user's change log: one strongly consistent Query from `since + 1` up, and what
its answer proves (docs/conversations-design.md, section 3).

The log answers only with a gap-free run: a version it no longer holds (expired, or written by
a process that predates the log) or one older than the retention is SYNC_TOO_OLD, and the
client reloads. 101 items of ~70 B are 2 read units."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.change_log import MAX_VERSION, ChangeBatch
from services.domain import UnreadCount, UserId
from services.dynamodb.change_items import decode_change, is_past_retention
from services.dynamodb.keys import Item, log_sk, s, user_pk
from services.dynamodb.read_inputs import read_counter_state
from services.errors import BadUserInput, SyncTooOld


async def read_counter(client: Any, table: str, user_id: UserId) -> UnreadCount:
    """The counter as the API shows it: its count and version."""
    state = await read_counter_state(client, table, user_id)
    return UnreadCount(state.unread, state.version)


def _too_old(since: int) -> SyncTooOld:
    return SyncTooOld(f"the changes after version {since} are no longer kept: reload")


async def read_changes(
    client: Any, table: str, user_id: UserId, *, since: int, limit: int, now: datetime
) -> ChangeBatch:
    if since >= MAX_VERSION:
        raise BadUserInput(f"`since` {since} is beyond the current version")
    items = await _log_from(client, table, user_id, since + 1, limit + 1)
    if not items:
        # Nothing logged after `since`: either nothing happened, or what did is gone.
        current = (await read_counter(client, table, user_id)).version
        if current < since:
            raise BadUserInput(f"`since` {since} is beyond the current version {current}")
        if current > since:
            raise _too_old(since)
        return ChangeBatch((), since, False)
    changes = [decode_change(item) for item in items]
    for offset, (change, item) in enumerate(zip(changes, items, strict=True)):
        if change.version != since + 1 + offset or is_past_retention(item, now):
            raise _too_old(since)
    page = tuple(changes[:limit])
    has_more = len(changes) > limit
    if not has_more and await _unlogged_after(client, table, user_id, page[-1].version):
        raise _too_old(since)
    return ChangeBatch(page, page[-1].version, has_more)


async def _log_from(client: Any, table: str, user_id: UserId, first: int, limit: int) -> list[Item]:
    response = await client.query(
        TableName=table,
        KeyConditionExpression="pk = :pk AND sk BETWEEN :low AND :high",
        ExpressionAttributeValues={
            ":pk": s(user_pk(user_id)),
            ":low": s(log_sk(first)),
            ":high": s(log_sk(MAX_VERSION)),
        },
        ScanIndexForward=True,
        Limit=limit,
        ConsistentRead=True,
    )
    found: list[Item] = response.get("Items", [])
    return found


async def _unlogged_after(client: Any, table: str, user_id: UserId, last: int) -> bool:
    """Whether the counter has moved past `last` without a logged change: only a process that
    predates the log writes such a version, and a page must not pass for the whole story when
    one follows it. A version committed after the page was read is logged (the log and the
    counter commit together), so a second look tells the two apart."""
    if (await read_counter(client, table, user_id)).version == last:
        return False
    return not await _log_from(client, table, user_id, last + 1, 1)
