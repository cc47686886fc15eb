"""A leaner path to DynamoDB for the calls InboxQL makes most: the inbox page's Query and
BatchGetItem, and a send's and a delivery's GetItem, PutItem, UpdateItem and
TransactWriteItems.

An aiobotocore call spends most of its CPU on generic work: a dozen event emissions, parameter
validation, serialising and parsing by walking the service model's shapes (parsing a page of 20
items by shape costs about a millisecond), and the request and response objects between them.
DynamoDB's JSON protocol needs none of that for these calls: the request is the parameters as
JSON and the answer's items are already in the client's `{"S": ...}` form.

What carries behaviour is kept, and is the wrapped client's own:
- SigV4 by botocore's signer, with the client's credentials (refreshable ones refresh as they
  would in the client) and the endpoint and signing scope the client's ruleset resolves;
- the client's aiohttp session, so its connection pool, connect and read timeouts, and the
  mapping of transport failures to botocore's exceptions (ReadTimeoutError...);
- the client's `before-send` hook, which may answer in the wire's place;
- the client's retry handler, reached through its `needs-retry` and `after-call` events: the
  standard mode's retryable errors and throttles, its CRC32 check of DynamoDB's answers,
  exponential backoff with jitter, and the retry quota shared with every other call;
- errors parsed by botocore's JSON parser and raised as the client's own ClientError classes
  (a cancelled transaction's reasons, a failed condition's item);
- idempotency tokens (TransactWriteItems' ClientRequestToken) filled in once per call when the
  caller gave none, as botocore's handler does, so that its retries are idempotent.

Binary attribute values (the change log's message ids) are base64 both ways, as botocore
sends and parses them (services/dynamodb/binary_values.py). Parameters of any other type JSON
cannot carry take the client's own path, whose validation refuses them. Every other call is
the wrapped client's, unchanged.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

import orjson
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.parsers import create_parser

from services.dynamodb.binary_values import blob, with_bytes

# Binary attribute values, which botocore's parser turns into bytes and JSON leaves as base64.
_BINARY_MARKERS = (b'"B":', b'"BS":')


@dataclass(frozen=True, slots=True)
class _Route:
    url: str
    headers: dict[str, str]
    signing_name: str
    region: str


class LeanDynamoDB:
    """An aiobotocore DynamoDB client whose `query` and `batch_get_item` take the leaner path;
    every other attribute is the wrapped client's."""

    def __init__(self, client: Any) -> None:
        self._client = client
        model = client.meta.service_model
        self._model = model
        self._service_id = model.service_id.hyphenize()
        self._target_prefix = model.metadata["targetPrefix"]
        self._content_type = f"application/x-amz-json-{model.metadata['jsonVersion']}"
        self._routes: dict[tuple[str, tuple[str, ...]], _Route] = {}
        # Only for errors: botocore's own parser, without the event system.
        self._parser = create_parser(model.metadata["protocol"])
        self._user_agent = f"{client.meta.config.user_agent or 'Botocore'} inboxql-lean"
        # The client's own endpoint ruleset (not a DynamoDB operation: no IAM action).
        self._resolve_endpoint = client._resolve_endpoint_ruleset

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    @property
    def wrapped(self) -> Any:
        return self._client

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

    def _context(self) -> dict[str, Any]:
        """What the client's endpoint ruleset and retry handler read from a call's context."""
        return {
            "client_region": self._client.meta.region_name,
            "client_config": self._client.meta.config,
        }

    async def _call(self, name: str, method: str, params: dict[str, Any]) -> dict[str, Any]:
        operation = self._model.operation_model(name)
        # Once per call, before any attempt: every retry carries the same token.
        tokens = {
            member: str(uuid.uuid4())
            for member in _idempotency_tokens(operation)
            if member not in params
        }
        try:
            body = orjson.dumps(params | tokens if tokens else params, default=blob)
        except TypeError:
            # Not JSON (a Decimal, a set): the client's validation says what is wrong.
            result: dict[str, Any] = await getattr(self._client, method)(**params)
            return result
        context = self._context() | {"retries": {"invocation-id": str(uuid.uuid4())}}
        key = (name, _tables(params))
        route = self._routes.get(key)
        if route is None:
            route = self._routes[key] = await self._route(name, operation, params)
        headers = {
            **route.headers,
            "X-Amz-Target": f"{self._target_prefix}.{name}",
            "Content-Type": self._content_type,
            "User-Agent": self._user_agent,
            "amz-sdk-invocation-id": context["retries"]["invocation-id"],
        }
        attempts = 1
        while True:
            context["retries"]["attempt"] = attempts
            headers["amz-sdk-request"] = f"attempt={attempts}"
            response, error = await self._attempt(route, headers, body, operation)
            delay = await self._retry_delay(operation, context, attempts, response, error)
            if delay is None:
                break
            await asyncio.sleep(delay)
            attempts += 1
        if error is not None:
            raise error
        assert response is not None
        http, parsed = response
        parsed["ResponseMetadata"]["RetryAttempts"] = attempts - 1
        await self._client.meta.events.emit(
            f"after-call.{self._service_id}.{name}",
            http_response=http,
            parsed=parsed,
            model=operation,
            context=context,
        )
        if http.status_code >= 300:
            code = parsed.get("Error", {}).get("Code")
            raise self._client.exceptions.from_code(code)(parsed, name)
        return parsed

    async def _route(self, name: str, operation: Any, params: dict[str, Any]) -> _Route:
        """Where the client would send `name` with these tables, and how it would sign it:
        its own endpoint ruleset, resolved once per operation and tables."""
        context = self._context()
        url, headers, _ = await self._resolve_endpoint(operation, params, context)
        signing = context.get("signing", {})
        return _Route(
            url,
            dict(headers or {}),
            signing.get("signing_name") or self._model.signing_name,
            signing.get("region") or self._client.meta.region_name,
        )

    async def _attempt(
        self, route: _Route, headers: dict[str, str], body: bytes, operation: Any
    ) -> tuple[tuple[Any, dict[str, Any]] | None, Exception | None]:
        """One signed request: (the HTTP response, its parsed body), or what it raised."""
        credentials = await self._client._request_signer._credentials.get_frozen_credentials()
        request = AWSRequest("POST", route.url, dict(headers), body)
        SigV4Auth(credentials, route.signing_name, route.region).add_auth(request)
        prepared = request.prepare()
        try:
            # A `before-send` handler may answer instead of the wire (the client's stubs and
            # the fault tests use this hook); the client honours it, so this path does too.
            answers = await self._client.meta.events.emit(
                f"before-send.{self._service_id}.{operation.name}", request=prepared
            )
            http = next((answer for _, answer in answers if answer is not None), None)
            if http is None:
                http = await self._client._endpoint.http_session.send(prepared)
            content: bytes = await http.content
        except Exception as error:  # botocore's retry rules decide, as in the client
            return None, error
        return (http, self._parse(http, content, operation)), None

    def _parse(self, http: Any, content: bytes, operation: Any) -> dict[str, Any]:
        if http.status_code < 300:
            parsed: dict[str, Any] = orjson.loads(content)
            if any(marker in content for marker in _BINARY_MARKERS):
                with_bytes(parsed)
            parsed["ResponseMetadata"] = {
                "RequestId": http.headers.get("x-amzn-requestid", ""),
                "HTTPStatusCode": http.status_code,
            }
            return parsed
        raw = {"status_code": http.status_code, "headers": http.headers, "body": content}
        result: dict[str, Any] = self._parser.parse(raw, operation.output_shape)
        # As the client's endpoint does: an error's modeled fields (a cancelled transaction's
        # CancellationReasons, the Item a failed condition returns) join the response.
        code = result.get("Error", {}).get("Code") if http.status_code >= 300 else None
        error_shape = self._model.shape_for_error_code(code) if code else None
        if error_shape is not None:
            result.update(self._parser.parse(raw, error_shape))
        return result

    async def _retry_delay(
        self,
        operation: Any,
        context: dict[str, Any],
        attempts: int,
        response: tuple[Any, dict[str, Any]] | None,
        error: Exception | None,
    ) -> float | None:
        """The client's own retry decision: seconds to wait before the next attempt, or None."""
        answers = await self._client.meta.events.emit(
            f"needs-retry.{self._service_id}.{operation.name}",
            response=response,
            endpoint=self._client._endpoint,
            operation=operation,
            attempts=attempts,
            caught_exception=error,
            request_dict={"context": context},
        )
        for _, delay in answers:
            if delay is not None:
                return float(delay)
        return None


def _idempotency_tokens(operation: Any) -> list[str]:
    """The members botocore fills with a fresh UUID when the caller gives none."""
    shape = operation.input_shape
    if shape is None:
        return []
    return [
        name for name, member in shape.members.items() if member.metadata.get("idempotencyToken")
    ]


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
