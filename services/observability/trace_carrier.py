"""The trace context as it travels between processes: W3C `traceparent` (and `tracestate` when
set) in a small mapping of text, which the SQS message attributes and the pub/sub events carry.

Only the traced parts call these (services/observability/tracing.py). Anyone who can write to
the queue or the channel writes a carrier, so reading one never fails: a malformed
`traceparent` is ignored, and the work it came with starts a trace of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar

from opentelemetry.context import Context
from opentelemetry.trace import get_current_span
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

TRACEPARENT = "traceparent"
TRACESTATE = "tracestate"
CARRIED = (TRACEPARENT, TRACESTATE)
# A W3C traceparent is 55 characters and a tracestate at most 32 entries of 256: anything
# longer is not one, and is not parsed.
_MAX_VALUE_LENGTH = 8192

_propagator = TraceContextTextMapPropagator()

Carrier = Mapping[str, str]

# The carrier of the event a subscription was last handed, in the task that reads it, for the
# span of its push on the socket (services/redis/traced_hub.py, schema/tracing.py).
pushed_event_trace: ContextVar[Carrier | None] = ContextVar(
    "inboxql_pushed_event_trace", default=None
)


def current_carrier(context: Context | None = None) -> dict[str, str]:
    """The current span's context (or `context`'s), as `traceparent`/`tracestate`; empty when
    there is no valid span."""
    carrier: dict[str, str] = {}
    _propagator.inject(carrier, context=context)
    return carrier


def context_from(carrier: Mapping[str, object] | None) -> Context | None:
    """The remote parent a carrier names, or None when it names none (absent, malformed, not
    text): never an error."""
    if not carrier:
        return None
    clean = {
        name: value
        for name in CARRIED
        if isinstance(value := carrier.get(name), str) and len(value) <= _MAX_VALUE_LENGTH
    }
    if TRACEPARENT not in clean:
        return None
    try:
        context = _propagator.extract(clean)
    except Exception:  # a propagator bug must not cost a delivery
        return None
    return context if get_current_span(context).get_span_context().is_valid else None
