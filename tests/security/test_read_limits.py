"""Response amplification and read floods: the static message-node limit refuses before
execution, over HTTP and WebSocket; every operation of a user counts against a per-user rate
limit shared through Redis, answers from the response cache included; persisted-query
registrations have a per-user quota."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from schema.message_nodes import DEFAULT_MAX_MESSAGE_NODES
from tests.conftest import new_user
from tests.e2e.conftest import Server
from tests.e2e.test_persisted_queries import persisted, sha256, unique_query
from tests.e2e.websocket_client import next_data, receive, session, subscribe
from tests.security.conftest import PERSISTED_QUERY_QUOTA, READ_RATE_LIMIT
from tests.security.test_query_limits import GRAPHQL_RESPONSE_JSON, codes

PAGE = "messages(first: 100) { edges { node { id body senderId sentAt } } }"
TEN_PAGES = "{ " + " ".join(f"m{n}: {PAGE}" for n in range(10)) + " }"


async def post(
    http: httpx.AsyncClient, token: str, body: dict[str, Any], accept: str = GRAPHQL_RESPONSE_JSON
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}", "Accept": accept}
    return await http.post("/graphql", json=body, headers=headers)


async def test_the_issues_ten_pages_are_refused_before_execution(
    secure_server: Server, http: httpx.AsyncClient
) -> None:
    token = secure_server.token(new_user("reader"))
    response = await post(http, token, {"query": TEN_PAGES})
    body = response.json()
    assert response.status_code == 400 and "data" not in body, body
    assert codes(body) == {"BAD_USER_INPUT"}
    message = body["errors"][0]["message"]
    assert f"limit is {DEFAULT_MAX_MESSAGE_NODES}" in message and "return 1000" in message
    # From the variables too.
    fields = " ".join(f"a{n}: messages(first: $n) {{ edges {{ cursor }} }}" for n in range(6))
    query = f"query($n: Int) {{ {fields} }}"
    refused = await post(http, token, {"query": query, "variables": {"n": 100}})
    assert refused.status_code == 400 and "return 600" in refused.json()["errors"][0]["message"]
    allowed = await post(http, token, {"query": query, "variables": {"n": 80}})
    assert allowed.status_code == 200 and "errors" not in allowed.json()
    page = await post(http, token, {"query": f"{{ {PAGE} }}"})
    assert page.status_code == 200 and "errors" not in page.json()


async def test_the_issues_ten_pages_are_refused_over_websocket(secure_server: Server) -> None:
    async with session(secure_server.ws_url, secure_server.token(new_user("reader"))) as ws:
        await subscribe(ws, "q", TEN_PAGES)
        message = await receive(ws)
    errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
    assert [error["extensions"]["code"] for error in errors] == ["BAD_USER_INPUT"], message
    assert f"limit is {DEFAULT_MAX_MESSAGE_NODES}" in errors[0]["message"]


async def test_reads_past_the_limit_are_429_with_retry_after(limited_server: Server) -> None:
    reader, other = new_user("reader"), new_user("other")
    async with httpx.AsyncClient(base_url=limited_server.url, timeout=30) as http:
        # The same inbox query each time: after the first, the response cache answers it
        # without executing anything, and each still counts.
        for _ in range(READ_RATE_LIMIT):
            ok = await post(http, limited_server.token(reader), {"query": "{ unreadCount }"})
            assert ok.status_code == 200, ok.text
        refused = await post(http, limited_server.token(reader), {"query": "{ unreadCount }"})
        body = refused.json()
        assert refused.status_code == 429 and "data" not in body, body
        assert codes(body) == {"RATE_LIMITED"}
        wait = body["errors"][0]["extensions"]["retryAfterSeconds"]
        assert isinstance(wait, int) and 1 <= wait <= 60
        assert refused.headers["Retry-After"] == str(wait)
        assert f"at most {READ_RATE_LIMIT} operations" in body["errors"][0]["message"]
        # Per user: another user's reads go through.
        fine = await post(http, limited_server.token(other), {"query": "{ unreadCount }"})
        assert fine.status_code == 200


async def test_websocket_operations_count_and_are_refused_past_the_limit(
    limited_server: Server,
) -> None:
    async with session(limited_server.ws_url, limited_server.token(new_user("ws"))) as ws:
        for n in range(READ_RATE_LIMIT):
            await subscribe(ws, f"q{n}", "{ unreadCount }")
            assert await next_data(ws, f"q{n}") == {"unreadCount": 0}
            assert (await receive(ws))["type"] == "complete"
        await subscribe(ws, "late", "{ unreadCount }")
        late = await receive(ws)
        await subscribe(ws, "sub", "subscription { unreadCount }")
        sub = await receive(ws)
    for message in (late, sub):
        errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
        assert [error["extensions"]["code"] for error in errors] == ["RATE_LIMITED"], message
        assert errors[0]["extensions"]["retryAfterSeconds"] >= 1


@pytest.mark.parametrize("accept", ["application/json", GRAPHQL_RESPONSE_JSON])
async def test_registrations_past_the_quota_run_but_are_not_stored(
    limited_server: Server, accept: str
) -> None:
    registrar = new_user("registrar")
    documents = [unique_query() for _ in range(PERSISTED_QUERY_QUOTA + 1)]
    async with httpx.AsyncClient(base_url=limited_server.url, timeout=30) as http:
        token = limited_server.token(registrar)
        for query in documents:
            registered = await post(
                http, token, {"query": query, "extensions": persisted(sha256(query))}, accept
            )
            # Over the quota too the operation runs and answers: only storing is refused.
            assert registered.status_code == 200 and "errors" not in registered.json()
        # A second user reads them by hash: stored documents are shared.
        reader = limited_server.token(new_user("hash-reader"))
        found = [
            (await post(http, reader, {"extensions": persisted(sha256(query))}, accept)).json()
            for query in documents
        ]
    assert all("data" in body for body in found[:PERSISTED_QUERY_QUOTA]), found
    assert found[-1]["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
