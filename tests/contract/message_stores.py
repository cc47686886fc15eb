"""The two message stores the contract suite holds to one behaviour: `FakeMessageStore` and
`DynamoMessageStore` on the local stack's DynamoDB Local. The DynamoDB store works on one table
per session (the suite's own), shared by every case: cases keep apart by using fresh users
(`tests.conftest.new_user`) and fresh message ids, as tests/integration/test_dynamo_store.py
does. Only the DynamoDB factory needs the session's stack, so a fake-only run starts nothing."""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any

from services.aws import AwsEndpoints, aws_session, client_config
from services.domain import UserId, utc_now
from services.dynamodb.keys import counter_key, log_key, n
from services.dynamodb.provisioning import ensure_table
from services.dynamodb.store import DynamoMessageStore
from services.local.stack import StackEndpoints
from services.ports import MessageStore
from services.retention import Retention
from tests.conftest import stack_settings
from tests.fakes import FakeMessageStore

# The DynamoDB client behind each store under test, for what only an old process would do.
_CLIENTS: weakref.WeakKeyDictionary[DynamoMessageStore, tuple[Any, str]] = (
    weakref.WeakKeyDictionary()
)


@contextlib.asynccontextmanager
async def fake_store(
    *, clock: Callable[[], datetime] = utc_now, retention: Retention | None = None
) -> AsyncIterator[MessageStore]:
    store = FakeMessageStore()
    store.now = clock
    store.retention = retention
    yield store


async def bump_version_unlogged(store: MessageStore, user_id: UserId) -> None:
    """What a process that predates the change log does to a counter: `ADD version 1`, with
    no logged change beside it (docs/conversations-design.md, section 7)."""
    if isinstance(store, FakeMessageStore):
        store.bump_version_unlogged(user_id)
        return
    assert isinstance(store, DynamoMessageStore)
    client, table = _CLIENTS[store]
    await add_unlogged_version(client, table, user_id)


async def expire_logged_change(store: MessageStore, user_id: UserId, version: int) -> None:
    """What TTL does to a logged change once it is past the retention: it is gone."""
    if isinstance(store, FakeMessageStore):
        del store.logs[user_id][version]
        return
    assert isinstance(store, DynamoMessageStore)
    client, table = _CLIENTS[store]
    await client.delete_item(TableName=table, Key=log_key(user_id, version))


async def add_unlogged_version(client: Any, table: str, user_id: UserId) -> None:
    """`ADD version 1` on the user's counter in `table`, as an old process does."""
    await client.update_item(
        TableName=table,
        Key=counter_key(user_id),
        UpdateExpression="ADD version :one, unread :zero",
        ExpressionAttributeValues={":one": n(1), ":zero": n(0)},
    )


@contextlib.asynccontextmanager
async def dynamo_store(
    stack: StackEndpoints,
    session_tag: str,
    *,
    clock: Callable[[], datetime] = utc_now,
    retention: Retention | None = None,
) -> AsyncIterator[MessageStore]:
    """`DynamoMessageStore` on a client of its own, on the suite's table for this session
    (created on first use; `ensure_table` is a no-op for a table that exists)."""
    settings = stack_settings(
        stack, session_tag, table_name=f"inboxql-store-contract-{session_tag}"
    )
    session = aws_session(settings, AwsEndpoints(dynamodb=stack.dynamodb_url))
    async with session.client(
        "dynamodb", endpoint_url=stack.dynamodb_url, config=client_config(settings)
    ) as client:
        await ensure_table(client, settings.table_name)
        store = DynamoMessageStore(client, settings.table_name, clock=clock, retention=retention)
        _CLIENTS[store] = (client, settings.table_name)
        yield store
