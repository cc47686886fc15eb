"""The fields an object's selection asks for, collected once per document, not once per request.

graphql-core collects the subfields of each selection anew for every execution (memoized
within it): for an executed page, a tenth of its time (docs/performance.md, issue 14). What it
collects depends on the document alone, unless a directive (@skip, @include, @defer) or a
fragment's own variables make it depend on the request: documents with any of those are
collected per request, as graphql-core does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from weakref import WeakKeyDictionary

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)
from graphql.execution.collect_fields import CollectedFields, FieldDetailsList

from schema.node_memo import NodeMemo

# Bounds each schema's memory: past it, the oldest collections are dropped.
MAX_COLLECTIONS = 4096


class SharedSubfields:
    """One schema's subfield collections, keyed by the return type and the field nodes (the
    parse cache hands out the same nodes for the same document)."""

    def __init__(self) -> None:
        self._collected: NodeMemo[CollectedFields] = NodeMemo(MAX_COLLECTIONS)
        # Operations already looked at: whether a request can change what they collect.
        self._static: NodeMemo[bool] = NodeMemo(MAX_COLLECTIONS)

    def collect(
        self,
        return_type: GraphQLObjectType,
        field_details_list: FieldDetailsList,
        collect: Callable[[GraphQLObjectType, FieldDetailsList], CollectedFields],
    ) -> CollectedFields:
        """What `collect` (graphql-core's) found the first time it was asked."""
        key = (return_type.name, *(id(details.node) for details in field_details_list))
        return self._collected.get(
            key, field_details_list, lambda: collect(return_type, field_details_list)
        )

    def applies_to(
        self, operation: OperationDefinitionNode, fragments: dict[str, FragmentDefinitionNode]
    ) -> bool:
        return self._static.get(
            id(operation), operation, lambda: not _varies(operation.selection_set, fragments, set())
        )


_SHARED: WeakKeyDictionary[GraphQLSchema, SharedSubfields] = WeakKeyDictionary()


def subfields_of(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: dict[str, FragmentDefinitionNode],
) -> SharedSubfields | None:
    """The schema's shared collections, if this operation's do not depend on the request."""
    shared = _SHARED.get(schema)
    if shared is None:
        shared = _SHARED[schema] = SharedSubfields()
    return shared if shared.applies_to(operation, fragments) else None


def _varies(
    selection_set: SelectionSetNode | None,
    fragments: dict[str, FragmentDefinitionNode],
    seen: set[str],
) -> bool:
    """Whether a directive, or a fragment with variables of its own, is anywhere below."""
    selections: Iterable[Any] = selection_set.selections if selection_set else ()
    for selection in selections:
        if selection.directives:
            return True
        if isinstance(selection, FieldNode | InlineFragmentNode):
            if _varies(selection.selection_set, fragments, seen):
                return True
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if getattr(selection, "arguments", None):
                return True
            if name in seen:
                continue
            seen.add(name)
            fragment = fragments.get(name)
            if fragment is None or fragment.directives or fragment.variable_definitions:
                return True
            if _varies(fragment.selection_set, fragments, seen):
                return True
    return False
