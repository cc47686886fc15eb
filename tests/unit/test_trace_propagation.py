"""The trace context's ways between processes: the carrier, the SQS message attributes (the
API's and a Lambda record's spelling), and the pub/sub event's wire format."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import get_current_span

from services.change_log import InboxChange, LiveChange, MessageReceivedChange
from services.domain import Message, MessageId, UnreadCountChanged, UserId
from services.message_codec import (
    decode_event_with_request_id,
    decode_published_event,
    encode_event,
)
from services.observability.trace_carrier import context_from, current_carrier
from services.sqs.trace_context import carrier_from, message_attributes

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
SPAN_ID = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{SPAN_ID}-01"


def remote_parent(carrier: Mapping[str, object] | None) -> tuple[str, str] | None:
    context = context_from(carrier)
    if context is None:
        return None
    span = get_current_span(context).get_span_context()
    return f"{span.trace_id:032x}", f"{span.span_id:016x}"


def test_a_span_s_context_goes_out_and_comes_back() -> None:
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("send") as span:
        carrier = current_carrier()
    sent = span.get_span_context()
    # The flags are the SDK's (sampled, and since W3C level 2 a random trace id).
    assert carrier["traceparent"].startswith(f"00-{sent.trace_id:032x}-{sent.span_id:016x}-")
    assert remote_parent(carrier) == (f"{sent.trace_id:032x}", f"{sent.span_id:016x}")


def test_no_span_means_an_empty_carrier() -> None:
    assert current_carrier() == {}


def test_tracestate_travels_beside_traceparent() -> None:
    carrier = {"traceparent": TRACEPARENT, "tracestate": "vendor=abc"}
    context = context_from(carrier)
    assert context is not None
    assert current_carrier(context) == carrier


@pytest.mark.parametrize(
    "carrier",
    [
        None,
        {},
        {"tracestate": "vendor=abc"},
        {"traceparent": "not a traceparent"},
        {"traceparent": "00-" + "0" * 32 + "-" + SPAN_ID + "-01"},  # the invalid trace id
        {"traceparent": f"00-{TRACE_ID}-{'0' * 16}-01"},  # the invalid span id
        {"traceparent": f"ff-{TRACE_ID}-{SPAN_ID}-01"},  # the forbidden version
        {"traceparent": TRACEPARENT + "x" * 9000},
        {"traceparent": 42},
        {"traceparent": [TRACEPARENT]},
    ],
)
def test_a_malformed_carrier_is_ignored_never_an_error(carrier: dict[str, object] | None) -> None:
    assert remote_parent(carrier) is None


def test_sqs_attributes_carry_the_context_as_strings() -> None:
    carrier = {"traceparent": TRACEPARENT, "tracestate": "vendor=abc", "baggage": "k=v"}
    attributes = message_attributes(carrier)
    assert attributes == {
        "traceparent": {"DataType": "String", "StringValue": TRACEPARENT},
        "tracestate": {"DataType": "String", "StringValue": "vendor=abc"},
    }
    # As ReceiveMessage returns them.
    assert carrier_from(attributes) == {"traceparent": TRACEPARENT, "tracestate": "vendor=abc"}


def test_a_lambda_record_s_spelling_is_read_too() -> None:
    record_attributes = {
        "traceparent": {"stringValue": TRACEPARENT, "dataType": "String"},
        "other": {"stringValue": "x", "dataType": "String"},
    }
    assert carrier_from(record_attributes) == {"traceparent": TRACEPARENT}
    assert remote_parent(carrier_from(record_attributes)) == (TRACE_ID, SPAN_ID)


@pytest.mark.parametrize(
    "attributes",
    [
        None,
        "traceparent",
        {"traceparent": TRACEPARENT},
        {"traceparent": {"DataType": "Binary", "BinaryValue": b"00-..."}},
        {"traceparent": {"DataType": "String", "StringValue": 7}},
        {"traceparent": {"DataType": "Number", "StringValue": "7"}},
    ],
)
def test_attributes_of_another_shape_carry_nothing(attributes: object) -> None:
    assert carrier_from(attributes) == {}


def received() -> LiveChange:
    message = Message(
        id=MessageId("01JABCDEFGHJKMNPQRSTVWXYZ0"),
        sender_id=UserId("bob"),
        recipient_id=UserId("alice"),
        body="hi",
        sent_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    )
    return LiveChange(InboxChange(3, 1, MessageReceivedChange(message.id, None)), message)


def test_an_event_carries_the_publisher_s_context() -> None:
    event = received()
    carrier = {"traceparent": TRACEPARENT, "tracestate": "vendor=abc"}
    payload = encode_event(event, request_id="req-1", trace=carrier)
    assert decode_published_event(payload) == (event, "req-1", carrier)
    # A process that reads request ids only decodes it as before.
    assert decode_event_with_request_id(payload) == (event, "req-1")


def test_an_event_without_a_context_decodes_as_before() -> None:
    event = UnreadCountChanged(UserId("alice"), 2, 9)
    payload = encode_event(event)
    assert b"tp" not in payload
    assert decode_published_event(payload) == (event, None, None)


def test_a_context_field_that_is_not_text_is_dropped_not_the_event() -> None:
    payload = b'{"t":"count","u":"alice","n":2,"ver":9,"tp":["x"],"ts":5}'
    count = UnreadCountChanged(UserId("alice"), 2, 9)
    assert decode_published_event(payload) == (count, None, None)
