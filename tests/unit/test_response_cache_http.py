"""The response cache seen over HTTP: a kept answer is sent byte for byte as the first one was,
in either media type, and answers with errors are executed every time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from schema import build_schema
from schema.transport.response_cache import InboxResponseCache
from schema.transport.view import InboxGraphQL
from services.domain import Message, new_message_id
from services.settings import Settings
from services.tokens.verifiers import HmacTokenVerifier
from tests.fakes import FakeMessageStore, in_memory_app
from tests.unit.support import ALICE, BOB

SECRET = "unit-test-secret-with-more-than-thirty-two-bytes"
PAGE = "{ unreadCount messages(first: 5) { edges { cursor node { id body isRead } } } }"


def with_state(asgi: ASGIApp, state: dict[str, Any]) -> ASGIApp:
    """What the server's lifespan puts in every request's scope."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        scope["state"] = dict(state)
        await asgi(scope, receive, send)

    return wrapped


class Served:
    def __init__(self, http: httpx.AsyncClient, store: FakeMessageStore) -> None:
        self.http = http
        self.store = store
        self.token = HmacTokenVerifier(SECRET).issue(ALICE)

    async def post(self, query: str, accept: str) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}", "Accept": accept}
        return await self.http.post("/graphql", json={"query": query}, headers=headers)


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    settings = Settings(stack="external", jwt_secret=SECRET)
    store = FakeMessageStore()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for n in range(8):
        at = start + timedelta(seconds=n)
        await store.deliver(Message(new_message_id(at), BOB, ALICE, f"héllo \u2603 {n}", at))
    cache = InboxResponseCache.configured(settings)
    assert cache is not None
    graphql = InboxGraphQL(build_schema(), graphiql_headers=None, response_cache=cache)
    async with in_memory_app(settings, store=store) as app:
        transport = httpx.ASGITransport(app=with_state(graphql, {"inboxql": app}))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield Served(http, store)


@pytest.mark.parametrize("accept", ["application/graphql-response+json", "application/json"])
async def test_a_kept_answer_is_sent_exactly_as_the_executed_one(
    served: Served, accept: str
) -> None:
    first = await served.post(PAGE, accept)
    listed = served.store.calls["list_inbox"]
    second = await served.post(PAGE, accept)
    assert served.store.calls["list_inbox"] == listed  # kept, not executed again
    assert first.status_code == second.status_code == 200
    assert first.content == second.content
    assert first.json()["data"]["unreadCount"] == 8
    assert [h for h in first.headers.raw if h[0] != b"x-request-id"] == [
        h for h in second.headers.raw if h[0] != b"x-request-id"
    ]


async def test_answers_with_errors_are_executed_every_time(served: Served) -> None:
    """An error may be transient (here the store timing out once): it is never kept."""
    served.store.failures["list_inbox"] = [TimeoutError("slow store")]
    failed = await served.post(PAGE, "application/json")
    assert failed.json()["errors"] and served.store.calls["list_inbox"] == 1
    answered = await served.post(PAGE, "application/json")
    assert "errors" not in answered.json() and served.store.calls["list_inbox"] == 2
    assert answered.json()["data"]["unreadCount"] == 8
