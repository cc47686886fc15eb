"""The trace context in SQS message attributes: `traceparent` and `tracestate` as String
attributes, each entry of a batch with its own.

SQS's API spells an attribute `{"DataType": "String", "StringValue": ...}`; a Lambda event
record spells the same `{"dataType": "String", "stringValue": ...}`. Both are read; anything
else (a binary attribute, a number, a shape from elsewhere) is ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# The carrier's names (services/observability/trace_carrier.py), without importing
# OpenTelemetry: the Lambda handler imports this module whether tracing is on or not.
CARRIED = ("traceparent", "tracestate")
# What a traced consumer asks SQS to return with each message.
TRACE_ATTRIBUTE_NAMES = list(CARRIED)


def message_attributes(carrier: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """A carrier as SendMessage's (and a batch entry's) `MessageAttributes`."""
    return {
        name: {"DataType": "String", "StringValue": value}
        for name, value in carrier.items()
        if name in CARRIED and value
    }


def carrier_from(attributes: object) -> dict[str, str]:
    """The carrier in a received message's attributes (the API's `MessageAttributes` or a
    Lambda record's `messageAttributes`); empty when there is none."""
    if not isinstance(attributes, Mapping):
        return {}
    carrier: dict[str, str] = {}
    for name in CARRIED:
        value = _string_value(attributes.get(name))
        if value is not None:
            carrier[name] = value
    return carrier


def _string_value(attribute: Any) -> str | None:
    if not isinstance(attribute, Mapping):
        return None
    kind = attribute.get("DataType", attribute.get("dataType"))
    value = attribute.get("StringValue", attribute.get("stringValue"))
    if kind != "String" or not isinstance(value, str):
        return None
    return value
