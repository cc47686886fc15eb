"""What a field's selection asks for below it, read from the document itself.

Strawberry's `info.selected_fields` converts the whole selection into its own objects on every
call; these walks read graphql-core's nodes as they are, and stop at the first match. What they
find depends on the document alone (fragments included), so it is kept per document's nodes.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Final

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    SelectionSetNode,
)

from schema.info import Info
from schema.node_memo import NodeMemo

# Bounds the memory: past it, the oldest answers are dropped.
MAX_ANSWERS: Final = 4096
_ANSWERS: NodeMemo[bool] = NodeMemo(MAX_ANSWERS)


def selects_path(
    info: Info, path: tuple[str, ...], below: tuple[str, ...] | frozenset[str] = ()
) -> bool:
    """Whether the field asks for `path` below it, e.g. ("edges", "node", "body"), through
    fragments and aliases; with `below`, for one of those names at any depth under `path`.
    A field that @skip or @include leaves out still counts: asking for too much only costs a
    lookup."""
    raw = info._raw_info
    nodes = raw.field_nodes
    return _ANSWERS.get(
        (path, below, *map(id, nodes)),
        nodes,
        lambda: any(
            _selects_path(node.selection_set, path, below, raw.fragments) for node in nodes
        ),
    )


def fields_at(
    selection_set: SelectionSetNode | None,
    fragments: Mapping[str, FragmentDefinitionNode],
    seen: frozenset[str] = frozenset(),
) -> list[FieldNode]:
    """Every field selected at this level of a selection set, through inline fragments and
    fragment spreads (a cycle stops at a repeated fragment)."""
    found: list[FieldNode] = []
    for selection in selection_set.selections if selection_set else ():
        if isinstance(selection, FieldNode):
            found.append(selection)
        elif isinstance(selection, InlineFragmentNode):
            found.extend(fields_at(selection.selection_set, fragments, seen))
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = fragments.get(name)
            if fragment is not None and name not in seen:
                found.extend(fields_at(fragment.selection_set, fragments, seen | {name}))
    return found


def _selects_path(
    selection_set: SelectionSetNode | None,
    path: tuple[str, ...],
    below: Collection[str],
    fragments: dict[str, FragmentDefinitionNode],
) -> bool:
    if not path:
        return not below or _selects_any(selection_set, below, fragments)
    name, rest = path[0], path[1:]
    return any(
        field.name.value == name and _selects_path(field.selection_set, rest, below, fragments)
        for field in fields_at(selection_set, fragments)
    )


def _selects_any(
    selection_set: SelectionSetNode | None,
    names: Collection[str],
    fragments: dict[str, FragmentDefinitionNode],
) -> bool:
    return any(
        field.name.value in names or _selects_any(field.selection_set, names, fragments)
        for field in fields_at(selection_set, fragments)
    )
