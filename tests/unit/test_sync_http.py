"""`changes` over HTTP through the whole schema: pages, the codes clients act on, and why the
response cache must not keep its answers."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from schema import build_schema
from schema.transport.response_cache import InboxResponseCache
from schema.transport.view import InboxGraphQL
from services.settings import Settings
from services.tokens.verifiers import HmacTokenVerifier
from tests.fakes import FakeClock, FakeMessageStore, in_memory_app
from tests.unit.support import ALICE, BASE, BOB, make_message
from tests.unit.test_response_cache_http import SECRET, with_state

CHANGES = """query($since: Int!, $first: Int) {
  changes(since: $since, first: $first) {
    version hasMore
    events {
      __typename version unreadCount
      ... on MessageReceivedEvent { message { id body isRead deletedAt } }
      ... on MessagesReadEvent { messageIds allBefore conversationId }
    }
  }
}"""


class Served:
    def __init__(self, http: httpx.AsyncClient, store: FakeMessageStore, clock: FakeClock) -> None:
        self.http, self.store, self.clock = http, store, clock
        self.token = HmacTokenVerifier(SECRET).issue(ALICE)

    async def post(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        body = {"query": query, "variables": variables or {}}
        response = await self.http.post("/graphql", json=body, headers=headers)
        assert response.status_code == 200, response.text
        return response.json()

    async def codes(self, query: str, variables: dict[str, Any] | None = None) -> list[str]:
        answer = await self.post(query, variables)
        assert answer.get("data") is None, answer
        return [error["extensions"]["code"] for error in answer["errors"]]


@contextlib.asynccontextmanager
async def serving(*, response_cache: bool) -> AsyncIterator[Served]:
    """The whole schema over HTTP on the fakes, with the store's clock at BASE."""
    settings = Settings(stack="external", jwt_secret=SECRET)
    clock = FakeClock(BASE)
    store = FakeMessageStore()
    store.now = clock
    cache = InboxResponseCache.configured(settings) if response_cache else None
    assert cache is not None or not response_cache
    graphql = InboxGraphQL(build_schema(), graphiql_headers=None, response_cache=cache)
    async with in_memory_app(settings, store=store, clock=clock) as app:
        transport = httpx.ASGITransport(app=with_state(graphql, {"inboxql": app}))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield Served(http, store, clock)


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    async with serving(response_cache=True) as served:
        yield served


async def test_changes_pages_contiguously_with_counts(served: Served) -> None:
    sent = [make_message(BOB, ALICE, n) for n in range(5)]
    for message in sent:
        await served.store.deliver(message)
    await served.store.mark_read(ALICE, [sent[0].id, sent[1].id], served.clock())
    events: list[dict[str, Any]] = []
    since = 0
    while True:
        page = (await served.post(CHANGES, {"since": since, "first": 2}))["data"]["changes"]
        events.extend(page["events"])
        since = page["version"]
        if not page["hasMore"]:
            break
    assert [event["version"] for event in events] == [1, 2, 3, 4, 5, 6]
    assert [event["unreadCount"] for event in events] == [1, 2, 3, 4, 5, 3]
    received = [event["message"] for event in events[:5]]
    assert [(m["id"], m["body"], m["isRead"], m["deletedAt"]) for m in received] == [
        (message.id, message.body, False, None) for message in sent
    ]
    assert events[5] == {
        "__typename": "MessagesReadEvent",
        "version": 6,
        "unreadCount": 3,
        "messageIds": [sent[0].id, sent[1].id],
        "allBefore": None,
        "conversationId": None,
    }


@pytest.mark.parametrize(
    "variables", [{"since": 3}, {"since": -1}, {"since": 0, "first": 0}, {"since": 0, "first": 101}]
)
async def test_bad_arguments_are_bad_user_input(served: Served, variables: dict[str, Any]) -> None:
    await served.store.deliver(make_message(BOB, ALICE, 1))
    assert await served.codes(CHANGES, variables) == ["BAD_USER_INPUT"]


async def test_sync_too_old_is_never_hidden_by_a_kept_answer(served: Served) -> None:
    """The log only changes with the version, but a page turns into SYNC_TOO_OLD as time
    passes at the same version: an answer kept by version would hide that, so `changes` is
    executed every time."""
    await served.store.deliver(make_message(BOB, ALICE, 1))
    query = "{ changes(since: 0) { version } }"
    assert InboxResponseCache.key(ALICE, query, None, None) is None
    assert (await served.post(query))["data"]["changes"]["version"] == 1
    assert (await served.post(query))["data"]["changes"]["version"] == 1
    assert served.store.calls["changes"] == 2
    served.clock.advance(timedelta(days=7, minutes=1))
    assert await served.codes(query) == ["SYNC_TOO_OLD"]
    # Nothing missing at the current version, however old: an empty page.
    current = (await served.post("{ changes(since: 1) { version events { version } } }"))["data"]
    assert current == {"changes": {"version": 1, "events": []}}


async def test_changes_count_against_the_message_node_limit(served: Served) -> None:
    pages = " ".join(f"p{n}: changes(since: 0) {{ version }}" for n in range(6))
    assert await served.codes(f"{{ {pages} }}") == ["BAD_USER_INPUT"]
    assert served.store.calls["changes"] == 0
