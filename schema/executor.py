"""How the schema's fields run: graphql-core's executor, with a short path for plain leaves.

Most fields of a page are plain attributes of a value (a message's `id`, `sentAt`, `isRead`,
an edge's `cursor`): Strawberry resolves them with `getattr`, and nothing else. graphql-core
still builds a resolve info (Strawberry's own, per field), collects arguments and completes
the value through its generic path for each of them: most of an executed page's time
(docs/performance.md, issue 14). For those fields this executor reads the attribute and
serializes it itself; so too for a resolved field whose value its parent already holds
(`at_hand`). Anything else, and any value the short path cannot vouch for (null, or a scalar
that refuses it), goes through graphql-core's path, which also makes the error.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

from graphql import GraphQLObjectType, GraphQLSchema, get_named_type, is_leaf_type
from graphql.execution.collect_fields import CollectedFields, FieldDetailsList, GroupedFieldSet
from graphql.pyutils import Path, Undefined
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField

from schema.subfields import subfields_of

_BACKREF = GraphQLCoreConverter.DEFINITION_BACKREF
AT_HAND = "inboxql.at_hand"


@dataclass(frozen=True, slots=True)
class PlainLeaf:
    """A field of a scalar or enum type that is an attribute of its parent's value, or may be
    (`at_hand`)."""

    attribute: str
    serialize: Callable[[Any], Any]


# Per schema, built on first use: which fields of which types are plain leaves.
_PLAIN_LEAVES: WeakKeyDictionary[GraphQLSchema, dict[str, dict[str, PlainLeaf]]] = (
    WeakKeyDictionary()
)


def plain_leaves(schema: GraphQLSchema) -> Mapping[str, Mapping[str, PlainLeaf]]:
    """By type name, then field name."""
    found = _PLAIN_LEAVES.get(schema)
    if found is None:
        found = {}
        for named in schema.type_map.values():
            if isinstance(named, GraphQLObjectType) and not named.name.startswith("__"):
                leaves = _plain_leaves_of(named)
                if leaves:
                    found[named.name] = leaves
        _PLAIN_LEAVES[schema] = found
    return found


def _plain_leaves_of(object_type: GraphQLObjectType) -> dict[str, PlainLeaf]:
    leaves: dict[str, PlainLeaf] = {}
    for name, graphql_field in object_type.fields.items():
        field = (graphql_field.extensions or {}).get(_BACKREF)
        named = get_named_type(graphql_field.type)
        resolver = graphql_field.resolve
        at_hand = at_hand_attribute(field) if isinstance(field, StrawberryField) else None
        if at_hand is not None and is_leaf_type(named) and not graphql_field.args:
            leaves[name] = PlainLeaf(at_hand, named.serialize)
        elif (
            isinstance(field, StrawberryField)
            and field.is_basic_field
            # Strawberry's getattr resolver, not a default resolver configured otherwise.
            and getattr(resolver, "_is_default", False)
            and field.default_resolver is getattr
            and not graphql_field.args
            and is_leaf_type(named)
        ):
            leaves[name] = PlainLeaf(field.python_name, named.serialize)
    return leaves


def at_hand(attribute: str) -> dict[str, str]:
    """Metadata for a resolved leaf field whose value its parent may already hold in
    `attribute` (a message's body, when its page fetched the bodies at once). When it does,
    the value is served from there and the resolver is not called; when it is None, the
    resolver runs."""
    return {AT_HAND: attribute}


def at_hand_attribute(field: StrawberryField) -> str | None:
    attribute = dict(field.metadata or {}).get(AT_HAND)
    return attribute if isinstance(attribute, str) else None


class InboxExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._plain_leaves = plain_leaves(self.schema)
        self._subfields = subfields_of(self.schema, self.operation, self.fragment_definitions)

    def collect_subfields(
        self, return_type: GraphQLObjectType, field_details_list: FieldDetailsList
    ) -> CollectedFields:
        if self._subfields is None:
            return super().collect_subfields(return_type, field_details_list)
        return self._subfields.collect(return_type, field_details_list, super().collect_subfields)

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: GroupedFieldSet,
        position_context: Any,
    ) -> Any:
        # An object whose every field is served from its value (a message, a page's info) is
        # answered in one loop, without a path or a call per field.
        leaves = self._plain_leaves.get(parent_type.name)
        if leaves is not None:
            results: dict[str, Any] = {}
            for response_name, field_details_list in grouped_field_set.items():
                value = _served(leaves, parent_type, source_value, field_details_list)
                if value is None:
                    break
                results[response_name] = value
            else:
                return results
        return super().execute_fields(
            parent_type, source_value, path, grouped_field_set, position_context
        )

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: FieldDetailsList,
        path: Path,
        position_context: Any,
    ) -> Any:
        leaves = self._plain_leaves.get(parent_type.name)
        if leaves is not None:
            value = _served(leaves, parent_type, source, field_details_list)
            if value is not None:
                return value
        return super().execute_field(
            parent_type, source, field_details_list, path, position_context
        )


def _served(
    leaves: Mapping[str, PlainLeaf],
    parent_type: GraphQLObjectType,
    source: Any,
    field_details_list: FieldDetailsList,
) -> Any:
    """The field's value, serialized, if the short path can vouch for it; else None."""
    name = field_details_list[0].node.name.value
    if name == "__typename":
        return parent_type.name
    leaf = leaves.get(name)
    if leaf is None:
        return None
    value = getattr(source, leaf.attribute, None)
    if value is None:
        return None
    try:
        serialized = leaf.serialize(value)
    except Exception:  # graphql-core's path makes the error
        return None
    return None if serialized is Undefined else serialized
