"""`ensure_table` on a table that exists: tables made by earlier releases predate the
`activity` index, so it must add the index online (UpdateTable), and the index must then serve
the items that were there before it.

The scenario is a developer's laptop upgrading: a persistent local stack of its own, holding a
table of the old shape, stopped and started again under the new code. Its own DynamoDB Local
also keeps the index build away from the session's shared instance, which by this point of a
full run has served every other test (there, a build once took over 5 minutes)."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from services.aws import AwsEndpoints, aws_session, client_config
from services.domain import MessageId, UserId
from services.dynamodb.keys import ACTIVITY_INDEX, s, user_pk
from services.dynamodb.provisioning import TABLE_DEFINITION, ensure_table
from services.dynamodb.read_state_items import decode_summary, summary_item
from services.local.stack import LocalStack
from services.read_state import ConversationSummary
from tests.conftest import CACHE_DIR, new_user, stack_settings


def definition_before_the_activity_index() -> dict[str, Any]:
    old = copy.deepcopy(TABLE_DEFINITION)
    old["GlobalSecondaryIndexes"] = [
        index for index in old["GlobalSecondaryIndexes"] if index["IndexName"] != ACTIVITY_INDEX
    ]
    old["AttributeDefinitions"] = [
        a for a in old["AttributeDefinitions"] if a["AttributeName"] != "act"
    ]
    return old


async def test_an_existing_table_gains_the_activity_index_with_its_items(
    tmp_path: Path, session_tag: str
) -> None:
    table = f"inboxql-before-activity-{uuid.uuid4().hex[:8]}"
    alice, bob = UserId(new_user("alice")), UserId(new_user("bob"))
    summary = ConversationSummary(bob, MessageId("01J00000000000000000000000"), False, 2, 5)
    # The old release's table, with an item in it.
    async with private_dynamodb(tmp_path, session_tag, table) as client:
        await client.create_table(TableName=table, **definition_before_the_activity_index())
        await client.put_item(TableName=table, Item=summary_item(alice, summary))
    # The new release starts on the same data.
    async with private_dynamodb(tmp_path, session_tag, table) as client:
        await ensure_table(client, table)
        await ensure_table(client, table)  # and again: nothing left to add

        described = (await client.describe_table(TableName=table))["Table"]
        statuses = {
            index["IndexName"]: index["IndexStatus"]
            for index in described["GlobalSecondaryIndexes"]
        }
        assert statuses == {"conversation": "ACTIVE", ACTIVITY_INDEX: "ACTIVE"}
        rows = await client.query(
            TableName=table,
            IndexName=ACTIVITY_INDEX,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": s(user_pk(alice))},
        )
        assert [decode_summary(row) for row in rows["Items"]] == [summary]


@contextlib.asynccontextmanager
async def private_dynamodb(data_dir: Path, tag: str, table: str) -> AsyncIterator[Any]:
    """A DynamoDB client on a persistent local stack of this test's own, in `data_dir`."""
    stack = LocalStack(data_dir, CACHE_DIR, persist=True)
    endpoints = await asyncio.to_thread(stack.start)
    try:
        settings = stack_settings(endpoints, tag, table_name=table)
        session = aws_session(settings, AwsEndpoints(dynamodb=endpoints.dynamodb_url))
        async with session.client(
            "dynamodb", endpoint_url=endpoints.dynamodb_url, config=client_config(settings)
        ) as client:
            yield client
    finally:
        await asyncio.to_thread(stack.stop)
