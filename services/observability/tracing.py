"""OpenTelemetry tracing, decided once per process (docs/tracing.md).

Off, nothing here imports the SDK and the composition root builds the plain adapters: no span,
no check, no wrapper on any call. On (`OTEL_TRACES_EXPORTER=otlp` or `console`, and
`OTEL_SDK_DISABLED` not true), the root builds their traced kinds instead and hands them one
`Tracing`: its tracer, and the provider the Redis and Strawberry instrumentations take.

The provider is this process's own, passed down explicitly rather than set as OpenTelemetry's
global one, so that tests can hand the same parts a provider with an in-memory exporter.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from services.settings import Settings

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Tracer

TRACER_NAME = "inboxql"
DEFAULT_SERVICE_NAME = "inboxql"
# How long a Lambda invocation may wait for its spans to leave before it returns.
FLUSH_TIMEOUT_MILLIS = 2_000


@dataclass(frozen=True)
class Tracing:
    provider: TracerProvider
    tracer: Tracer

    @classmethod
    def of(cls, provider: TracerProvider) -> Tracing:
        return cls(provider, provider.get_tracer(TRACER_NAME))

    def flush(self) -> None:
        """Export what has ended: a Lambda container is frozen between invocations, and the
        batch processor's thread with it."""
        self.provider.force_flush(FLUSH_TIMEOUT_MILLIS)


_lock = threading.Lock()
_process_tracing: Tracing | None = None


def process_tracing(settings: Settings) -> Tracing | None:
    """This process's tracing when the settings turn it on (built the first time), else None,
    without importing the SDK."""
    global _process_tracing  # noqa: PLW0603  # one provider per process, by design
    if not settings.tracing:
        return None
    with _lock:
        if _process_tracing is None:
            _process_tracing = Tracing.of(sdk_provider(exporter_for(settings.traces_exporter)))
        return _process_tracing


def sdk_provider(exporter: SpanExporter, *, batch: bool = True) -> TracerProvider:
    """A provider exporting to `exporter`, its resource from OTEL_SERVICE_NAME and
    OTEL_RESOURCE_ATTRIBUTES (service.name `inboxql` when neither names one). `batch=False`
    exports each span as it ends (tests)."""
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource  # noqa: PLC0415
    from opentelemetry.sdk.trace import TracerProvider  # noqa: PLC0415
    from opentelemetry.sdk.trace.export import (  # noqa: PLC0415
        BatchSpanProcessor,
        SimpleSpanProcessor,
    )

    resource = Resource.create()
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: DEFAULT_SERVICE_NAME}))
    provider = TracerProvider(resource=resource)
    processor = BatchSpanProcessor(exporter) if batch else SimpleSpanProcessor(exporter)
    provider.add_span_processor(processor)
    return provider


def exporter_for(name: str) -> SpanExporter:
    """The exporter OTEL_TRACES_EXPORTER names; the OTLP one reads its OTEL_EXPORTER_OTLP_*
    variables itself."""
    if name == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter  # noqa: PLC0415

        return ConsoleSpanExporter()
    if name == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # noqa: PLC0415
            OTLPSpanExporter,
        )

        return OTLPSpanExporter()
    raise ValueError(f"no span exporter is called {name!r}")
