"""Queries over GET /graphql (GraphQL-over-HTTP): parameters in the query string, APQ hashes
included; mutations stay POST-only (405); still signed in by the Authorization header only, and
never stored by a cache. Other methods get a GraphQL-shaped 405."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.conftest import new_user
from tests.e2e.conftest import GraphQLClient, Server
from tests.e2e.test_observability import grew, scrape

Client = Callable[[str], GraphQLClient]

GRJ = "application/graphql-response+json"
JSON = "application/json"
MEDIA_TYPES = [GRJ, JSON]
ME = "query Me($first: Int!) { me { id } messages(first: $first) { edges { cursor } } }"


async def get(
    http: httpx.AsyncClient,
    params: dict[str, str] | str,
    *,
    token: str | None,
    accept: str | None = GRJ,
) -> httpx.Response:
    request = http.build_request("GET", "/graphql", params=params)
    request.headers.pop("Accept", None)  # httpx sends */* unless told otherwise
    if accept is not None:
        request.headers["Accept"] = accept
    if token is not None:
        request.headers["Authorization"] = f"Bearer {token}"
    return await http.send(request)


def assert_refused(response: httpx.Response, status: int, code: str = "BAD_USER_INPUT") -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(GRJ)
    body = response.json()
    assert "data" not in body, body
    assert body["errors"][0]["extensions"]["code"] == code, body
    message: str = body["errors"][0]["message"]
    return message


@pytest.mark.parametrize("media_type", MEDIA_TYPES)
async def test_a_query_with_variables_and_operation_name_runs_over_get(
    server: Server, http: httpx.AsyncClient, media_type: str
) -> None:
    user = new_user("alice")
    params = {"query": ME, "variables": json.dumps({"first": 5}), "operationName": "Me"}
    response = await get(http, params, token=server.token(user), accept=media_type)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == f"{media_type}; charset=utf-8"
    assert response.json() == {"data": {"me": {"id": user}, "messages": {"edges": []}}}
    # One user's data: no shared or browser cache may keep it.
    assert response.headers["cache-control"] == "private, no-store"


async def test_a_mutation_over_get_is_405_and_runs_nothing(
    server: Server, http: httpx.AsyncClient, as_user: Client
) -> None:
    alice, bob = new_user("alice"), new_user("bob")
    mutation = 'mutation { sendMessage(input: {recipientId: "%s", body: "via GET"}) { id } }'
    response = await get(http, {"query": mutation % alice}, token=server.token(bob))
    assert "POST" in assert_refused(response, 405)
    assert response.headers["allow"] == "POST"
    marker = await as_user(bob).send(alice, "marker")
    await as_user(alice).wait_for_count(1)
    inbox = await as_user(alice).data("{ messages { edges { node { id } } } }")
    assert [edge["node"]["id"] for edge in inbox["messages"]["edges"]] == [marker["id"]]


async def test_a_named_mutation_in_a_document_with_a_query_is_405(
    server: Server, http: httpx.AsyncClient
) -> None:
    document = "query Q { me { id } } mutation M { markAllRead { unreadCount } }"
    params = {"query": document, "operationName": "M"}
    assert_refused(await get(http, params, token=server.token(new_user("a"))), 405)
    params["operationName"] = "Q"
    assert (await get(http, params, token=server.token(new_user("a")))).status_code == 200


async def test_persisted_query_hash_over_get(server: Server, http: httpx.AsyncClient) -> None:
    """Apollo's useGETForHashedQueries: the hash alone, then the document with it, then the
    hash alone runs it."""
    user = new_user("alice")
    token = server.token(user)
    query = f"query Me_{uuid.uuid4().hex} {{ me {{ id }} }}"
    digest = hashlib.sha256(query.encode()).hexdigest()
    extensions = json.dumps({"persistedQuery": {"version": 1, "sha256Hash": digest}})
    missing = await get(http, {"extensions": extensions}, token=token, accept="*/*")
    assert missing.status_code == 200  # application/json, as Apollo's clients expect
    assert missing.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    registered = await get(http, {"query": query, "extensions": extensions}, token=token)
    assert registered.json() == {"data": {"me": {"id": user}}}
    by_hash = await get(http, {"extensions": extensions}, token=token)
    assert by_hash.status_code == 200, by_hash.text
    assert by_hash.json() == {"data": {"me": {"id": user}}}


async def test_get_without_a_token_is_unauthenticated(http: httpx.AsyncClient) -> None:
    """Only the Authorization header signs a request in: a cross-site link cannot act."""
    response = await get(http, {"query": "{ me { id } }"}, token=None)
    assert_refused(response, 401, "UNAUTHENTICATED")


Q = "query=%7B+me+%7B+id+%7D+%7D"  # { me { id } }
MALFORMED = {
    "variables-not-json": f"{Q}&variables=%7Bnope",
    "variables-not-object": f"{Q}&variables=%5B1%5D",
    "variables-lone-surrogate": f"{Q}&variables=%7B%22s%22%3A%22%5Cud800%22%7D",
    # The UTF-8 form of a surrogate code point, which is not UTF-8.
    "not-utf8": f"{Q}&operationName=%ED%A0%80",
    "query-twice": f"{Q}&{Q}",
    "no-query": "operationName=Me",
    "extensions-not-object": f"{Q}&extensions=7",
    "parse-error": "query=%7B+me+%7B",
    "subscription": "query=subscription+%7B+unreadCount+%7D",
}


@pytest.mark.parametrize("case", list(MALFORMED))
async def test_malformed_get_requests_are_400(
    server: Server, http: httpx.AsyncClient, case: str
) -> None:
    response = await get(http, MALFORMED[case], token=server.token(new_user("alice")))
    assert_refused(response, 400)
    assert response.headers["cache-control"] == "private, no-store"


async def test_get_queries_are_served_from_the_response_cache(
    server: Server, http: httpx.AsyncClient
) -> None:
    params = {"query": "{ unreadCount messages(first: 3) { edges { cursor } } }"}
    token = server.token(new_user("alice"))
    first = await get(http, params, token=token)
    before = await scrape(http)
    second = await get(http, params, token=token)
    after = await scrape(http)
    assert second.json() == first.json() == {"data": {"unreadCount": 0, "messages": {"edges": []}}}
    assert grew(before, after, "inboxql_response_cache_lookups_total", result="hit") == 1


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "OPTIONS"])
@pytest.mark.parametrize("media_type", MEDIA_TYPES)
async def test_other_methods_are_a_graphql_shaped_405(
    http: httpx.AsyncClient, method: str, media_type: str
) -> None:
    response = await http.request(
        method, "/graphql", json={"query": "{ me { id } }"}, headers={"Accept": media_type}
    )
    assert response.status_code == 405, response.text
    assert response.headers["allow"] == "GET, POST"
    assert response.headers["content-type"] == f"{media_type}; charset=utf-8"
    body: dict[str, Any] = response.json()
    assert "data" not in body
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
