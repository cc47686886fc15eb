"""The lean SQS path (services/sqs/lean_client.py): against the local stack's SQS, the same
answers and errors as the aiobotocore client it wraps; against a stub, the headers botocore
sends and the query-compatible error codes it maps. The adapters' own suite
(tests/integration/test_sqs_queue.py) runs on it too, on fauxqs and on moto."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
from aiohttp import web
from botocore.exceptions import ClientError

from services.app import App
from services.aws import AwsEndpoints, aws_session, client_config
from services.settings import Settings
from services.sqs.lean_client import LeanSqs
from tests.conftest import TEST_JWT_SECRET
from tests.integration.http_stub import serving

TRACE = {"traceparent": {"DataType": "String", "StringValue": "00-abc-def-01"}}


def lean_of(app: App) -> LeanSqs:
    lean = app.clients.sqs
    assert isinstance(lean, LeanSqs)
    return lean


def comparable(answer: dict[str, Any]) -> list[dict[str, Any]]:
    """A receive's messages without what differs between two sends of the same message."""
    return [
        {key: value for key, value in message.items() if key not in {"MessageId", "ReceiptHandle"}}
        | {"Attributes": sorted(message.get("Attributes", {}))}
        for message in answer.get("Messages", [])
    ]


async def test_a_round_trip_answers_as_the_client_does(app: App) -> None:
    lean = lean_of(app)
    answers = []
    for client in (lean, lean.wrapped):
        url = (await client.create_queue(QueueName=f"lean-{uuid.uuid4().hex[:12]}"))["QueueUrl"]
        entries = [
            {"Id": "0", "MessageBody": '{"body": "one"}', "MessageAttributes": TRACE},
            {"Id": "1", "MessageBody": "two"},
        ]
        sent = await client.send_message_batch(QueueUrl=url, Entries=entries)
        assert sorted(ok["Id"] for ok in sent["Successful"]) == ["0", "1"]
        assert sent.get("Failed", []) == []
        received = await client.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=1,
            MessageSystemAttributeNames=["ApproximateReceiveCount"],
            MessageAttributeNames=["traceparent"],
        )
        answers.append(sorted(comparable(received), key=lambda m: m["Body"]))
        receipts = [m["ReceiptHandle"] for m in received["Messages"]]
        deleted = await client.delete_message_batch(
            QueueUrl=url,
            Entries=[{"Id": str(i), "ReceiptHandle": r} for i, r in enumerate(receipts)],
        )
        assert len(deleted["Successful"]) == len(receipts) == 2
        single = await client.send_message(QueueUrl=url, MessageBody="three")
        assert single["MessageId"] and single["ResponseMetadata"]["HTTPStatusCode"] == 200
    ours, theirs = answers
    assert ours == theirs
    assert ours[1]["MessageAttributes"]["traceparent"]["StringValue"] == "00-abc-def-01"


async def test_errors_are_the_clients_own_exceptions(app: App) -> None:
    lean = lean_of(app)
    missing = lean.wrapped.meta.endpoint_url + "/000000000000/no-such-queue"
    with pytest.raises(lean.exceptions.QueueDoesNotExist) as ours:
        await lean.send_message(QueueUrl=missing, MessageBody="x")
    with pytest.raises(ClientError) as theirs:
        await lean.wrapped.send_message(QueueUrl=missing, MessageBody="x")
    assert type(ours.value) is type(theirs.value)
    assert ours.value.response["Error"] == theirs.value.response["Error"]


# --- the wire, against a stub -----------------------------------------------------------------

RECEIVED = {
    "Messages": [
        {
            "MessageId": "m-1",
            "ReceiptHandle": "r-1",
            "MD5OfBody": "x",
            "Body": "hello",
            "Attributes": {"ApproximateReceiveCount": "2"},
            "MessageAttributes": {"traceparent": TRACE["traceparent"]},
        }
    ]
}
NOT_THERE = {
    "__type": "com.amazonaws.sqs#QueueDoesNotExist",
    "message": "The specified queue does not exist.",
}


@pytest.fixture
async def stub() -> AsyncIterator[tuple[list[dict[str, str]], str]]:
    """Answers a receive with RECEIVED, anything else as a missing queue, as SQS in its
    query-compatible mode does; records the headers of every request."""
    seen: list[dict[str, str]] = []

    async def handle(request: web.Request) -> web.Response:
        seen.append(dict(request.headers))
        if request.headers["X-Amz-Target"] == "AmazonSQS.ReceiveMessage":
            return web.Response(body=orjson.dumps(RECEIVED), content_type="application/json")
        return web.Response(
            status=400,
            body=orjson.dumps(NOT_THERE),
            headers={"x-amzn-query-error": "AWS.SimpleQueueService.NonExistentQueue;Sender"},
            content_type="application/x-amz-json-1.0",
        )

    async with serving(handle) as url:
        yield seen, url


async def test_the_wire_carries_what_botocore_sends_and_maps_its_errors(
    stub: tuple[list[dict[str, str]], str],
) -> None:
    seen, url = stub
    settings = Settings(stack="external", jwt_secret=TEST_JWT_SECRET, aws_max_attempts=1)
    session = aws_session(settings, AwsEndpoints(sqs=url))
    async with session.client("sqs", endpoint_url=url, config=client_config(settings)) as raw:
        lean = LeanSqs(raw)
        queue = f"{url}/000000000000/q"
        ask = {"QueueUrl": queue, "MaxNumberOfMessages": 10, "MessageAttributeNames": ["All"]}
        ours, theirs = await lean.receive_message(**ask), await raw.receive_message(**ask)
        for answer in (ours, theirs):
            answer.pop("ResponseMetadata")
        assert ours == theirs == RECEIVED
        errors = []
        for client in (lean, raw):
            with pytest.raises(ClientError) as refused:
                await client.send_message(QueueUrl=queue, MessageBody="x")
            errors.append(refused.value)
    assert type(errors[0]) is type(errors[1]) is raw.exceptions.QueueDoesNotExist
    assert errors[0].response["Error"] == errors[1].response["Error"]
    lean_headers, botocore_headers = seen[0], seen[1]
    assert "inboxql-lean" in lean_headers["User-Agent"]
    for name in ("X-Amz-Target", "Content-Type", "x-amzn-query-mode"):
        assert lean_headers[name] == botocore_headers[name], name
