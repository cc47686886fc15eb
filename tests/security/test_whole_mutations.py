"""A mutation operation is accepted whole or refused whole: one root field per mutation, refused
at validation before anything is reserved or queued (schema/mutation_rule.py)."""

from __future__ import annotations

import httpx

from tests.conftest import new_user
from tests.e2e.conftest import Server
from tests.e2e.websocket_client import receive, session, subscribe
from tests.security.conftest import SEND_RATE_LIMIT
from tests.security.test_query_limits import (
    GRAPHQL_RESPONSE_JSON,
    codes,
    inbox_bodies_once_marked,
    post,
)


def sends(recipient: str, bodies: list[str]) -> str:
    fields = " ".join(
        f'a{n}: sendMessage(input: {{recipientId: "{recipient}", body: "{body}"}}) {{ id }}'
        for n, body in enumerate(bodies)
    )
    return f"mutation {{ {fields} }}"


async def test_four_sends_with_the_third_empty_send_nothing(
    secure_server: Server, http: httpx.AsyncClient
) -> None:
    victim = new_user("victim")
    document = sends(victim, ["one", "two", "", "four"])
    response = await post(http, secure_server, new_user("sender"), document, GRAPHQL_RESPONSE_JSON)
    body = response.json()
    assert response.status_code == 400 and "data" not in body, body
    assert codes(body) == {"BAD_USER_INPUT"}
    assert "only one root field" in body["errors"][0]["message"]
    # What the worker would have delivered by now, had anything been queued: only the marker.
    assert await inbox_bodies_once_marked(http, secure_server, victim) == ["marker"]


async def test_sends_past_the_rate_limit_in_one_operation_send_nothing_and_spend_nothing(
    secure_server: Server, http: httpx.AsyncClient
) -> None:
    sender, victim = new_user("sender"), new_user("victim")
    bodies = [f"x{n}" for n in range(SEND_RATE_LIMIT + 1)]
    body = (await post(http, secure_server, sender, sends(victim, bodies))).json()
    assert body["data"] is None and codes(body) == {"BAD_USER_INPUT"}
    assert await inbox_bodies_once_marked(http, secure_server, victim) == ["marker"]
    # Nothing was counted either: the sender's whole budget is still there, one send a time.
    for n in range(SEND_RATE_LIMIT):
        single = (await post(http, secure_server, sender, sends(victim, [f"y{n}"]))).json()
        assert "errors" not in single, single


async def test_a_multi_field_mutation_over_websocket_is_an_error(secure_server: Server) -> None:
    victim = new_user("victim")
    async with session(secure_server.ws_url, secure_server.token(new_user("sender"))) as ws:
        await subscribe(ws, "m", sends(victim, ["one", "two"]))
        message = await receive(ws)
    assert message["type"] == "error" and message["id"] == "m", message
    assert [error["extensions"]["code"] for error in message["payload"]] == ["BAD_USER_INPUT"]
    assert "only one root field" in message["payload"][0]["message"]
