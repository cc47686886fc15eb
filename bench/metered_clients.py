"""Clients that count what they are asked to do, in front of the real aiobotocore DynamoDB and
SQS clients and redis-py: every call passes through and is recorded on a `Meter`."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from botocore import xform_name
from botocore.exceptions import ClientError
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline, PubSub

from bench.dynamodb_sizing import action_key, transaction_units
from bench.meter import READ_OPERATIONS, Meter, as_text, byte_size
from services.dynamodb.keys import Item

CAPACITY_OPERATIONS = READ_OPERATIONS | {
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "BatchWriteItem",
    "TransactWriteItems",
}


class _MeteredAws:
    """Passes every attribute through to the aiobotocore client; its API calls are counted."""

    def __init__(self, client: Any, meter: Meter) -> None:
        self._client = client
        self._meter = meter
        self._operations = {xform_name(op): op for op in client.meta.service_model.operation_names}

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        operation = self._operations.get(name)
        if operation is None:
            return attribute

        async def call(**kwargs: Any) -> Any:
            return await self._call(operation, attribute, kwargs)

        return call

    async def _call(
        self, operation: str, method: Callable[..., Awaitable[Any]], kwargs: dict[str, Any]
    ) -> Any:
        return await method(**kwargs)


class MeteredDynamoDB(_MeteredAws):
    """Adds `ReturnConsumedCapacity="INDEXES"` to every call that takes it and sums the units.

    DynamoDB Local sizes a TransactWriteItems as a whole (2 units per KB of its largest item per
    table) where AWS bills every item (2 per started KB of each item, each index entry written
    likewise), so for those the units are computed by AWS's rule from the items' images before
    and after the call, read through the unmetered client."""

    async def _call(
        self, operation: str, method: Callable[..., Awaitable[Any]], kwargs: dict[str, Any]
    ) -> Any:
        if operation in CAPACITY_OPERATIONS:
            kwargs = dict(kwargs, ReturnConsumedCapacity="INDEXES")
        transaction = operation == "TransactWriteItems"
        keys = [action_key(action) for action in kwargs["TransactItems"]] if transaction else []
        before = await self._images(keys)
        try:
            response = await method(**kwargs)
        except ClientError as error:
            # A failed condition still consumes capacity; count it when it is reported.
            consumed: Any = error.response.get("ConsumedCapacity")
            self._meter.record_dynamodb(operation, kwargs, consumed)
            raise
        billed = None
        if transaction:
            billed = transaction_units(kwargs["TransactItems"], before, await self._images(keys))
        self._meter.record_dynamodb(operation, kwargs, response.get("ConsumedCapacity"), billed)
        return response

    async def _images(self, keys: list[tuple[str, Item]]) -> list[Item | None]:
        async def image(table: str, key: Item) -> Item | None:
            found = await self._client.get_item(TableName=table, Key=key, ConsistentRead=True)
            item: Item | None = found.get("Item")
            return item

        return list(await asyncio.gather(*(image(table, key) for table, key in keys)))


class MeteredSqs(_MeteredAws):
    """Counts requests by API name, and as billed: each started 64 KB of payload is one."""

    async def _call(
        self, operation: str, method: Callable[..., Awaitable[Any]], kwargs: dict[str, Any]
    ) -> Any:
        response = await method(**kwargs)
        payload = 0
        if operation == "SendMessage":
            payload = byte_size(kwargs.get("MessageBody"))
        elif operation == "SendMessageBatch":
            payload = sum(byte_size(entry.get("MessageBody")) for entry in kwargs["Entries"])
        elif operation == "ReceiveMessage":
            payload = sum(byte_size(raw.get("Body")) for raw in response.get("Messages", []))
        self._meter.record_sqs(operation, payload)
        return response


class MeteredPipeline(Pipeline):
    meter: Meter

    async def execute(self, raise_on_error: bool = True) -> list[Any]:
        commands = [args for args, _ in self.command_stack]
        results = await super().execute(raise_on_error)
        for args, result in zip(commands, results, strict=False):
            self.meter.record_redis(args, result)
        return results


class MeteredPubSub(PubSub):
    meter: Meter

    async def execute_command(self, *args: Any) -> Any:
        result = await super().execute_command(*args)
        self.meter.record_redis(args, result)
        return result

    async def parse_response(self, block: bool = True, timeout: float = 0) -> Any:  # noqa: ASYNC109
        response = await super().parse_response(block, timeout)
        if isinstance(response, list) and response and as_text(response[0]) == "message":
            self.meter.record_push(response)
        return response


class MeteredRedis(Redis):
    """Counts every command: direct, pipelined, and those of its pub/sub connections."""

    meter: Meter

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        result = await super().execute_command(*args, **options)  # type: ignore[no-untyped-call]
        self.meter.record_redis(args, result)
        return result

    def pipeline(self, transaction: bool = True, shard_hint: str | None = None) -> Pipeline:
        pipe = MeteredPipeline(
            self.connection_pool, self.response_callbacks, transaction, shard_hint
        )
        pipe.meter = self.meter
        return pipe

    def pubsub(self, **kwargs: Any) -> PubSub:
        pubsub = MeteredPubSub(self.connection_pool, **kwargs)
        pubsub.meter = self.meter
        return pubsub


def metered_redis(url: str, meter: Meter) -> MeteredRedis:
    client = MeteredRedis.from_url(url)
    assert isinstance(client, MeteredRedis)
    client.meter = meter
    return client
