"""A leaner path for the AWS calls InboxQL makes most, on services that speak AWS's JSON protocol
(DynamoDB and SQS): `services/dynamodb/lean_client.py` and `services/sqs/lean_client.py` name
the calls that take it.

An aiobotocore call spends most of its CPU on generic work: a dozen event emissions, parameter
validation, serialising and parsing by walking the service model's shapes (parsing a page of 20
items by shape costs about a millisecond), and the request and response objects between them.
The JSON protocol needs none of that for these calls: the request is the parameters as JSON,
and the answer is the response as the client returns it.

What carries behaviour is kept, and is the wrapped client's own:
- SigV4 by botocore's signer, with the client's credentials (refreshable ones refresh as they
  would in the client) and the endpoint and signing scope the client's ruleset resolves;
- the client's aiohttp session, so its connection pool, connect and read timeouts, and the
  mapping of transport failures to botocore's exceptions (ReadTimeoutError...);
- the client's `before-call` handlers (in Lambda, the X-Ray trace header), and a stubbed answer
  one of them gives, and its `before-send` hook, which may answer in the wire's place;
- the client's retry handler, reached through its `needs-retry` and `after-call` events: the
  standard mode's retryable errors and throttles, DynamoDB's CRC32 check of its answers,
  exponential backoff with jitter, and the retry quota shared with every other call;
- errors parsed by botocore's JSON parser and raised as the client's own ClientError classes
  (a cancelled transaction's reasons, a failed condition's item), with SQS's query-compatible
  error codes (`x-amzn-query-mode`, and the code its `after-call` handler picks);
- idempotency tokens (TransactWriteItems' ClientRequestToken) filled in once per call when the
  caller gave none, as botocore's handler does, so that its retries are idempotent;
- blobs (bytes) sent base64-encoded, as botocore's serializer sends them.

Parameters of any other type JSON cannot carry take the client's own path, whose validation
refuses them. Every other call is the wrapped client's, unchanged.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import uuid
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

import orjson
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.parsers import create_parser

log = logging.getLogger("inboxql.aws")


@dataclass(frozen=True, slots=True)
class _Route:
    url: str
    headers: dict[str, str]
    signing_name: str
    region: str


class LeanJsonClient:
    """An aiobotocore client of a JSON-protocol service, some of whose calls (a subclass's
    methods, through `_call`) take the leaner path; every other attribute is the client's."""

    # An answer holding one of these has binary values, which botocore's parser decodes to
    # bytes: `_binary_answer` does the same.
    binary_markers: tuple[bytes, ...] = ()

    def __init__(self, client: Any) -> None:
        self._client = client
        model = client.meta.service_model
        self._model = model
        self._service_id = model.service_id.hyphenize()
        self._target_prefix = model.metadata["targetPrefix"]
        self._headers = {
            "Content-Type": f"application/x-amz-json-{model.metadata['jsonVersion']}",
            "User-Agent": f"{client.meta.config.user_agent or 'Botocore'} inboxql-lean",
        }
        if model.is_query_compatible:
            # As botocore's serializer says it: errors then carry their query-protocol code.
            self._headers["x-amzn-query-mode"] = "true"
        self._routes: dict[Hashable, _Route] = {}
        self._left: set[str] = set()
        # Only for errors and binary answers: botocore's own parser, without the event system.
        self._parser = create_parser(model.metadata["protocol"])
        # The client's own endpoint ruleset (not a service operation: no IAM action).
        self._resolve_endpoint = client._resolve_endpoint_ruleset

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    @property
    def wrapped(self) -> Any:
        return self._client

    def _route_key(self, name: str, params: dict[str, Any]) -> Hashable:
        """What the endpoint of a call can depend on besides its operation (DynamoDB: its
        tables); routes are resolved once per key."""
        return name

    def _binary_answer(
        self, http: Any, content: bytes, parsed: dict[str, Any], operation: Any
    ) -> dict[str, Any]:
        """A successful answer that holds binary values (`parsed`, as JSON read it), with them
        decoded to bytes."""
        result: dict[str, Any] = self._parser.parse(_raw(http, content), operation.output_shape)
        result.pop("ResponseMetadata", None)
        return result

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
        except TypeError as error:
            # Not JSON (a Decimal, a set): the client's validation says what is wrong.
            self._say_left(name, error)
            result: dict[str, Any] = await getattr(self._client, method)(**params)
            return result
        context = self._context() | {"retries": {"invocation-id": str(uuid.uuid4())}}
        key = self._route_key(name, params)
        route = self._routes.get(key)
        if route is None:
            route = self._routes[key] = await self._route(name, operation, params)
        headers = {
            **route.headers,
            **self._headers,
            "X-Amz-Target": f"{self._target_prefix}.{name}",
            "amz-sdk-invocation-id": context["retries"]["invocation-id"],
        }
        request = {"url": route.url, "method": "POST", "headers": headers, "body": body}
        request["context"] = context
        _, stubbed = await self._client.meta.events.emit_until_response(
            f"before-call.{self._service_id}.{name}",
            model=operation,
            params=request,
            request_signer=self._client._request_signer,
            context=context,
        )
        if stubbed is None:
            http, parsed, attempts = await self._send(operation, route, request, context)
        else:
            (http, parsed), attempts = stubbed, 1
        parsed.setdefault("ResponseMetadata", {})["RetryAttempts"] = attempts - 1
        await self._client.meta.events.emit(
            f"after-call.{self._service_id}.{name}",
            http_response=http,
            parsed=parsed,
            model=operation,
            context=context,
        )
        if http.status_code >= 300:
            code = context.get("error_code_override") or parsed.get("Error", {}).get("Code")
            raise self._client.exceptions.from_code(code)(parsed, name)
        return parsed

    def _say_left(self, name: str, error: TypeError) -> None:
        """Once per operation: a call that leaves the lean path costs several times the CPU,
        and nothing else would show it (every delivery once did, unseen, for its bytes)."""
        if name not in self._left:
            self._left.add(name)
            log.warning("%s left the lean path for aiobotocore's: %s", name, error)

    async def _send(
        self, operation: Any, route: _Route, request: dict[str, Any], context: dict[str, Any]
    ) -> tuple[Any, dict[str, Any], int]:
        """The call's attempts, as the client's retry handler allows them: the last answer
        (HTTP response, parsed body) and the attempts made, or the last attempt's error."""
        headers = request["headers"]
        attempts = 1
        while True:
            context["retries"]["attempt"] = attempts
            headers["amz-sdk-request"] = f"attempt={attempts}"
            response, error = await self._attempt(route, headers, request["body"], operation)
            delay = await self._retry_delay(operation, context, attempts, response, error)
            if delay is None:
                break
            await asyncio.sleep(delay)
            attempts += 1
        if error is not None:
            raise error
        assert response is not None
        return *response, attempts

    async def _route(self, name: str, operation: Any, params: dict[str, Any]) -> _Route:
        """Where the client would send `name` with these parameters, and how it would sign
        it: its own endpoint ruleset."""
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
            if any(marker in content for marker in self.binary_markers):
                parsed = self._binary_answer(http, content, parsed, operation)
            parsed["ResponseMetadata"] = {
                "RequestId": http.headers.get("x-amzn-requestid", ""),
                "HTTPStatusCode": http.status_code,
            }
            return parsed
        raw = _raw(http, content)
        result: dict[str, Any] = self._parser.parse(raw, operation.output_shape)
        # As the client's endpoint does: an error's modeled fields (a cancelled transaction's
        # CancellationReasons, the Item a failed condition returns) join the response.
        code = result.get("Error", {}).get("Code")
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


def _raw(http: Any, content: bytes) -> dict[str, Any]:
    """An answer as botocore's parser takes it."""
    return {"status_code": http.status_code, "headers": http.headers, "body": content}


def blob(value: object) -> str:
    """`orjson.dumps`'s default: bytes as botocore's serializer writes a blob, in base64."""
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(type(value).__name__)


def _idempotency_tokens(operation: Any) -> list[str]:
    """The members botocore fills with a fresh UUID when the caller gives none."""
    shape = operation.input_shape
    if shape is None:
        return []
    return [
        name for name, member in shape.members.items() if member.metadata.get("idempotencyToken")
    ]
