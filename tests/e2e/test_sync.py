"""Gap-free sync end to end on one server process: `changes` over plain HTTP, `inboxEvents`
through npm's `graphql-ws` client and the raw protocol, and the codes clients act on."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import websockets

from services.domain import UserId
from services.local.stack import StackEndpoints
from tests.conftest import new_user
from tests.contract.message_stores import add_unlogged_version
from tests.e2e.conftest import NODE_CLIENT_PACKAGES, GraphQLClient, Server
from tests.e2e.fleet import aws_session
from tests.e2e.node_scripts import TOOLS, installed_script

Client = Callable[[str], GraphQLClient]
CHANGES = """query($since: Int!, $first: Int) {
  changes(since: $since, first: $first) {
    version hasMore
    events {
      __typename version unreadCount
      ... on MessageReceivedEvent { message { id body senderId } }
      ... on MessagesReadEvent { messageIds }
    }
  }
}"""
EVENTS = """subscription($since: Int) {
  inboxEvents(sinceVersion: $since) { __typename version unreadCount }
}"""
MARK_READ = "mutation($ids: [ID!]!) { markRead(ids: $ids) { unreadCount } }"
VERSION = "{ versionedUnreadCount { count version } }"


@pytest.fixture(scope="session")
def node_client() -> Path:
    return installed_script("inbox_events.mjs", NODE_CLIENT_PACKAGES, "node-client")


async def all_changes(client: GraphQLClient, since: int, first: int) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    while True:
        page = (await client.data(CHANGES, {"since": since, "first": first}))["changes"]
        assert len(page["events"]) <= first
        events += page["events"]
        since = page["version"]
        if not page["hasMore"]:
            return events


async def test_changes_page_the_log_contiguously_over_http(as_user: Client) -> None:
    alice_id, bob_id = new_user("alice"), new_user("bob")
    alice, bob = as_user(alice_id), as_user(bob_id)
    sent = [(await bob.send(alice_id, f"hello {n}"))["id"] for n in range(5)]
    await alice.wait_for_count(5)
    await alice.data(MARK_READ, {"ids": [sent[0], sent[3]]})
    events = await all_changes(alice, 0, first=2)
    assert [event["version"] for event in events] == [1, 2, 3, 4, 5, 6]
    assert [event["unreadCount"] for event in events] == [1, 2, 3, 4, 5, 3]
    assert {event["message"]["id"] for event in events[:5]} == set(sent)
    assert all(event["message"]["senderId"] == bob_id for event in events[:5])
    assert events[5]["__typename"] == "MessagesReadEvent"
    assert sorted(events[5]["messageIds"]) == sorted([sent[0], sent[3]])
    current = (await alice.data(VERSION))["versionedUnreadCount"]
    assert current == {"count": 3, "version": 6}
    assert (await alice.data(CHANGES, {"since": 6}))["changes"] == {
        "version": 6,
        "hasMore": False,
        "events": [],
    }
    for variables in ({"since": 7}, {"since": -1}, {"since": 0, "first": 0}):
        assert await alice.error_code(CHANGES, variables) == "BAD_USER_INPUT", variables


async def ws_results(server: Server, user: str, since: int | None) -> list[dict[str, Any]]:
    """The raw graphql-transport-ws messages of one inboxEvents subscription until it ends."""
    async with websockets.connect(server.ws_url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        init = {"Authorization": f"Bearer {server.token(user)}"}
        await ws.send(json.dumps({"type": "connection_init", "payload": init}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        payload = {"query": EVENTS, "variables": {"since": since}}
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
        messages: list[dict[str, Any]] = []
        while not messages or messages[-1]["type"] not in {"complete", "error"}:
            messages.append(json.loads(await asyncio.wait_for(ws.recv(), 20)))
        return messages


def codes_in(messages: list[dict[str, Any]]) -> list[str]:
    errors: list[dict[str, Any]] = []
    for message in messages:
        if message["type"] == "next":
            errors += message["payload"].get("errors", [])
        elif message["type"] == "error":
            errors += message["payload"]
    return [error["extensions"]["code"] for error in errors]


async def test_a_hole_in_the_log_is_sync_too_old_over_http_and_graphql_ws(
    server: Server, stack: StackEndpoints, as_user: Client
) -> None:
    """A version without its logged change (what a writer predating the log leaves) cannot be
    replayed: SYNC_TOO_OLD, over both transports; from the current version on, all is well."""
    alice_id = new_user("alice")
    alice = as_user(alice_id)
    await as_user(new_user("bob")).send(alice_id, "before the hole")
    await alice.wait_for_count(1)
    settings = server.settings
    async with aws_session(settings).client("dynamodb", endpoint_url=stack.dynamodb_url) as db:
        await add_unlogged_version(db, settings.table_name, UserId(alice_id))
    # Version 2 has no logged change; version 3 has one again.
    await as_user(new_user("carol")).send(alice_id, "after the hole")
    await alice.wait_for_count(2)
    assert await alice.error_code(CHANGES, {"since": 0}) == "SYNC_TOO_OLD"
    assert await alice.error_code(CHANGES, {"since": 1}) == "SYNC_TOO_OLD"
    (after,) = (await alice.data(CHANGES, {"since": 2}))["changes"]["events"]
    assert (after["version"], after["message"]["body"]) == (3, "after the hole")
    assert codes_in(await ws_results(server, alice_id, 0)) == ["SYNC_TOO_OLD"]
    assert codes_in(await ws_results(server, alice_id, 4)) == ["BAD_USER_INPUT"]
    assert codes_in(await ws_results(server, alice_id, -1)) == ["BAD_USER_INPUT"]


async def test_graphql_ws_client_replays_then_follows_strictly_plus_one(
    server: Server, as_user: Client, node_client: Path
) -> None:
    alice_id, bob_id = new_user("alice"), new_user("bob")
    alice, bob = as_user(alice_id), as_user(bob_id)
    first = [(await bob.send(alice_id, f"before {n}"))["id"] for n in range(4)]
    await alice.wait_for_count(4)
    node = await asyncio.create_subprocess_exec(
        TOOLS.node_binary(),
        str(node_client),
        server.ws_url,
        server.token(alice_id),
        "2",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert node.stdout is not None and node.stderr is not None
    seen: list[dict[str, Any]] = []

    async def until_version(version: int) -> None:
        while not seen or seen[-1]["version"] < version:
            line = await asyncio.wait_for(node.stdout.readline(), 20)  # type: ignore[union-attr]
            assert line, (await node.stderr.read()).decode()  # type: ignore[union-attr]
            result = json.loads(line)
            assert "data" in result and "errors" not in result, result
            seen.append(result["data"]["inboxEvents"])

    try:
        await until_version(4)  # replayed from the log: 3 and 4
        later = [(await bob.send(alice_id, f"after {n}"))["id"] for n in range(3)]
        await alice.wait_for_count(7)
        await alice.data(MARK_READ, {"ids": [*first, *later]})
        await until_version(8)
    finally:
        node.kill()
        await node.wait()
    assert [event["version"] for event in seen] == [3, 4, 5, 6, 7, 8]
    assert [event["unreadCount"] for event in seen] == [3, 4, 5, 6, 7, 0]
    assert [event["__typename"] for event in seen] == ["MessageReceivedEvent"] * 5 + [
        "MessagesReadEvent"
    ]
