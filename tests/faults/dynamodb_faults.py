"""DynamoDB faults injected into a real aiobotocore client through botocore's event system.

A `before-send` handler answers chosen TransactWriteItems calls with a synthetic HTTP 400 instead
of sending them, so everything above the wire runs for real: botocore's standard-mode retry
(with its backoff and retry quota) for throttling, the store's own retry loop for cancelled
transactions, the worker's leave-it-on-the-queue for what is still failing after both.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from aiobotocore.awsrequest import AioAWSResponse
from botocore.compat import HTTPHeaders

EVENT = "before-send.dynamodb.TransactWriteItems"
ERROR_TYPE = "com.amazonaws.dynamodb.v20120810#"
# What each injectable fault looks like on the wire.
FAULT_BODIES: dict[str, dict[str, Any]] = {
    "ProvisionedThroughputExceededException": {
        "__type": ERROR_TYPE + "ProvisionedThroughputExceededException",
        "message": "The level of configured provisioned throughput for the table was exceeded.",
    },
    "ThrottlingException": {
        "__type": ERROR_TYPE + "ThrottlingException",
        "message": "Throughput exceeds the current capacity for one or more global indexes.",
    },
    # A transaction cancelled because another one holds the counter (AWS; never DynamoDB Local).
    "TransactionConflict": {
        "__type": ERROR_TYPE + "TransactionCanceledException",
        "Message": "Transaction cancelled, please refer cancellation reasons for specific "
        "reasons [None, None, TransactionConflict]",
        "CancellationReasons": [
            {"Code": "None"},
            {"Code": "None"},
            {"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"},
        ],
    },
}
ALWAYS = 10**9


class _Body:
    def __init__(self, data: bytes) -> None:
        self._data = data

    async def read(self) -> bytes:
        return self._data


class DynamoFaults:
    """Fails the delivery transactions of chosen messages, `times` attempts each (or always)."""

    def __init__(self, client: Any) -> None:
        self._events = client.meta.events
        self._plans: dict[str, list[tuple[str, int]]] = {}
        self.injected: Counter[str] = Counter()
        self.attempts: Counter[str] = Counter()
        self._events.register(EVENT, self._before_send)

    def fail(self, message_id: str, fault: str, times: int = ALWAYS) -> None:
        """Answer the next `times` delivery attempts of `message_id` with `fault`; plans for
        one message run one after the other."""
        assert fault in FAULT_BODIES, fault
        self._plans.setdefault(message_id, []).append((fault, times))

    def heal(self) -> None:
        self._plans.clear()

    def close(self) -> None:
        self._events.unregister(EVENT, self._before_send)

    def _before_send(self, request: Any, **_: Any) -> AioAWSResponse | None:
        message_id = _delivered_message_id(request.body)
        if message_id is None:
            return None
        self.attempts[message_id] += 1
        plan = self._plans.get(message_id)
        while plan and plan[0][1] <= 0:
            plan.pop(0)
        if not plan:
            return None
        fault, left = plan[0]
        plan[0] = (fault, left - 1)
        self.injected[fault] += 1
        body = json.dumps(FAULT_BODIES[fault]).encode()
        headers = HTTPHeaders()
        headers["Content-Type"] = "application/x-amz-json-1.0"
        headers["Content-Length"] = str(len(body))
        headers["x-amzn-RequestId"] = f"injected-{sum(self.injected.values())}"
        return AioAWSResponse(request.url, 400, headers, _Body(body))


def _delivered_message_id(body: bytes | str | None) -> str | None:
    """The message a delivery transaction delivers: its first item is the message's own row,
    checked (accepted by the API) or put (from an API that predates that)."""
    if not body:
        return None
    try:
        first = json.loads(body)["TransactItems"][0]
        if "ConditionCheck" in first:
            pk: str = first["ConditionCheck"]["Key"]["pk"]["S"]
        else:
            pk = first["Put"]["Item"]["pk"]["S"]
    except (KeyError, IndexError, TypeError, ValueError):
        return None
    return pk.removeprefix("MSG#") if pk.startswith("MSG#") else None


class UnprocessedReads:
    """BatchGetItem answered with every key unprocessed, `times` calls in a row (or always),
    as DynamoDB does under sustained read throttling."""

    EVENT = "before-send.dynamodb.BatchGetItem"

    def __init__(self, client: Any, times: int = ALWAYS) -> None:
        self._events = client.meta.events
        self.left = times
        self.calls = 0
        self._events.register(self.EVENT, self._before_send)

    def close(self) -> None:
        self._events.unregister(self.EVENT, self._before_send)

    def _before_send(self, request: Any, **_: Any) -> AioAWSResponse | None:
        self.calls += 1
        if self.left <= 0:
            return None
        self.left -= 1
        answer = {"Responses": {}, "UnprocessedKeys": json.loads(request.body)["RequestItems"]}
        body = json.dumps(answer).encode()
        headers = HTTPHeaders()
        headers["Content-Type"] = "application/x-amz-json-1.0"
        headers["Content-Length"] = str(len(body))
        return AioAWSResponse(request.url, 200, headers, _Body(body))
