"""The lean path to SQS (services/lean_client.py) for the delivery queue's calls: a send's
SendMessage or SendMessageBatch, and the worker's ReceiveMessage and DeleteMessageBatch. SQS
answers in JSON as the client returns it; an answer holding binary message attributes (which
InboxQL never sends) is parsed by botocore's parser, which decodes them to bytes."""

from __future__ import annotations

from typing import Any

from services.lean_client import LeanJsonClient


class LeanSqs(LeanJsonClient):
    """An aiobotocore SQS client whose queue calls take the leaner path; every other attribute
    is the wrapped client's."""

    binary_markers = (b'"BinaryValue":', b'"BinaryListValues":')

    async def send_message(self, **params: Any) -> dict[str, Any]:
        return await self._call("SendMessage", "send_message", params)

    async def send_message_batch(self, **params: Any) -> dict[str, Any]:
        return await self._call("SendMessageBatch", "send_message_batch", params)

    async def receive_message(self, **params: Any) -> dict[str, Any]:
        return await self._call("ReceiveMessage", "receive_message", params)

    async def delete_message_batch(self, **params: Any) -> dict[str, Any]:
        return await self._call("DeleteMessageBatch", "delete_message_batch", params)
