"""A plain field's value as its scalar serializes it, for schema/executor.py's short path: a
value of the scalar's own class passes unchanged (a `str` for String and ID), anything else
goes through the scalar's `serialize`, and whatever the short path cannot vouch for is `MISS`
(graphql-core's path answers it, and makes the error)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql.pyutils import Undefined

from schema.plain_fields import PlainLeaf

# A value the short path cannot vouch for: graphql-core's path answers it.
MISS: Any = object()
# What GraphQL's Int holds (graphql-core's serialize refuses anything beyond).
INT_MIN, INT_MAX = -(2**31), 2**31 - 1


def serialized(serialize: Callable[[Any], Any], value: Any) -> Any:
    try:
        result = serialize(value)
    except Exception:  # graphql-core's path makes the error
        return MISS
    return MISS if result is None or result is Undefined else result


def serialized_leaf(field: PlainLeaf, value: Any) -> Any:
    """A scalar's value, or each item of a list of it, as the scalar serializes it."""
    if not field.is_list:
        if type(value) is field.passes:
            return MISS if field.bounded and not INT_MIN <= value <= INT_MAX else value
        return serialized(field.serialize, value)
    if not isinstance(value, list | tuple):
        return MISS
    items: list[Any] = []
    for item in value:
        if item is None:
            if not field.items_nullable:
                return MISS
            items.append(None)
        elif type(item) is field.passes and not (field.bounded and not INT_MIN <= item <= INT_MAX):
            items.append(item)
        else:
            result = serialized(field.serialize, item)
            if result is MISS:
                return MISS
            items.append(result)
    return items
