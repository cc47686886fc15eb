"""Delivery through the real queue and worker: exact counts under concurrency and duplicates."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

import aioboto3

from services.domain import Message, MessageId, UserId
from services.local.stack import StackEndpoints
from services.message_codec import encode_message
from tests.conftest import new_user
from tests.e2e.conftest import GraphQLClient, Server
from tests.polling import eventually

Client = Callable[[str], GraphQLClient]


async def test_hundred_concurrent_sends_from_several_senders_count_exactly(
    as_user: Client,
) -> None:
    alice = new_user("alice")
    senders = [as_user(new_user(f"sender{n}")) for n in range(5)]
    sent = await asyncio.gather(*(senders[n % 5].send(alice, f"burst {n}") for n in range(100)))
    assert len({m["id"] for m in sent}) == 100
    as_alice = as_user(alice)
    await as_alice.wait_for_count(100)
    inbox = await as_alice.data(
        "{ messages(first: 100) { edges { node { id } } pageInfo { hasNextPage } } }"
    )
    assert {e["node"]["id"] for e in inbox["messages"]["edges"]} == {m["id"] for m in sent}
    assert inbox["messages"]["pageInfo"]["hasNextPage"] is False


async def queue_is_empty(sqs: object, url: str) -> bool:
    attributes = (
        await sqs.get_queue_attributes(  # type: ignore[attr-defined]
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )
    )["Attributes"]
    return all(value == "0" for value in attributes.values())


async def test_duplicated_queue_delivery_changes_nothing(
    as_user: Client, server: Server, stack: StackEndpoints
) -> None:
    alice, bob = new_user("alice"), new_user("bob")
    sent = await as_user(bob).send(alice, "exactly once")
    await as_user(alice).wait_for_count(1)
    copy = Message(
        MessageId(sent["id"]),
        UserId(bob),
        UserId(alice),
        sent["body"],
        datetime.fromisoformat(sent["sentAt"]),
    )
    session = aioboto3.Session(
        region_name="us-east-1", aws_access_key_id="inboxql", aws_secret_access_key="inboxql"
    )
    async with session.client("sqs", endpoint_url=stack.sqs_url) as sqs:
        url = (await sqs.get_queue_url(QueueName=server.settings.queue_name))["QueueUrl"]
        for _ in range(3):
            await sqs.send_message(QueueUrl=url, MessageBody=encode_message(copy))
        await eventually(
            lambda: queue_is_empty(sqs, url), "the duplicates to be consumed", timeout=20
        )
    assert await as_user(alice).unread_count() == 1
    inbox = await as_user(alice).data("{ messages { edges { node { id body } } } }")
    assert inbox["messages"]["edges"] == [{"node": {"id": sent["id"], "body": "exactly once"}}]
