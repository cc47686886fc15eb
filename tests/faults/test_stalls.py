"""(g) DynamoDB or SQS stalled behind a proxy that accepts connections and forwards nothing: API
requests that need the stalled dependency fail within their time budget with a masked
INTERNAL_SERVER_ERROR, the rest keep working, and when the dependency comes back the server
recovers by itself. Sends accepted during a DynamoDB stall are delivered after it; a send that
failed during an SQS stall may or may not have happened (the proxy forwards held bytes on
resume, as a slow network would), but nothing is duplicated."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from services.domain import UserId
from services.local.stack import StackEndpoints
from services.settings import Settings
from services.tokens.verifiers import HmacTokenVerifier
from tests.conftest import TEST_JWT_SECRET, new_user
from tests.e2e.fleet import SEND
from tests.faults.checker import History, check
from tests.faults.conftest import fault_app, fault_settings, process_env, server_process, wait_quiet
from tests.faults.inbox_readers import read_inbox_graphql
from tests.faults.tcp_proxy import StallingProxy
from tests.polling import eventually

# The budget under test: 1 s to connect, 1 s to read, 2 attempts, so a few seconds at most.
BUDGET_ENV = {
    "INBOXQL_CONNECT_TIMEOUT": "1",
    "INBOXQL_READ_TIMEOUT": "1",
    "INBOXQL_AWS_MAX_ATTEMPTS": "2",
}
FAIL_WITHIN_SECONDS = 6.0  # 2 attempts x 1 s plus backoff, with room for a busy CPU
RECOVER_WITHIN_SECONDS = 30.0
COUNT = "{ unreadCount }"


def token(user: str) -> str:
    return HmacTokenVerifier(TEST_JWT_SECRET).issue(UserId(user), ttl_seconds=3600)


@asynccontextmanager
async def server_through(
    stack: StackEndpoints, settings: Settings, dynamodb: str, sqs: str, log: Path
) -> AsyncIterator[str]:
    """`server.py` (API and worker) reaching DynamoDB and SQS at the given URLs."""
    env = process_env(stack, settings) | BUDGET_ENV
    env |= {"AWS_ENDPOINT_URL_DYNAMODB": dynamodb, "AWS_ENDPOINT_URL_SQS": sqs}
    async with server_process(env, log) as server:
        yield server.url


@asynccontextmanager
async def proxied(stack: StackEndpoints) -> AsyncIterator[tuple[StallingProxy, StallingProxy]]:
    dynamodb, sqs = urlsplit(stack.dynamodb_url), urlsplit(stack.sqs_url)
    assert dynamodb.hostname and dynamodb.port and sqs.hostname and sqs.port
    async with (
        StallingProxy(dynamodb.hostname, dynamodb.port) as dynamodb_proxy,
        StallingProxy(sqs.hostname, sqs.port) as sqs_proxy,
    ):
        yield dynamodb_proxy, sqs_proxy


async def call(http: httpx.AsyncClient, user: str, query: str, variables: Any = None) -> Any:
    response = await http.post(
        "/graphql",
        json={"query": query, "variables": variables or {}},
        headers={"Authorization": f"Bearer {token(user)}"},
    )
    assert response.status_code < 500, response.text
    return response.json()


async def timed_failure(
    http: httpx.AsyncClient, user: str, query: str, variables: Any = None
) -> float:
    """The call fails, masked, within the budget; how long it took."""
    started = time.monotonic()
    body = await call(http, user, query, variables)
    took = time.monotonic() - started
    assert body.get("errors"), body
    error = body["errors"][0]
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR", body
    assert error["message"] == "Internal server error", body
    assert took < FAIL_WITHIN_SECONDS, f"took {took:.1f} s to fail"
    return took


async def recovered(http: httpx.AsyncClient, user: str) -> float:
    """Seconds until the server answers `unreadCount` again, by itself."""
    started = time.monotonic()

    async def answers() -> bool:
        return "errors" not in await call(http, user, COUNT)

    await eventually(answers, "the server to recover", timeout=RECOVER_WITHIN_SECONDS, interval=0.2)
    return time.monotonic() - started


async def send(http: httpx.AsyncClient, history: History, sender: str, to: str, body: str) -> bool:
    """One send: accepted (True) or failed, which makes it indeterminate."""
    reply = await call(http, sender, SEND, {"input": {"recipientId": to, "body": body}})
    if "errors" in reply:
        history.indeterminate(to, body)
        return False
    history.accepted(to, body, reply["data"]["sendMessage"]["id"])
    return True


async def test_stalled_dynamodb_and_sqs_fail_fast_masked_and_recover(
    stack: StackEndpoints, session_tag: str, tmp_path: Path
) -> None:
    history = History("dependency_stalls")
    alice, bob = new_user("stall"), new_user("stall")
    # Deliveries fail for as long as DynamoDB is stalled, and each failure is a receive: enough
    # receives that the stall (its sends wait out DynamoDB's budget before they are queued)
    # does not dead-letter what is in flight. Dead-lettering has its own run.
    settings = fault_settings(stack, session_tag, max_receive_count=20)
    timings: dict[str, float] = {}
    log = tmp_path / "server.log"
    async with (
        fault_app(stack, settings) as app,
        proxied(stack) as (dynamodb, sqs),
        server_through(stack, settings, dynamodb.url, sqs.url, log) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as http,
    ):
        for n in range(5):
            assert await send(http, history, alice, bob, f"before-{n}")

        dynamodb.pause()
        history.fault("dynamodb_stall")
        timings["dynamodb_stalled_read_failed_after_s"] = await timed_failure(http, bob, COUNT)
        # Sending needs SQS only: accepted now (once the message's record has waited out
        # DynamoDB's budget), delivered once DynamoDB is back.
        during = [send(http, history, alice, bob, f"during-dynamodb-{n}") for n in range(5)]
        assert all(await asyncio.gather(*during))
        dynamodb.resume()
        timings["dynamodb_recovered_after_s"] = await recovered(http, bob)

        sqs.pause()
        history.fault("sqs_stall")
        timings["sqs_stalled_send_failed_after_s"] = await timed_failure(
            http, alice, SEND, {"input": {"recipientId": bob, "body": "during-sqs"}}
        )
        history.indeterminate(bob, "during-sqs")
        # Reads need DynamoDB only, which is fine.
        assert "errors" not in await call(http, bob, COUNT)
        sqs.resume()
        started = time.monotonic()
        n = 0
        while not await send(http, history, alice, bob, f"after-sqs-{n}"):
            n += 1
            assert time.monotonic() - started < RECOVER_WITHIN_SECONDS, "never recovered"
        timings["sqs_recovered_after_s"] = time.monotonic() - started
        await wait_quiet(app)
        inboxes = [await read_inbox_graphql(http, u, token(u)) for u in (alice, bob)]
    verdict = check(history, inboxes, **{k: round(v, 2) for k, v in timings.items()})
    verdict.write()
    verdict.assert_ok()
    assert verdict.sent >= 11
