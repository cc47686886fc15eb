"""The settings rows for OpenTelemetry tracing (docs/tracing.md). Part of the one declaration
in `services/settings/variables.py`, in its order.

Tracing is off unless `OTEL_TRACES_EXPORTER` names an exporter, and `OTEL_SDK_DISABLED=true`
turns it off whatever else is set. Those two are read here, since they decide what the
composition root builds. The other `OTEL_*` variables are the SDK's own: it reads them when
tracing is on (the exporter's endpoint, the resource, the batch processor), and they are
declared here only to be shown, as the tool paths are.
"""

from __future__ import annotations

from services.settings.parsers import BOOLEAN, choice
from services.settings.rows import EnvRow, SdkRow

TRACES_EXPORTERS = ("none", "otlp", "console")


TRACING_ROWS: tuple[EnvRow | SdkRow, ...] = (
    EnvRow(
        "OTEL_TRACES_EXPORTER",
        "traces_exporter",
        choice(TRACES_EXPORTERS),
        "none",
        "tracing: otlp (OTLP over HTTP) or console; none is off",
        "turns OpenTelemetry tracing on: `otlp` exports spans over OTLP/HTTP (protobuf) to "
        "`OTEL_EXPORTER_OTLP_ENDPOINT`, `console` prints them; `none` (or unset) builds nothing "
        "traced. See `docs/tracing.md`",
    ),
    EnvRow(
        "OTEL_SDK_DISABLED",
        "otel_sdk_disabled",
        BOOLEAN,
        "false",
        "true turns tracing off, whatever else is set",
    ),
    SdkRow(
        "OTEL_SERVICE_NAME",
        "inboxql",
        "text",
        "service.name of the spans",
        "the spans' `service.name` (read by the SDK when tracing is on)",
    ),
    SdkRow(
        "OTEL_RESOURCE_ATTRIBUTES",
        "none",
        "`key=value`, comma-separated",
        "more resource attributes of the spans",
        "more resource attributes of the spans, e.g. `deployment.environment=prod` (read by "
        "the SDK)",
    ),
    SdkRow(
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "http://localhost:4318",
        "a URL",
        "the OTLP/HTTP collector (/v1/traces is added)",
        "the OTLP/HTTP collector the `otlp` exporter sends to (`/v1/traces` is added; read by "
        "the SDK, as are the other `OTEL_EXPORTER_OTLP_*` and `OTEL_BSP_*` variables)",
    ),
)
