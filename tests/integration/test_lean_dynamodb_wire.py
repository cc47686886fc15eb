"""The lean DynamoDB path (services/dynamodb/lean_client.py) against a local HTTP stub, for what
DynamoDB Local cannot show: standard-mode retries of throttles and of answers whose CRC32 is
wrong, the read timeout, SigV4 signatures a server can verify, refreshed credentials."""

from __future__ import annotations

import asyncio
import logging
import zlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from aiobotocore.credentials import AioRefreshableCredentials
from aiohttp import web
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError, ParamValidationError, ReadTimeoutError

from services.aws import LOCAL_CREDENTIALS, AwsEndpoints, aws_session, client_config
from services.dynamodb.lean_client import LeanDynamoDB
from services.settings import Settings
from tests.conftest import TEST_JWT_SECRET
from tests.integration.http_stub import serving

THROTTLED = {
    "__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException",
    "message": "Rate of requests exceeds the allowed throughput.",
}
PAGE = {"Items": [{"pk": {"S": "USER#a"}, "sk": {"S": "E#1"}, "n": {"N": "7"}}], "Count": 1}
QUERY = {"TableName": "t", "KeyConditionExpression": "pk = :pk"}
ANSWERS = ("ok", "throttle", "bad-crc", "hang")


@dataclass
class Stub:
    """Answers each request with the next of `plan` (then "ok"), recording what it received."""

    plan: list[str] = field(default_factory=list)
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    released: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.received.append((dict(request.headers), body))
        answer = self.plan.pop(0) if self.plan else "ok"
        assert answer in ANSWERS
        if answer == "hang":
            await self.released.wait()  # past the client's read timeout: the test ends it
        payload = orjson.dumps(THROTTLED if answer == "throttle" else PAGE)
        crc = zlib.crc32(payload) + (1 if answer == "bad-crc" else 0)
        return web.Response(
            status=400 if answer == "throttle" else 200,
            body=payload,
            headers={"x-amz-crc32": str(crc & 0xFFFFFFFF), "x-amzn-RequestId": "r"},
            content_type="application/x-amz-json-1.0",
        )


@pytest.fixture
async def stub() -> AsyncIterator[tuple[Stub, str]]:
    stub = Stub()
    async with serving(stub.handle) as url:
        yield stub, url
        stub.released.set()


def settings(**overrides: object) -> Settings:
    base = Settings(stack="external", jwt_secret=TEST_JWT_SECRET, aws_max_attempts=3)
    return base.with_overrides(**overrides)


async def call_through_lean(url: str, config: Settings, call: Callable[[LeanDynamoDB], Any]) -> Any:
    session = aws_session(config, AwsEndpoints(dynamodb=url))
    async with session.client("dynamodb", endpoint_url=url, config=client_config(config)) as raw:
        return await call(LeanDynamoDB(raw))


def verified_key(headers: dict[str, str], body: bytes, url: str, secret: str) -> str:
    """The access key of a request whose SigV4 signature a server recomputes and finds
    right, from what it received and the headers the signature names."""
    authorization = headers["Authorization"]
    scheme, _, rest = authorization.partition(" ")
    parts = dict(part.strip().split("=", 1) for part in rest.split(","))
    assert scheme == "AWS4-HMAC-SHA256"
    key, _date, region, service, _ = parts["Credential"].split("/")
    assert service == "dynamodb"
    signed = parts["SignedHeaders"].split(";")
    named = {name: value for name, value in headers.items() if name.lower() in signed}
    request = AWSRequest("POST", url + "/", named, body)
    request.context["timestamp"] = headers["X-Amz-Date"]
    signer = SigV4Auth(Credentials(key, secret), service, region)
    expected = signer.signature(
        signer.string_to_sign(request, signer.canonical_request(request)), request
    )
    assert parts["Signature"] == expected, "the signature does not verify"
    return key


async def test_throttles_are_retried_and_every_attempt_is_signed(stub: tuple[Stub, str]) -> None:
    server, url = stub
    server.plan = ["throttle", "throttle"]
    answer = await call_through_lean(url, settings(), lambda c: c.query(**QUERY))
    assert answer["Items"] == PAGE["Items"]
    assert answer["ResponseMetadata"]["RetryAttempts"] == 2
    assert len(server.received) == 3
    secret = LOCAL_CREDENTIALS["aws_secret_access_key"]
    for attempt, (headers, body) in enumerate(server.received, start=1):
        assert verified_key(headers, body, url, secret) == LOCAL_CREDENTIALS["aws_access_key_id"]
        assert headers["X-Amz-Target"] == "DynamoDB_20120810.Query"
        assert headers["amz-sdk-request"] == f"attempt={attempt}"
        assert orjson.loads(body) == QUERY


async def test_past_the_attempts_a_throttle_is_the_clients_own_error(
    stub: tuple[Stub, str],
) -> None:
    server, url = stub
    server.plan = ["throttle"] * 5
    with pytest.raises(ClientError) as raised:
        await call_through_lean(url, settings(aws_max_attempts=2), lambda c: c.query(**QUERY))
    assert raised.value.response["Error"]["Code"] == "ThrottlingException"
    assert raised.value.operation_name == "Query"
    assert len(server.received) == 2


async def test_an_answer_whose_crc32_is_wrong_is_retried(stub: tuple[Stub, str]) -> None:
    server, url = stub
    server.plan = ["bad-crc"]
    keys = {"t": {"Keys": [{"pk": {"S": "USER#a"}, "sk": {"S": "E#1"}}]}}
    answer = await call_through_lean(url, settings(), lambda c: c.batch_get_item(RequestItems=keys))
    assert answer["ResponseMetadata"]["RetryAttempts"] == 1
    assert len(server.received) == 2


async def test_the_read_timeout_applies_and_is_retried(stub: tuple[Stub, str]) -> None:
    server, url = stub
    server.plan = ["hang", "hang"]
    config = settings(aws_max_attempts=2, read_timeout_seconds=0.3)
    with pytest.raises(ReadTimeoutError):
        await call_through_lean(url, config, lambda c: c.query(**QUERY))
    assert len(server.received) == 2


async def test_credentials_are_refreshed_before_they_sign(stub: tuple[Stub, str]) -> None:
    server, url = stub

    def issued(key: str, expiry: datetime) -> dict[str, str]:
        return {
            "access_key": f"{key}-key",
            "secret_key": f"{key}-secret",
            "token": "",
            "expiry_time": expiry.isoformat(),
        }

    async def refresh() -> dict[str, str]:
        return issued("fresh", datetime.now(UTC) + timedelta(hours=1))

    async def query_with_expired_credentials(client: LeanDynamoDB) -> Any:
        expired = issued("expired", datetime.now(UTC) - timedelta(minutes=1))
        credentials = AioRefreshableCredentials.create_from_metadata(
            expired, refresh_using=refresh, method="test"
        )
        client.wrapped._request_signer._credentials = credentials
        return await client.query(**QUERY)

    await call_through_lean(url, settings(), query_with_expired_credentials)
    [(headers, body)] = server.received
    assert verified_key(headers, body, url, "fresh-secret") == "fresh-key"


async def test_a_transaction_keeps_one_idempotency_token_across_its_retries(
    stub: tuple[Stub, str],
) -> None:
    # botocore fills TransactWriteItems' ClientRequestToken when the caller gives none; its
    # retries must carry the same one, or DynamoDB could apply a retried write twice.
    server, url = stub
    server.plan = ["throttle"]
    put = {"Put": {"TableName": "t", "Item": {"pk": {"S": "USER#a"}, "sk": {"S": "E#1"}}}}
    await call_through_lean(url, settings(), lambda c: c.transact_write_items(TransactItems=[put]))
    tokens = [orjson.loads(body).get("ClientRequestToken") for _, body in server.received]
    assert len(tokens) == 2 and tokens[0] and tokens[0] == tokens[1]
    server.received.clear()
    given = {"TransactItems": [put], "ClientRequestToken": "mine"}
    await call_through_lean(url, settings(), lambda c: c.transact_write_items(**given))
    [(_, body)] = server.received
    assert orjson.loads(body)["ClientRequestToken"] == "mine"


async def test_binary_parameters_take_the_lean_path_as_botocore_would_send_them(
    stub: tuple[Stub, str],
) -> None:
    # Every delivery's transaction holds a change-log item with a binary attribute: it must
    # not fall back to the client's slower path, and must reach DynamoDB as the client sends it.
    server, url = stub
    item = {"pk": {"S": "USER#a"}, "sk": {"S": "C#1"}, "m": {"B": b"\x00\xff\x10ids"}}
    put = {"Put": {"TableName": "t", "Item": item}}
    params = {"TransactItems": [put], "ClientRequestToken": "token"}

    async def both(lean: LeanDynamoDB) -> None:
        await lean.transact_write_items(**params)
        await lean.wrapped.transact_write_items(**params)

    await call_through_lean(url, settings(), both)
    [(ours_headers, ours), (theirs_headers, theirs)] = server.received
    assert "inboxql-lean" in ours_headers["User-Agent"]
    assert "inboxql-lean" not in theirs_headers["User-Agent"]
    assert orjson.loads(ours) == orjson.loads(theirs)
    assert orjson.loads(ours)["TransactItems"][0]["Put"]["Item"]["m"] == {"B": "AP8QaWRz"}


async def test_in_lambda_the_trace_header_goes_with_each_call(
    stub: tuple[Stub, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # botocore's `before-call` handler adds Lambda's X-Ray trace id to every call the function
    # makes; the lean path runs the client's `before-call` handlers too.
    server, url = stub
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "inboxql-worker")
    monkeypatch.setenv("_X_AMZN_TRACE_ID", "Root=1-5759e988-bd862e3fe1be46a994272793")
    await call_through_lean(url, settings(), lambda c: c.query(**QUERY))
    [(headers, _)] = server.received
    assert headers["X-Amzn-Trace-Id"] == "Root=1-5759e988-bd862e3fe1be46a994272793"


async def test_a_call_that_leaves_the_lean_path_says_so_once(
    stub: tuple[Stub, str], caplog: pytest.LogCaptureFixture
) -> None:
    # A parameter JSON cannot carry goes to the client, whose validation refuses it; the
    # lean path says which operation left it, once, since that call now costs several times
    # its CPU (every delivery once left it, unseen, for its binary message id).
    server, url = stub
    item = {"pk": {"S": "USER#a"}, "sk": {"S": "E#1"}, "tags": {"SS": {"a", "b"}}}

    async def twice(lean: LeanDynamoDB) -> None:
        for _ in range(2):
            with pytest.raises(ParamValidationError):
                await lean.put_item(TableName="t", Item=item)

    with caplog.at_level(logging.WARNING, logger="inboxql.aws"):
        await call_through_lean(url, settings(), twice)
    said = [r.getMessage() for r in caplog.records if r.name == "inboxql.aws"]
    assert len(said) == 1 and said[0].startswith("PutItem left the lean path")
    assert server.received == []
