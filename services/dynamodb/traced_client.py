"""The lean DynamoDB client's traced kind, built when tracing is on: a client span per call on
the lean path (the hot calls: Query, BatchGetItem, GetItem, PutItem, UpdateItem,
TransactWriteItems), retries included, with OpenTelemetry's AWS SDK and DynamoDB attributes.

botocore's own instrumentation would not see these calls: the lean path never goes through
`_make_api_call` (services/lean_client.py). The calls it leaves to aiobotocore (table
provisioning) are not traced.
"""

from __future__ import annotations

from typing import Any

from opentelemetry.trace import SpanKind, Tracer

from services.dynamodb.lean_client import LeanDynamoDB, _tables


class TracedLeanDynamoDB(LeanDynamoDB):
    def __init__(self, client: Any, tracer: Tracer) -> None:
        super().__init__(client)
        self._tracer = tracer

    async def _call(self, name: str, method: str, params: dict[str, Any]) -> dict[str, Any]:
        attributes: dict[str, Any] = {
            "rpc.system": "aws-api",
            "rpc.service": "DynamoDB",
            "rpc.method": name,
            "db.system.name": "aws.dynamodb",
            "cloud.region": self._client.meta.region_name,
            "aws.dynamodb.table_names": list(_tables(params)),
        }
        with self._tracer.start_as_current_span(
            f"DynamoDB.{name}", kind=SpanKind.CLIENT, attributes=attributes
        ) as span:
            result = await super()._call(name, method, params)
            metadata = result.get("ResponseMetadata", {})
            if metadata.get("RequestId"):
                span.set_attribute("aws.request_id", metadata["RequestId"])
            span.set_attribute("inboxql.retry_attempts", metadata.get("RetryAttempts", 0))
            return result
