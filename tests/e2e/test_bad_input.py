"""Every refused request gets its code, no stack trace, no 5xx, and stores nothing."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import jwt
import pytest

from tests.conftest import TEST_JWT_SECRET, new_user
from tests.e2e.conftest import GraphQLClient

Client = Callable[[str], GraphQLClient]

SEND = "mutation($input: SendMessageInput!) { sendMessage(input: $input) { id } }"


@pytest.mark.parametrize(
    ("recipient", "body", "client_message_id"),
    [
        ("RECIPIENT", "", None),
        ("RECIPIENT", "   \n\t ", None),
        ("RECIPIENT", "x" * 5001, None),
        ("", "hello", None),
        ("bad#id", "hello", None),
        ("x" * 129, "hello", None),
        ("RECIPIENT", "hello", ""),
        ("RECIPIENT", "hello", "k" * 129),
    ],
    ids=[
        "empty-body",
        "blank-body",
        "body-too-long",
        "empty-recipient",
        "recipient-with-hash",
        "recipient-too-long",
        "empty-client-id",
        "client-id-too-long",
    ],
)
async def test_bad_send_is_refused_and_stores_nothing(
    as_user: Client, recipient: str, body: str, client_message_id: str | None
) -> None:
    alice, bob = new_user("alice"), new_user("bob")
    target = alice if recipient == "RECIPIENT" else recipient
    body_variables = {"recipientId": target, "body": body, "clientMessageId": client_message_id}
    assert await as_user(bob).error_code(SEND, {"input": body_variables}) == "BAD_USER_INPUT"
    # A message sent after the refused one arrives alone: the refused one was never queued.
    marker = await as_user(bob).send(alice, "marker")
    await as_user(alice).wait_for_count(1)
    inbox = await as_user(alice).data("{ messages { edges { node { id } } } }")
    assert [e["node"]["id"] for e in inbox["messages"]["edges"]] == [marker["id"]]


async def test_longest_body_after_trimming_is_accepted(as_user: Client) -> None:
    alice = new_user("alice")
    sent = await as_user(new_user("bob")).send(alice, "  " + "y" * 5000 + "  ")
    assert sent["body"] == "y" * 5000


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        ("{ messages(first: 0) { edges { cursor } } }", {}),
        ("{ messages(first: 101) { edges { cursor } } }", {}),
        ('{ messages(after: "not-a-cursor") { edges { cursor } } }', {}),
        ('{ messages(after: "") { edges { cursor } } }', {}),
        ('{ conversation(withUserId: "a#b") { edges { cursor } } }', {}),
        ('{ conversation(withUserId: "bob", first: -1) { edges { cursor } } }', {}),
        ("mutation($ids: [ID!]!) { markRead(ids: $ids) { unreadCount } }", {"ids": ["x"] * 101}),
        ('{ messages(first: "ten") { edges { cursor } } }', {}),
        ("{ nosuchfield }", {}),
        ("query($n: Int) { messages(first: $n) { edges { cursor } } }", {"n": "many"}),
        ("{ " + " ".join(f"a{n}: unreadCount" for n in range(31)) + " }", {}),
        ("{ " + "unreadCount " * 2001 + "}", {}),
    ],
    ids=[
        "first-zero",
        "first-too-big",
        "malformed-cursor",
        "empty-cursor",
        "malformed-user",
        "negative-first",
        "too-many-ids",
        "first-wrong-type",
        "unknown-field",
        "variable-wrong-type",
        "too-many-aliases",
        "too-many-tokens",
    ],
)
async def test_bad_arguments_are_bad_user_input(
    as_user: Client, query: str, variables: dict[str, object]
) -> None:
    client = as_user(new_user("alice"))
    body = await client.raw(query, variables)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "Traceback" not in str(body)


async def test_too_many_ids_marks_nothing(as_user: Client) -> None:
    alice = new_user("alice")
    sent = await as_user(new_user("bob")).send(alice, "keep me unread")
    await as_user(alice).wait_for_count(1)
    ids = [sent["id"]] + ["01JZZZZZZZZZZZZZZZZZZZZZZZ"] * 100
    code = await as_user(alice).error_code(
        "mutation($ids: [ID!]!) { markRead(ids: $ids) { unreadCount } }", {"ids": ids}
    )
    assert code == "BAD_USER_INPUT"
    assert await as_user(alice).unread_count() == 1


def forged(claims: dict[str, object], secret: str = TEST_JWT_SECRET) -> str:
    return jwt.encode(claims, secret, algorithm="HS256")


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer",
        "Basic YWxpY2U6c2VjcmV0",
        "Bearer not.a.jwt",
        f"Bearer {forged({'sub': 'alice'}, secret='someone-elses-secret-that-is-long-enough')}",
        f"Bearer {forged({'sub': 'alice', 'exp': int(time.time()) - 3600})}",
        f"Bearer {forged({'name': 'no subject'})}",
        f"Bearer {forged({'sub': 'bad#user'})}",
        "Bearer " + jwt.encode({"sub": "alice"}, key="", algorithm="none"),
    ],
    ids=[
        "missing",
        "empty-bearer",
        "basic",
        "garbage",
        "wrong-secret",
        "expired",
        "no-sub",
        "bad-sub",
        "alg-none",
    ],
)
async def test_unauthenticated_requests_are_refused(
    http: httpx.AsyncClient, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = await http.post(
        "/graphql",
        json={"query": 'mutation { sendMessage(input: {recipientId: "x", body: "hi"}) { id } }'},
        headers=headers,
    )
    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"{not json", "application/json"),
        (b"[1, 2", "application/json"),
        (b'{"variables": {}}', "application/json"),
        (b"query=%7B+unreadCount+%7D", "application/x-www-form-urlencoded"),
        (b"\xff\xfe", "application/json"),
    ],
    ids=["broken-json", "truncated-array", "no-query", "form-post", "binary"],
)
async def test_malformed_http_bodies_get_4xx(
    http: httpx.AsyncClient, content: bytes, content_type: str
) -> None:
    response = await http.post("/graphql", content=content, headers={"Content-Type": content_type})
    assert 400 <= response.status_code < 500, response.text
