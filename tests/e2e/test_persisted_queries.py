"""Automatic persisted queries over real HTTP, as Apollo documents the protocol: the client
sends the hash alone, gets PersistedQueryNotFound, sends the document with its hash (which
registers it and runs it), and from then on the hash alone runs it."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.conftest import new_user
from tests.e2e.conftest import GraphQLClient, Server

Client = Callable[[str], GraphQLClient]

GRJ = "application/graphql-response+json"
JSON = "application/json"
MEDIA_TYPES = [GRJ, JSON]


def sha256(query: str) -> str:
    return hashlib.sha256(query.encode()).hexdigest()


def persisted(sha256_hash: str, version: object = 1) -> dict[str, Any]:
    return {"persistedQuery": {"version": version, "sha256Hash": sha256_hash}}


def unique_query() -> str:
    """A document no other test (or earlier run against the same Redis) has registered."""
    return f"query Me_{uuid.uuid4().hex} {{ me {{ id unreadCount }} }}"


async def post(
    http: httpx.AsyncClient, body: dict[str, Any], *, token: str | None, accept: str = JSON
) -> httpx.Response:
    headers = {"Accept": accept}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return await http.post("/graphql", json=body, headers=headers)


def assert_not_found(response: httpx.Response, media_type: str) -> None:
    # Apollo answers 200; graphql-response+json forbids 2xx without `data`.
    assert response.status_code == (200 if media_type == JSON else 404), response.text
    assert response.headers["content-type"] == f"{media_type}; charset=utf-8"
    assert response.json() == {
        "errors": [
            {
                "message": "PersistedQueryNotFound",
                "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"},
            }
        ]
    }


def assert_refused(response: httpx.Response, message: str) -> None:
    assert response.status_code == 400, response.text
    body = response.json()
    assert "data" not in body
    assert body["errors"][0]["message"] == message
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


@pytest.mark.parametrize("media_type", MEDIA_TYPES)
async def test_query_miss_register_then_hit(
    server: Server, http: httpx.AsyncClient, media_type: str
) -> None:
    user = new_user("alice")
    token = server.token(user)
    query = unique_query()
    extensions = persisted(sha256(query))

    miss = await post(http, {"extensions": extensions}, token=token, accept=media_type)
    assert_not_found(miss, media_type)

    registered = await post(
        http, {"query": query, "extensions": extensions}, token=token, accept=media_type
    )
    assert registered.status_code == 200, registered.text
    expected = {"data": {"me": {"id": user, "unreadCount": 0}}}
    assert registered.json() == expected

    hit = await post(http, {"extensions": extensions}, token=token, accept=media_type)
    assert hit.status_code == 200, hit.text
    assert hit.json() == expected
    # Stored for everyone: another user's hash-only request runs the same document as them.
    other = new_user("bob")
    shared = await post(http, {"extensions": extensions}, token=server.token(other))
    assert shared.json() == {"data": {"me": {"id": other, "unreadCount": 0}}}


async def test_mutation_with_variables_miss_register_then_hit(
    server: Server, http: httpx.AsyncClient, as_user: Client
) -> None:
    alice, bob = new_user("alice"), new_user("bob")
    token = server.token(bob)
    mutation = (
        f"mutation Send_{uuid.uuid4().hex}($input: SendMessageInput!) "
        "{ sendMessage(input: $input) { id body recipientId } }"
    )
    extensions = persisted(sha256(mutation))

    def variables(body: str) -> dict[str, Any]:
        return {"input": {"recipientId": alice, "body": body}}

    miss = await post(
        http, {"variables": variables("never sent"), "extensions": extensions}, token=token
    )
    assert_not_found(miss, JSON)

    first = await post(
        http,
        {"query": mutation, "variables": variables("first"), "extensions": extensions},
        token=token,
    )
    assert first.status_code == 200, first.text
    sent_first = first.json()["data"]["sendMessage"]
    assert (sent_first["body"], sent_first["recipientId"]) == ("first", alice)

    second = await post(
        http,
        {
            "variables": variables("second"),
            "extensions": extensions,
            "operationName": mutation.split()[1].split("(", maxsplit=1)[0],
        },
        token=token,
    )
    assert second.status_code == 200, second.text
    sent_second = second.json()["data"]["sendMessage"]
    assert sent_second["body"] == "second"

    # Exactly the two executed sends arrive; the miss sent nothing.
    await as_user(alice).wait_for_count(2)
    inbox = await as_user(alice).data("{ messages { edges { node { id body } } } }")
    assert [edge["node"] for edge in inbox["messages"]["edges"]] == [
        {"id": sent_second["id"], "body": "second"},
        {"id": sent_first["id"], "body": "first"},
    ]


@pytest.mark.parametrize("media_type", MEDIA_TYPES)
async def test_wrong_hash_is_refused_and_registers_nothing(
    server: Server, http: httpx.AsyncClient, media_type: str
) -> None:
    token = server.token(new_user("alice"))
    query, other = unique_query(), unique_query()
    wrong = persisted(sha256(other))
    response = await post(
        http, {"query": query, "extensions": wrong}, token=token, accept=media_type
    )
    assert_refused(response, "provided sha does not match query")
    assert response.headers["content-type"] == f"{media_type}; charset=utf-8"
    assert_not_found(await post(http, {"extensions": wrong}, token=token), JSON)
    assert_not_found(await post(http, {"extensions": persisted(sha256(query))}, token=token), JSON)


@pytest.mark.parametrize("media_type", MEDIA_TYPES)
@pytest.mark.parametrize("version", [2, 0, "1", None, True, 1.5])
async def test_unsupported_version_is_refused(
    server: Server, http: httpx.AsyncClient, media_type: str, version: object
) -> None:
    query = unique_query()
    response = await post(
        http,
        {"query": query, "extensions": persisted(sha256(query), version=version)},
        token=server.token(new_user("alice")),
        accept=media_type,
    )
    assert_refused(response, "Unsupported persisted query version")


@pytest.mark.parametrize(
    "persisted_query",
    [
        "abc",
        [],
        {"version": 1},
        {"version": 1, "sha256Hash": 42},
        {"version": 1, "sha256Hash": "abc123"},
        {"version": 1, "sha256Hash": "z" * 64},
        {"version": 1, "sha256Hash": "../" + "a" * 61},
    ],
)
async def test_malformed_persisted_query_extension_is_400(
    server: Server, http: httpx.AsyncClient, persisted_query: object
) -> None:
    response = await post(
        http,
        {"extensions": {"persistedQuery": persisted_query}},
        token=server.token(new_user("alice")),
        accept=GRJ,
    )
    assert response.status_code == 400, response.text
    body = response.json()
    assert "data" not in body
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_oversized_document_is_refused_not_stored_but_runs_without_apq(
    server: Server, http: httpx.AsyncClient
) -> None:
    user = new_user("alice")
    token = server.token(user)
    query = unique_query() + "\n# " + "x" * 20_000
    extensions = persisted(sha256(query))
    response = await post(http, {"query": query, "extensions": extensions}, token=token)
    assert_refused(response, "a persisted query is at most 20000 bytes long")
    assert_not_found(await post(http, {"extensions": extensions}, token=token), JSON)
    plain = await post(http, {"query": query}, token=token)
    assert plain.json() == {"data": {"me": {"id": user, "unreadCount": 0}}}


async def test_invalid_document_is_not_stored(server: Server, http: httpx.AsyncClient) -> None:
    token = server.token(new_user("alice"))
    query = f"query Q_{uuid.uuid4().hex} {{ nosuchfield }}"
    extensions = persisted(sha256(query))
    invalid = await post(http, {"query": query, "extensions": extensions}, token=token)
    assert invalid.status_code == 200
    assert invalid.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert_not_found(await post(http, {"extensions": extensions}, token=token), JSON)


async def test_anonymous_registration_is_not_stored(
    server: Server, http: httpx.AsyncClient
) -> None:
    query = unique_query()
    extensions = persisted(sha256(query))
    anonymous = await post(http, {"query": query, "extensions": extensions}, token=None)
    assert anonymous.status_code == 200
    assert anonymous.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    token = server.token(new_user("alice"))
    assert_not_found(await post(http, {"extensions": extensions}, token=token), JSON)


async def test_hash_only_hit_still_reports_request_errors(
    server: Server, http: httpx.AsyncClient
) -> None:
    """A stored document runs like a sent one: bad variables are still a request error."""
    token = server.token(new_user("alice"))
    query = (
        f"query Page_{uuid.uuid4().hex}($n: Int) {{ messages(first: $n) {{ edges {{ cursor }} }} }}"
    )
    extensions = persisted(sha256(query))
    registered = await post(
        http, {"query": query, "variables": {"n": 1}, "extensions": extensions}, token=token
    )
    assert registered.json() == {"data": {"messages": {"edges": []}}}
    response = await post(
        http, {"variables": {"n": "many"}, "extensions": extensions}, token=token, accept=GRJ
    )
    assert response.status_code == 400
    assert "data" not in response.json()
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
