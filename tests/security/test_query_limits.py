"""Documents over the limits are refused at validation, before any resolver runs; the HTTP
endpoint takes one JSON object per POST, with a bounded body; introspection and "Did you mean"
hints are off in external mode."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from schema import MAX_ALIASES, MAX_DEPTH, MAX_TOKENS
from tests.conftest import new_user
from tests.e2e.conftest import Server
from tests.polling import eventually
from tests.security.conftest import MAX_BODY_BYTES

DEADLINE_SECONDS = 20.0
GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"


async def post(
    http: httpx.AsyncClient,
    server: Server,
    user: str,
    query: str,
    accept: str = "application/json",
) -> httpx.Response:
    return await http.post(
        "/graphql",
        json={"query": query},
        headers={"Authorization": f"Bearer {server.token(user)}", "Accept": accept},
    )


def codes(body: dict[str, Any]) -> set[str]:
    return {error["extensions"]["code"] for error in body.get("errors", [])}


async def inbox_bodies_once_marked(http: httpx.AsyncClient, server: Server, user: str) -> list[str]:
    """`user`'s inbox once a marker message from a fresh sender has been delivered: whatever a
    refused document might have queued before it has had its chance too."""
    marker = await post(
        http,
        server,
        new_user("marker"),
        f'mutation {{ sendMessage(input: {{recipientId: "{user}", body: "marker"}}) {{ id }} }}',
    )
    assert "errors" not in marker.json(), marker.json()
    query = "{ messages(first: 100) { edges { node { body } } } }"
    bodies: list[str] = []

    async def delivered() -> bool:
        nonlocal bodies
        edges = (await post(http, server, user, query)).json()["data"]["messages"]["edges"]
        bodies = [edge["node"]["body"] for edge in edges]
        return "marker" in bodies

    await eventually(delivered, "the marker to be delivered", timeout=DEADLINE_SECONDS)
    return bodies


def sends(recipient: str, count: int) -> str:
    return " ".join(
        f'a{n}: sendMessage(input: {{recipientId: "{recipient}", body: "x{n}"}}) {{ id }}'
        for n in range(count)
    )


@pytest.mark.parametrize("through_fragment", [False, True])
async def test_too_many_aliases_run_nothing(
    secure_server: Server, http: httpx.AsyncClient, through_fragment: bool
) -> None:
    victim = new_user("victim")
    fields = sends(victim, MAX_ALIASES + 1)
    document = (
        f"mutation {{ ...Flood }} fragment Flood on Mutation {{ {fields} }}"
        if through_fragment
        else f"mutation {{ {fields} }}"
    )
    response = await post(http, secure_server, new_user("attacker"), document)
    body = response.json()
    assert response.status_code == 200 and body["data"] is None
    assert codes(body) == {"BAD_USER_INPUT"}
    assert any("aliases" in error["message"] for error in body["errors"])
    assert await inbox_bodies_once_marked(http, secure_server, victim) == ["marker"]


async def test_aliases_up_to_the_limit_validate(
    secure_server: Server, http: httpx.AsyncClient
) -> None:
    """The limit is the limit, not less: 30 aliases of a read pass."""
    fields = " ".join(f"c{n}: unreadCount" for n in range(MAX_ALIASES))
    body = (await post(http, secure_server, new_user("reader"), f"{{ {fields} }}")).json()
    assert "errors" not in body and len(body["data"]) == MAX_ALIASES


async def test_too_deep_is_refused(secure_server: Server, http: httpx.AsyncClient) -> None:
    # The schema is shallower than the limit, so no valid document reaches it: the limiter
    # still refuses the depth on its own (Strawberry's limiter skips `__schema` subtrees; with
    # introspection off, those are refused anyway).
    nested = "node { " + "next { " * MAX_DEPTH + "id" + " }" * MAX_DEPTH + " }"
    document = f"{{ messages {{ edges {{ {nested} }} }} }}"
    body = (await post(http, secure_server, new_user("reader"), document)).json()
    assert codes(body) == {"BAD_USER_INPUT"}
    assert any("maximum operation depth" in error["message"] for error in body["errors"])


async def test_too_many_tokens_are_refused_and_run_nothing(
    secure_server: Server, http: httpx.AsyncClient
) -> None:
    victim = new_user("victim")
    padding = " ".join("a" for _ in range(MAX_TOKENS))  # short: under the body limit
    document = (
        f'mutation {{ sendMessage(input: {{recipientId: "{victim}", body: "x"}}) '
        f"{{ id {padding} }} }}"
    )
    body = (await post(http, secure_server, new_user("attacker"), document)).json()
    assert codes(body) == {"BAD_USER_INPUT"}
    assert "tokens" in body["errors"][0]["message"].lower()
    assert await inbox_bodies_once_marked(http, secure_server, victim) == ["marker"]


async def test_a_repeated_directive_is_refused(
    secure_server: Server, http: httpx.AsyncClient
) -> None:
    document = "{ me { id @include(if: true) @include(if: true) } }"
    body = (await post(http, secure_server, new_user("reader"), document)).json()
    assert codes(body) == {"BAD_USER_INPUT"}


@pytest.mark.parametrize("accept", ["application/json", GRAPHQL_RESPONSE_JSON])
async def test_a_batch_is_refused_clearly(
    secure_server: Server, http: httpx.AsyncClient, accept: str
) -> None:
    victim = new_user("victim")
    send = f'sendMessage(input: {{recipientId: "{victim}", body: "x"}}) {{ id }}'
    one = {"query": f"mutation {{ {send} }}"}
    response = await http.post(
        "/graphql",
        json=[one, one],
        headers={"Authorization": f"Bearer {secure_server.token(new_user('a'))}", "Accept": accept},
    )
    assert response.status_code == 400
    body = response.json()
    assert "data" not in body
    assert body["errors"][0]["message"] == "the request body must be a JSON object"
    assert codes(body) == {"BAD_USER_INPUT"}
    assert await inbox_bodies_once_marked(http, secure_server, victim) == ["marker"]


@pytest.mark.parametrize(
    "document",
    [
        "{ __schema { queryType { name } } }",
        '{ __type(name: "Message") { fields { name } } }',
    ],
)
async def test_introspection_is_off_in_external_mode(
    secure_server: Server, http: httpx.AsyncClient, document: str
) -> None:
    body = (await post(http, secure_server, new_user("reader"), document)).json()
    assert body["data"] is None and codes(body) == {"BAD_USER_INPUT"}
    assert "introspection" in body["errors"][0]["message"].lower()


async def test_typename_still_works(secure_server: Server, http: httpx.AsyncClient) -> None:
    body = (await post(http, secure_server, new_user("reader"), "{ __typename }")).json()
    assert body == {"data": {"__typename": "Query"}}


@pytest.mark.parametrize(
    ("document", "variables"),
    [
        ("{ mee { id } }", None),
        ("{ messages(frist: 1) { edges { cursor } } }", None),
        (
            "mutation($i: SendMessageInput!) { sendMessage(input: $i) { id } }",
            {"i": {"recipientI": "x", "body": "y"}},
        ),
    ],
)
async def test_no_field_suggestions_in_external_mode(
    secure_server: Server, http: httpx.AsyncClient, document: str, variables: Any
) -> None:
    response = await http.post(
        "/graphql",
        json={"query": document, "variables": variables},
        headers={"Authorization": f"Bearer {secure_server.token(new_user('r'))}"},
    )
    body = response.json()
    assert codes(body) == {"BAD_USER_INPUT"}
    assert all("Did you mean" not in error["message"] for error in body["errors"]), body


@pytest.mark.parametrize(
    ("content_type", "content"),
    [
        ("application/x-www-form-urlencoded", b"query=mutation%7BmarkAllRead%7BunreadCount%7D%7D"),
        (
            "multipart/form-data; boundary=x",
            b'--x\r\nContent-Disposition: form-data; name="query"\r\n\r\n'
            b"mutation{markAllRead{unreadCount}}\r\n--x--\r\n",
        ),
        ("text/plain", b'{"query": "mutation { markAllRead { unreadCount } }"}'),
    ],
)
async def test_cross_site_content_types_are_415(
    secure_server: Server, http: httpx.AsyncClient, content_type: str, content: bytes
) -> None:
    response = await http.post(
        "/graphql",
        content=content,
        headers={
            "Content-Type": content_type,
            "Authorization": f"Bearer {secure_server.token(new_user('r'))}",
        },
    )
    assert response.status_code == 415
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_no_mutation_via_get(secure_server: Server, http: httpx.AsyncClient) -> None:
    victim = new_user("victim")
    query = f'mutation {{ sendMessage(input: {{recipientId: "{victim}", body: "x"}}) {{ id }} }}'
    for accept in ("application/json", "text/html"):
        response = await http.get(
            "/graphql",
            params={"query": query},
            headers={
                "Authorization": f"Bearer {secure_server.token(new_user('a'))}",
                "Accept": accept,
            },
        )
        # Queries run over GET, mutations never (405); text/html is no GraphQL media type
        # (406). GraphiQL is off in external mode, and a GET with a query is no page anyway.
        assert response.status_code == (405 if accept == "application/json" else 406)
    assert await inbox_bodies_once_marked(http, secure_server, victim) == ["marker"]


async def test_a_body_over_the_limit_is_413(secure_server: Server, http: httpx.AsyncClient) -> None:
    big = {"query": "{ unreadCount }", "variables": {"pad": "x" * MAX_BODY_BYTES}}
    response = await http.post(
        "/graphql", json=big, headers={"Authorization": f"Bearer {secure_server.token('u')}"}
    )
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"

    async def chunked() -> Any:  # no Content-Length: refused while it streams in
        yield b'{"query": "{ unreadCount }", "variables": {"pad": "'
        for _ in range(MAX_BODY_BYTES // 1024 + 1):
            yield b"x" * 1024
        yield b'"}}'

    response = await http.post(
        "/graphql", content=chunked(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413


async def test_a_declared_oversize_body_is_refused_before_it_is_sent(secure_server: Server) -> None:
    """The server answers 413 from the Content-Length alone: it does not wait for a body that
    the client never sends."""
    address = urlsplit(secure_server.url)
    reader, writer = await asyncio.open_connection(address.hostname, address.port)
    try:
        writer.write(
            b"POST /graphql HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100000000\r\n\r\n{"
        )
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), DEADLINE_SECONDS)
        assert status_line.startswith(b"HTTP/1.1 413"), status_line
    finally:
        writer.close()
