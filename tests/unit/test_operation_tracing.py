"""The operation's span over HTTP, through the whole schema on the fakes: one span per
operation, named for it, current while it runs, an error span when the answer has errors, and
no span per field."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from schema import build_schema
from schema.operation import TracedOperationRunner
from schema.transport.view import InboxGraphQL
from services.observability.tracing import Tracing, sdk_provider
from services.settings import Settings
from services.tokens.verifiers import HmacTokenVerifier
from tests.fakes import FakeMessageStore, in_memory_app
from tests.unit.support import ALICE, BOB, make_message
from tests.unit.test_response_cache_http import SECRET, with_state

PAGE = "query Inbox { messages(first: 5) { edges { node { id body sender: senderId } } } }"


@pytest.fixture
async def traced() -> AsyncIterator[tuple[httpx.AsyncClient, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    tracing = Tracing.of(sdk_provider(exporter, batch=False))
    settings = Settings(stack="external", jwt_secret=SECRET)
    store = FakeMessageStore()
    for n in range(3):
        await store.deliver(make_message(BOB, ALICE, n))
    graphql = InboxGraphQL(build_schema(tracing=tracing), graphiql_headers=None)
    async with in_memory_app(settings, store=store) as app:
        transport = httpx.ASGITransport(app=with_state(graphql, {"inboxql": app}))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield http, exporter


async def post(http: httpx.AsyncClient, query: str) -> Any:
    token = HmacTokenVerifier(SECRET).issue(ALICE)
    headers = {"Authorization": f"Bearer {token}"}
    answer = await http.post("/graphql", json={"query": query}, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_a_query_is_one_span_and_its_fields_none(
    traced: tuple[httpx.AsyncClient, InMemorySpanExporter],
) -> None:
    http, exporter = traced
    answer = await post(http, PAGE)
    assert len(answer["data"]["messages"]["edges"]) == 3
    (span,) = exporter.get_finished_spans()
    assert span.name == "query Inbox"
    assert span.kind is SpanKind.SERVER
    assert span.attributes is not None
    assert span.attributes["graphql.operation.type"] == "query"
    assert span.attributes["graphql.operation.name"] == "Inbox"
    assert span.attributes["graphql.document"] == PAGE
    assert span.status.status_code is StatusCode.UNSET


async def test_an_answer_with_errors_is_an_error_span_named_by_its_codes(
    traced: tuple[httpx.AsyncClient, InMemorySpanExporter],
) -> None:
    http, exporter = traced
    answer = await post(http, "{ messages(first: 500) { edges { cursor } } }")
    assert answer["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    (span,) = exporter.get_finished_spans()
    assert span.name == "query"
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == "BAD_USER_INPUT"


def test_the_runner_enters_the_traced_pair_itself() -> None:
    """Tracing on keeps the schema's own runner (no Strawberry hook introspection per
    operation), with the span around InboxOperation's hooks."""
    exporter = InMemorySpanExporter()
    schema = build_schema(tracing=Tracing.of(sdk_provider(exporter, batch=False)))
    extensions: list[Any] = [make() for make in schema.extensions]
    runner = schema.create_extensions_runner(None, extensions)  # type: ignore[arg-type]
    assert isinstance(runner, TracedOperationRunner)
    assert runner.inbox is extensions[1]
    assert runner.spans is extensions[0]
    assert runner.spans.__class__.__name__ == "OperationTracing"
