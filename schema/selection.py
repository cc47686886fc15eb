"""What a field's selection asks for below it, read from the document itself.

Strawberry's `info.selected_fields` converts the whole selection into its own objects on every
call; these walks read graphql-core's nodes as they are, and stop at the first match.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    SelectionNode,
)

from schema.info import Info


def selects_path(info: Info, path: tuple[str, ...], below: Collection[str] = ()) -> bool:
    """Whether the field asks for `path` below it, e.g. ("edges", "node", "body"), through
    fragments and aliases; with `below`, for one of those names at any depth under `path`.
    A field that @skip or @include leaves out still counts: asking for too much only costs a
    lookup."""
    raw = info._raw_info
    return any(
        _selects_path(node.selection_set, path, below, raw.fragments) for node in raw.field_nodes
    )


def _fields(
    selection_set: object, fragments: dict[str, FragmentDefinitionNode]
) -> Iterable[FieldNode]:
    """The fields of a selection set, with those of its fragments, at that level."""
    selections: tuple[SelectionNode, ...] = getattr(selection_set, "selections", None) or ()
    for selection in selections:
        if isinstance(selection, FieldNode):
            yield selection
        elif isinstance(selection, InlineFragmentNode):
            yield from _fields(selection.selection_set, fragments)
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is not None:
                yield from _fields(fragment.selection_set, fragments)


def _selects_path(
    selection_set: object,
    path: tuple[str, ...],
    below: Collection[str],
    fragments: dict[str, FragmentDefinitionNode],
) -> bool:
    if not path:
        return not below or _selects_any(selection_set, below, fragments)
    name, rest = path[0], path[1:]
    return any(
        field.name.value == name and _selects_path(field.selection_set, rest, below, fragments)
        for field in _fields(selection_set, fragments)
    )


def _selects_any(
    selection_set: object, names: Collection[str], fragments: dict[str, FragmentDefinitionNode]
) -> bool:
    return any(
        field.name.value in names or _selects_any(field.selection_set, names, fragments)
        for field in _fields(selection_set, fragments)
    )
