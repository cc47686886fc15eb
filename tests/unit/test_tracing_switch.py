"""With no OTEL_* variable, nothing is traced: no provider is built, no traced part is chosen,
the schema runs no tracing extension, and OpenTelemetry's tracer stays the no-op one. With
them, the provider is what they say."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from services.observability.tracing import exporter_for, process_tracing, sdk_provider
from services.settings import Settings

REPO = Path(__file__).resolve().parents[2]

# Runs in a clean interpreter: which modules a test process has imported says nothing.
_PROBE = """
import asyncio, sys
from opentelemetry import trace
from server import create_app
from services.aws import AwsEndpoints
from services.settings import Settings
from bench.serve import seeded_fake_app
from schema.tracing import OperationTracing

settings = Settings.from_env()
assert not settings.tracing
app = create_app(settings.with_overrides(graphiql=False, demo=False), AwsEndpoints(), workers=0)
graphql = next(route.endpoint for route in app.routes if route.path == "/graphql")
assert not any(isinstance(make(), OperationTracing) for make in graphql.schema.extensions)

async def built():
    async with seeded_fake_app(settings) as inbox:
        assert inbox.tracing is None
        # Sending a message runs the producer, the store and the hub: no span is started.
        await inbox.sending.send_message("bob", "alice", "hi")

asyncio.run(built())
assert type(trace.get_tracer_provider()).__name__ == "ProxyTracerProvider"
assert not trace.get_tracer("probe").start_span("probe").is_recording()
# The SDK's tracing half is never imported (redis-py imports its metrics half by itself).
assert "opentelemetry.sdk.trace" not in sys.modules, "the tracing SDK was imported"
assert "opentelemetry.instrumentation.redis" not in sys.modules
print("untraced")
"""


def test_without_otel_variables_settings_build_no_tracing() -> None:
    settings = Settings.from_env({"INBOXQL_STACK": "local"})
    assert not settings.tracing
    assert process_tracing(settings) is None


def test_without_otel_variables_no_part_is_traced() -> None:
    env = {name: value for name, value in os.environ.items() if not name.startswith("OTEL_")}
    env |= {"INBOXQL_STACK": "external", "INBOXQL_JWT_SECRET": "x" * 40}
    done = subprocess.run(
        [sys.executable, "-c", _PROBE],
        cwd=REPO,
        env=env | {"PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "untraced"


def test_the_otlp_exporter_is_the_http_one_and_reads_its_endpoint(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # noqa: PLC0415
        OTLPSpanExporter,
    )

    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")
    exporter = exporter_for("otlp")
    assert isinstance(exporter, OTLPSpanExporter)
    assert exporter._endpoint == "http://collector:4318/v1/traces"
    with pytest.raises(ValueError, match="zipkin"):
        exporter_for("zipkin")


def test_the_resource_is_named_inboxql_unless_the_variables_say_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    monkeypatch.delenv("OTEL_RESOURCE_ATTRIBUTES", raising=False)
    assert sdk_provider(InMemorySpanExporter()).resource.attributes["service.name"] == "inboxql"
    monkeypatch.setenv("OTEL_SERVICE_NAME", "inboxql-api")
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=prod")
    attributes = sdk_provider(InMemorySpanExporter()).resource.attributes
    assert attributes["service.name"] == "inboxql-api"
    assert attributes["deployment.environment"] == "prod"
