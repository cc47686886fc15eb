"""A bounded memo keyed by the identity of parsed document nodes.

The parse cache hands out the same nodes for the same document text, so what is derived from a
node (its validation errors, its collected subfields) can be kept by the node's id, without
hashing its tree. Each entry holds the nodes its key names, so that their ids cannot be reused
while it is kept; past the bound, the oldest entry goes.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class NodeMemo(Generic[V]):
    def __init__(self, bound: int) -> None:
        self._bound = bound
        self._kept: dict[Hashable, tuple[object, V]] = {}

    def get(self, key: Hashable, held: object, derive: Callable[[], V]) -> V:
        """The value kept under `key` (ids of the nodes in `held`), derived on first use."""
        found = self._kept.get(key)
        if found is None:
            if len(self._kept) >= self._bound:
                self._kept.pop(next(iter(self._kept)))
            found = self._kept[key] = (held, derive())
        return found[1]
