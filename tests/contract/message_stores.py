"""The two message stores the contract suite holds to one behaviour: `FakeMessageStore` and
`DynamoMessageStore` on the local stack's DynamoDB Local. The DynamoDB store works on one table
per session (the suite's own), shared by every case: cases keep apart by using fresh users
(`tests.conftest.new_user`) and fresh message ids, as tests/integration/test_dynamo_store.py
does. Only the DynamoDB factory needs the session's stack, so a fake-only run starts nothing."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from services.aws import AwsEndpoints, aws_session, client_config
from services.dynamodb.provisioning import ensure_table
from services.dynamodb.store import DynamoMessageStore
from services.local.stack import StackEndpoints
from services.ports import MessageStore
from tests.conftest import stack_settings
from tests.fakes import FakeMessageStore


@contextlib.asynccontextmanager
async def fake_store() -> AsyncIterator[MessageStore]:
    yield FakeMessageStore()


@contextlib.asynccontextmanager
async def dynamo_store(stack: StackEndpoints, session_tag: str) -> AsyncIterator[MessageStore]:
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
        yield DynamoMessageStore(client, settings.table_name)
