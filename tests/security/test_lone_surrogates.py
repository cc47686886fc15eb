"""A lone UTF-16 surrogate (`"\\ud800"` in JSON) is a client mistake wherever it comes: refused
with a 4xx or BAD_USER_INPUT, never a 5xx, and nothing is stored or reserved. UTF-8 cannot
encode such a string, so it would fail later, halfway through the request."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.conftest import new_user
from tests.e2e.conftest import Server
from tests.e2e.websocket_client import closed_with, session
from tests.polling import eventually

GRJ = "application/graphql-response+json"
ME = "{ me { id } }"
SEND = "mutation($input: SendMessageInput!) { sendMessage(input: $input) { id body } }"
# JSON text with the escape itself: json.dumps would write it the same way.
SURROGATE = "\\ud800"
# Valid JSON text, each with one lone surrogate, as a client library could send it.
BODIES = {
    "variables": '{"query": "query($s: ID!) { message(id: $s) { id } }", "variables": {"s": "%s"}}',
    "operation-name": '{"query": "query Me { me { id } }", "operationName": "Me%s"}',
    "variable-name": '{"query": "{ me { id } }", "variables": {"%s": 1}}',
    "extensions": '{"query": "{ me { id } }", "extensions": {"trace": "%s"}}',
    "apq-registration": (
        '{"query": "{ me { id } } # %s", "extensions": {"persistedQuery": '
        '{"version": 1, "sha256Hash": "' + "0" * 64 + '"}}}'
    ),
}


async def post_raw(http: httpx.AsyncClient, token: str, text: str) -> httpx.Response:
    return await http.post(
        "/graphql",
        content=text.encode(),
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Accept": GRJ,
        },
    )


def assert_refused(response: httpx.Response) -> None:
    assert response.status_code == 400, response.text
    body = response.json()
    assert "data" not in body, body
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", body


@pytest.mark.parametrize("case", list(BODIES))
async def test_a_lone_surrogate_in_the_request_is_400(
    secure_server: Server, http: httpx.AsyncClient, case: str
) -> None:
    token = secure_server.token(new_user("alice"))
    assert_refused(await post_raw(http, token, BODIES[case] % SURROGATE))


async def test_a_paired_surrogate_escape_is_accepted(
    secure_server: Server, http: httpx.AsyncClient
) -> None:
    """The fix refuses only what UTF-8 cannot carry: an escaped astral character is fine."""
    text = BODIES["variables"] % "\\ud83d\\ude00"
    response = await post_raw(http, secure_server.token(new_user("alice")), text)
    assert response.status_code == 200, response.text
    assert response.json() == {"data": {"message": None}}


async def test_a_refused_send_reserves_no_client_message_id(
    secure_server: Server, http: httpx.AsyncClient
) -> None:
    alice, bob = new_user("alice"), new_user("bob")
    token = secure_server.token(bob)

    def send(body: str) -> str:
        """`body` is put into the JSON text as it is, so that its escape stays one."""
        variables = {"input": {"recipientId": alice, "body": "BODY", "clientMessageId": "k-1"}}
        return json.dumps({"query": SEND, "variables": variables}).replace("BODY", body)

    refused = await post_raw(http, token, send(f"hi {SURROGATE}"))
    assert_refused(refused)
    # The corrected resend with the same key is accepted: the key was never reserved.
    resent = await post_raw(http, token, send("hi there"))
    assert resent.status_code == 200, resent.text
    sent: dict[str, Any] = resent.json()["data"]["sendMessage"]
    assert sent["body"] == "hi there"
    # And it is the only message that arrived.
    inbox_query = json.dumps({"query": "{ messages { edges { node { id body } } } }"})

    async def arrived() -> bool:
        response = await post_raw(http, secure_server.token(alice), inbox_query)
        edges = response.json()["data"]["messages"]["edges"]
        return [edge["node"] for edge in edges] == [sent]

    await eventually(arrived, lambda: "only the corrected message in the inbox", timeout=20)


@pytest.mark.parametrize(
    "payload",
    [
        '{"query": "query Me { me { id } }", "operationName": "Me%s"}',
        '{"query": "query($s: ID!) { message(id: $s) { id } }", "variables": {"s": "%s"}}',
    ],
    ids=["operation-name", "variables"],
)
async def test_a_lone_surrogate_over_websocket_closes_with_4400(
    secure_server: Server, payload: str
) -> None:
    """Strawberry's answer to a message that is not JSON (4400), not an INTERNAL_SERVER_ERROR."""
    token = secure_server.token(new_user("alice"))
    async with session(secure_server.ws_url, token) as ws:
        frame = '{"id": "1", "type": "subscribe", "payload": %s}' % (payload % SURROGATE)
        await ws.send(frame)
        assert await closed_with(ws) == 4400
