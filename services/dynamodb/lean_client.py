"""The lean path to DynamoDB (services/lean_client.py) for the calls InboxQL makes most: the inbox
page's Query and BatchGetItem, a `changes` page's Query, and a send's and a delivery's GetItem,
PutItem, UpdateItem and TransactWriteItems. DynamoDB's answers already hold items in the
client's `{"S": ...}` form; only binary values need decoding
(services/dynamodb/binary_values.py)."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from services.dynamodb.binary_values import with_bytes
from services.lean_client import LeanJsonClient


class LeanDynamoDB(LeanJsonClient):
    """An aiobotocore DynamoDB client whose hot calls take the leaner path; every other
    attribute is the wrapped client's."""

    # Binary attribute values, which botocore's parser turns into bytes and JSON leaves as base64.
    binary_markers = (b'"B":', b'"BS":')

    async def query(self, **params: Any) -> dict[str, Any]:
        return await self._call("Query", "query", params)

    async def batch_get_item(self, **params: Any) -> dict[str, Any]:
        return await self._call("BatchGetItem", "batch_get_item", params)

    async def get_item(self, **params: Any) -> dict[str, Any]:
        return await self._call("GetItem", "get_item", params)

    async def put_item(self, **params: Any) -> dict[str, Any]:
        return await self._call("PutItem", "put_item", params)

    async def update_item(self, **params: Any) -> dict[str, Any]:
        return await self._call("UpdateItem", "update_item", params)

    async def transact_write_items(self, **params: Any) -> dict[str, Any]:
        return await self._call("TransactWriteItems", "transact_write_items", params)

    def _route_key(self, name: str, params: dict[str, Any]) -> Hashable:
        return name, _tables(params)

    def _binary_answer(
        self, http: Any, content: bytes, parsed: dict[str, Any], operation: Any
    ) -> dict[str, Any]:
        return with_bytes(parsed)


def _tables(params: dict[str, Any]) -> tuple[str, ...]:
    """The tables a call names: its TableName, its RequestItems' keys, its TransactItems'
    tables. Where it goes can depend on them, so routes are kept per operation and tables."""
    if "TableName" in params:
        return (str(params["TableName"]),)
    if "RequestItems" in params:
        return tuple(sorted(params["RequestItems"]))
    return tuple(
        sorted(
            {
                str(action.get("TableName", ""))
                for item in params.get("TransactItems", [])
                for action in item.values()
            }
        )
    )
