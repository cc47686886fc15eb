"""The switch in a real server process: `OTEL_TRACES_EXPORTER=console` and the standard
variables are all it takes, and a sent message's spans, from the API's operation to the
delivery loop's, come out in one trace under the configured service name."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.local.stack import StackEndpoints
from tests.conftest import new_user, stack_settings
from tests.e2e.conftest import Server, provision, serving
from tests.polling import eventually

TRACED = {
    "OTEL_TRACES_EXPORTER": "console",
    "OTEL_SERVICE_NAME": "inboxql-e2e",
    "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=test",
    # Export within a tenth of a second of a span's end, not the SDK's five.
    "OTEL_BSP_SCHEDULE_DELAY": "100",
}
SEND = 'mutation Send($to: ID!) { sendMessage(input: {recipientId: $to, body: "hi"}) { id } }'


def exported_spans(log: Path) -> list[dict[str, Any]]:
    """The console exporter's spans among the server's output: indented JSON objects, where
    its log lines are one JSON object a line."""
    text = log.read_text(errors="replace")
    decoder = json.JSONDecoder()
    spans = []
    start = text.find('{\n    "name"')
    while start != -1:
        span, end = decoder.raw_decode(text, start)
        spans.append(span)
        start = text.find('{\n    "name"', end)
    return spans


@pytest.fixture
def traced_server(
    stack: StackEndpoints, session_tag: str, tmp_path: Path
) -> Iterator[tuple[Server, Path]]:
    settings = stack_settings(stack, session_tag, queue_name=f"q-{uuid.uuid4().hex[:12]}")
    provision(stack, settings)
    log = tmp_path / "server.log"
    with serving(stack, settings, log, env=TRACED) as server:
        yield server, log


async def test_the_otel_variables_turn_tracing_on_in_the_server_process(
    traced_server: tuple[Server, Path],
) -> None:
    server, log = traced_server
    alice, bob = new_user("alice"), new_user("bob")
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        answer = await http.post(
            "/graphql",
            json={"query": SEND, "operationName": "Send", "variables": {"to": alice}},
            headers={"Authorization": f"Bearer {server.token(bob)}"},
        )
    assert answer.status_code == 200 and "errors" not in answer.json(), answer.text
    process = f"process {server.settings.queue_name}"

    def delivered() -> bool:
        return any(span["name"] == process for span in exported_spans(log))

    await eventually(delivered, "the delivery's span in the server's output", timeout=20)

    spans = exported_spans(log)
    (send,) = [span for span in spans if span["name"] == "mutation Send"]
    (processed,) = [span for span in spans if span["name"] == process]
    assert processed["context"]["trace_id"] == send["context"]["trace_id"]
    assert processed["kind"] == "SpanKind.CONSUMER"
    assert send["resource"]["attributes"]["service.name"] == "inboxql-e2e"
    assert send["resource"]["attributes"]["deployment.environment"] == "test"
