"""Operating the running server: `/metrics` after real traffic, and one message followed by its
request id through the server's JSON log, from `sendMessage` to the push.

The server is shared by the whole session, so metrics are compared before and after this
test's own traffic rather than read as absolute values.
"""

from __future__ import annotations

import json
import math
import os
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from services.observability.request_ids import is_request_id
from tests.conftest import new_user
from tests.e2e.conftest import DELIVERY_DEADLINE_SECONDS, GraphQLClient, Server
from tests.e2e.test_subscriptions import auth, connected, next_payload, subscribe
from tests.polling import eventually

Client = Callable[[str], GraphQLClient]
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
SEND = "mutation($input: SendMessageInput!) { sendMessage(input: $input) { id } }"


async def scrape(http: httpx.AsyncClient) -> Samples:
    response = await http.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def grew(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


async def wait_for_metric(
    http: httpx.AsyncClient, check: Callable[[Samples], bool], what: str
) -> Samples:
    samples: Samples = {}

    async def met() -> bool:
        nonlocal samples
        samples = await scrape(http)
        return check(samples)

    await eventually(met, what, timeout=DELIVERY_DEADLINE_SECONDS)
    return samples


async def test_metrics_count_operations_deliveries_and_cache_hits(
    server: Server, http: httpx.AsyncClient, as_user: Client
) -> None:
    alice, bob = new_user("alice"), new_user("bob")
    before = await scrape(http)

    sent = await as_user(bob).send(alice, "counted")
    await as_user(alice).wait_for_count(1)
    read = 'query ClientChosenName { message(id: "' + sent["id"] + '") { body } }'
    for _ in range(2):  # the first read fills the body cache, the second is served from it
        assert await as_user(alice).data(read) == {"message": {"body": "counted"}}
    assert await GraphQLClient(http, None).error_code("{ unreadCount }") == "UNAUTHENTICATED"

    after = await wait_for_metric(
        http,
        lambda s: grew(before, s, "inboxql_delivery_attempts_total", outcome="delivered") >= 1,
        "the delivery to be counted",
    )
    operations = "inboxql_graphql_operations_total"
    assert grew(before, after, operations, operation="sendMessage", type="mutation", outcome="ok")
    assert grew(before, after, operations, operation="message", type="query", outcome="ok") >= 2
    assert grew(
        before, after, operations, operation="unreadCount", type="query", outcome="UNAUTHENTICATED"
    )
    timed = grew(
        before,
        after,
        "inboxql_graphql_operation_duration_seconds_count",
        operation="sendMessage",
        type="mutation",
    )
    assert timed >= 1
    assert grew(before, after, "inboxql_message_cache_lookups_total", result="miss") >= 1
    assert grew(before, after, "inboxql_message_cache_lookups_total", result="hit") >= 1
    assert grew(before, after, "inboxql_delivery_latency_seconds_count", stage="persisted") >= 1
    assert grew(before, after, "inboxql_delivery_latency_seconds_count", stage="published") >= 1
    # Delivery within a few seconds of sentAt: the lag histogram's mean says so.
    latency = grew(before, after, "inboxql_delivery_latency_seconds_sum", stage="persisted")
    assert 0 <= latency < DELIVERY_DEADLINE_SECONDS * 2

    for queue in ("delivery", "dead_letter"):
        for state in ("visible", "in_flight"):
            size = after[
                ("inboxql_queue_messages", frozenset({"queue": queue, "state": state}.items()))
            ]
            assert not math.isnan(size) and size >= 0, (queue, state, size)
    # Operations are labelled by root field, never by the name a client gave them.
    assert not any("ClientChosenName" in label for key in after for _, label in key[1])


async def test_live_subscriptions_gauge_follows_an_open_subscription(
    server: Server, http: httpx.AsyncClient
) -> None:
    alice = new_user("alice")
    live = ("inboxql_live_subscriptions", frozenset({"subscription": "unreadCount"}.items()))
    closed = (
        "inboxql_graphql_operations_total",
        frozenset({"operation": "unreadCount", "type": "subscription", "outcome": "ok"}.items()),
    )
    before = await scrape(http)
    async with connected(server, auth(server, alice)) as ws:
        await subscribe(ws, "badge", "subscription { unreadCount }")
        assert await next_payload(ws, "badge") == {"data": {"unreadCount": 0}}
        while_open = await scrape(http)
        assert while_open[live] >= 1

        await ws.send(json.dumps({"id": "badge", "type": "complete"}))
        after = await wait_for_metric(
            http,
            lambda s: s.get(closed, 0.0) > before.get(closed, 0.0),
            "the completed subscription to be counted",
        )
        assert after[live] <= while_open[live] - 1


def server_log(server: Server) -> Path:
    # The server fixture sends the process's stdout and stderr to a file of its own.
    return Path(os.readlink(f"/proc/{server.process.pid}/fd/1"))


def json_lines(path: Path) -> Iterable[dict[str, Any]]:
    for line in path.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            yield json.loads(line)


async def test_a_request_id_follows_a_message_from_send_to_push(
    server: Server, http: httpx.AsyncClient
) -> None:
    alice, bob = new_user("alice"), new_user("bob")
    request_id = f"trace-{uuid.uuid4().hex[:12]}"
    async with connected(server, auth(server, alice)) as ws:
        # The socket has an id of its own, given in the handshake's answer.
        assert ws.response is not None
        assert is_request_id(ws.response.headers["X-Request-Id"])
        await subscribe(ws, "inbox", "subscription { messageReceived { id } }")
        # The subscription is live once a count subscription on the same socket has answered.
        await subscribe(ws, "badge", "subscription { unreadCount }")
        await next_payload(ws, "badge")

        response = await http.post(
            "/graphql",
            json={"query": SEND, "variables": {"input": {"recipientId": alice, "body": "trace"}}},
            headers={"Authorization": f"Bearer {server.token(bob)}", "X-Request-Id": request_id},
        )
        assert response.status_code == 200, response.text
        assert response.headers["X-Request-Id"] == request_id
        message_id = response.json()["data"]["sendMessage"]["id"]
        pushed = await next_payload(ws, "inbox")
        assert pushed == {"data": {"messageReceived": {"id": message_id}}}

    # The API accepted it, a worker stored and published it, and the pub/sub reader handed it
    # to the subscription: four lines, possibly from different tasks, all under one id.
    wanted = {"accepted", "stored", "published", "pushing"}
    lines: list[dict[str, Any]] = []
    found: set[str] = set()

    def all_logged() -> bool:
        nonlocal lines, found
        lines = [
            line for line in json_lines(server_log(server)) if line.get("request_id") == request_id
        ]
        found = {
            line["message"].split()[0] for line in lines if line.get("message_id") == message_id
        }
        return found >= wanted

    await eventually(
        all_logged,
        lambda: f"{wanted} in the log, only {found} in: {lines}",
        timeout=DELIVERY_DEADLINE_SECONDS,
    )
    loggers = {line["logger"] for line in lines}
    assert {"inboxql.inbox", "inboxql.delivery", "inboxql.events", "uvicorn.access"} <= loggers
    assert all(line["level"] in {"INFO", "DEBUG"} for line in lines), lines


async def test_a_request_without_a_sane_id_gets_one_and_logs_under_it(
    server: Server, http: httpx.AsyncClient
) -> None:
    alice, bob = new_user("alice"), new_user("bob")
    response = await http.post(
        "/graphql",
        json={"query": SEND, "variables": {"input": {"recipientId": alice, "body": "untraced"}}},
        headers={"Authorization": f"Bearer {server.token(bob)}", "X-Request-Id": "not a token"},
    )
    assert response.status_code == 200, response.text
    given = response.headers["X-Request-Id"]
    assert given != "not a token" and is_request_id(given)
    message_id = response.json()["data"]["sendMessage"]["id"]
    accepted = [
        line
        for line in json_lines(server_log(server))
        if line.get("message_id") == message_id and line["message"].startswith("accepted")
    ]
    # Logged before the response was sent, so already in the file.
    assert [line["request_id"] for line in accepted] == [given]
