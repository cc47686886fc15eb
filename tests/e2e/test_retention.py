"""Retention end to end: `server.py` with `INBOXQL_RETENTION_DAYS=1` on the local stack. A
markRead gives both of the message's items their `expiresAt` in its own transaction; a
markAllRead answers at once, and its walk gives its messages theirs afterwards, in the server
process; markUnread takes it back. Read from the table itself: DynamoDB Local may not run TTL,
and what reads make of an expired item is held by the unit and contract suites."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from services.aws import AwsEndpoints, aws_session, client_config
from services.domain import MessageId, UserId
from services.dynamodb.keys import entry_key, message_key
from services.local.stack import StackEndpoints
from tests.conftest import new_user, stack_settings
from tests.e2e.conftest import GraphQLClient, Server, provision, serving
from tests.polling import eventually

MARK_ALL_READ = "mutation { markAllRead { unreadCount } }"
MARK_READ = "mutation($ids: [ID!]!) { markRead(ids: $ids) { unreadCount } }"
MARK_UNREAD = "mutation($ids: [ID!]!) { markUnread(ids: $ids) { unreadCount } }"
WALK_SECONDS = 20.0


@pytest.fixture(scope="module")
def retained_server(
    stack: StackEndpoints, session_tag: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    settings = stack_settings(stack, session_tag, queue_name=f"retention-{session_tag}")
    provision(stack, settings)
    log = tmp_path_factory.mktemp("retained") / "server.log"
    with serving(stack, settings, log, env={"INBOXQL_RETENTION_DAYS": "1"}) as server:
        yield server


@pytest.fixture
async def table(retained_server: Server, stack: StackEndpoints) -> AsyncIterator[Any]:
    settings = retained_server.settings
    session = aws_session(settings, AwsEndpoints(dynamodb=stack.dynamodb_url))
    async with session.client(
        "dynamodb", endpoint_url=stack.dynamodb_url, config=client_config(settings)
    ) as client:
        yield client


async def expiries(
    client: Any, table_name: str, user_id: str, message_id: str
) -> tuple[str | None, str | None]:
    found = []
    for key in (
        entry_key(UserId(user_id), MessageId(message_id)),
        message_key(MessageId(message_id)),
    ):
        response = await client.get_item(TableName=table_name, Key=key, ConsistentRead=True)
        found.append(response["Item"].get("expiresAt", {}).get("N"))
    return found[0], found[1]


async def test_expiry_is_set_by_marks_and_by_the_walk_after_a_horizon(
    retained_server: Server, table: Any
) -> None:
    name = retained_server.settings.table_name
    alice_id, bob_id = new_user("alice"), new_user("bob")
    async with httpx.AsyncClient(base_url=retained_server.url, timeout=30) as http:
        alice = GraphQLClient(http, retained_server.token(alice_id))
        bob = GraphQLClient(http, retained_server.token(bob_id))
        ids = [(await bob.send(alice_id, f"m{n}"))["id"] for n in range(4)]
        await alice.wait_for_count(4)

        await alice.data(MARK_READ, {"ids": [ids[0]]})
        entry, message = await expiries(table, name, alice_id, ids[0])
        assert entry is not None and entry == message

        await alice.data(MARK_UNREAD, {"ids": [ids[0]]})
        assert await expiries(table, name, alice_id, ids[0]) == (None, None)

        assert (await alice.data(MARK_ALL_READ))["markAllRead"]["unreadCount"] == 0

        async def walked() -> bool:
            found = [await expiries(table, name, alice_id, i) for i in ids]
            return all(e is not None and e == m for e, m in found)

        await eventually(walked, "the walk after markAllRead", timeout=WALK_SECONDS)
