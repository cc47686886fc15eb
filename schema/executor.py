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

from graphql import (
    GraphQLList,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    get_named_type,
    get_nullable_type,
    is_leaf_type,
)
from graphql.execution.collect_fields import CollectedFields, FieldDetailsList, GroupedFieldSet
from graphql.pyutils import Path, Undefined
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.base import StrawberryObjectDefinition
from strawberry.types.cast import TYPE_CAST_ATTRIBUTE
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


@dataclass(frozen=True, slots=True)
class PlainObject:
    """A field of an object type, or a list of one, that is an attribute of its parent's value
    (a page's `edges` and `pageInfo`, an edge's `node`)."""

    attribute: str
    object_type: GraphQLObjectType
    is_list: bool
    # The Python class the object type was defined by: an instance of it is one of the type.
    own_class: type | None


PlainField = PlainLeaf | PlainObject
# A value the short path cannot vouch for: graphql-core's path answers it.
_MISS: Any = object()

# Per schema, built on first use: which fields of which types are plain.
_PLAIN_FIELDS: WeakKeyDictionary[GraphQLSchema, dict[str, dict[str, PlainField]]] = (
    WeakKeyDictionary()
)


def plain_fields(schema: GraphQLSchema) -> Mapping[str, Mapping[str, PlainField]]:
    """By type name, then field name."""
    found = _PLAIN_FIELDS.get(schema)
    if found is None:
        found = {}
        for named in schema.type_map.values():
            if isinstance(named, GraphQLObjectType) and not named.name.startswith("__"):
                fields = _plain_fields_of(named)
                if fields:
                    found[named.name] = fields
        _PLAIN_FIELDS[schema] = found
    return found


def _plain_fields_of(object_type: GraphQLObjectType) -> dict[str, PlainField]:
    fields: dict[str, PlainField] = {}
    for name, graphql_field in object_type.fields.items():
        field = (graphql_field.extensions or {}).get(_BACKREF)
        if not isinstance(field, StrawberryField) or graphql_field.args:
            continue
        named = get_named_type(graphql_field.type)
        at_hand = at_hand_attribute(field)
        if at_hand is not None and is_leaf_type(named):
            fields[name] = PlainLeaf(at_hand, named.serialize)
        elif not (
            field.is_basic_field
            # Strawberry's getattr resolver, not a default resolver configured otherwise.
            and getattr(graphql_field.resolve, "_is_default", False)
            and field.default_resolver is getattr
        ):
            continue
        elif is_leaf_type(named):
            fields[name] = PlainLeaf(field.python_name, named.serialize)
        elif _is_plain_object(graphql_field.type, named, listed=False):
            fields[name] = PlainObject(field.python_name, named, False, _own_class(named))
        elif _is_plain_object(graphql_field.type, named, listed=True):
            fields[name] = PlainObject(field.python_name, named, True, _own_class(named))
    return fields


def _own_class(object_type: GraphQLObjectType) -> type | None:
    definition = (object_type.extensions or {}).get(_BACKREF)
    return definition.origin if isinstance(definition, StrawberryObjectDefinition) else None


def _is_plain_object(field_type: GraphQLOutputType, named: Any, *, listed: bool) -> bool:
    """An object type, the field's type itself (nullable or not) or, `listed`, a list of it."""
    if not isinstance(named, GraphQLObjectType):
        return False
    inner: Any = get_nullable_type(field_type)
    if listed:
        if not isinstance(inner, GraphQLList):
            return False
        inner = get_nullable_type(inner.of_type)
    return inner is named


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
        self._plain = plain_fields(self.schema)
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
        # An object whose every field is served from its value, down to its leaves (a page
        # of edges, each with its message), is answered here, without a path, a resolve info
        # or a completion per field. Deferred parts (a position context) are graphql-core's.
        if position_context is None:
            served = self._served_object(parent_type, source_value, grouped_field_set)
            if served is not _MISS:
                return served
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
        if position_context is None:
            fields = self._plain.get(parent_type.name)
            if fields is not None:
                value = self._served(fields, parent_type, source, field_details_list)
                if value is not _MISS:
                    return value
        return super().execute_field(
            parent_type, source, field_details_list, path, position_context
        )

    def _served_object(
        self, object_type: GraphQLObjectType, source: Any, grouped_field_set: GroupedFieldSet
    ) -> Any:
        fields = self._plain.get(object_type.name)
        if fields is None:
            return _MISS
        # By name first: a field the short path cannot serve is known before any work.
        for field_details_list in grouped_field_set.values():
            name = field_details_list[0].node.name.value
            if name not in fields and name != "__typename":
                return _MISS
        results: dict[str, Any] = {}
        for response_name, field_details_list in grouped_field_set.items():
            value = self._served(fields, object_type, source, field_details_list)
            if value is _MISS:
                return _MISS
            results[response_name] = value
        return results

    def _served_item(
        self, field: PlainObject, value: Any, grouped_field_set: GroupedFieldSet
    ) -> Any:
        # A type that implements an interface checks that the value is one of it (Strawberry's
        # `is_type_of`); only a plain yes is vouched for here, anything else is graphql-core's.
        # An instance of the type's own class, not cast to another type, is one: the check
        # would say yes, and on a page of messages (each a Node) it is three calls a message.
        object_type = field.object_type
        is_type_of = object_type.is_type_of
        if (
            is_type_of is not None
            and not (
                type(value) is field.own_class and getattr(value, TYPE_CAST_ATTRIBUTE, None) is None
            )
            and not _is_plainly(is_type_of, value)
        ):
            return _MISS
        return self._served_object(object_type, value, grouped_field_set)

    def _served(
        self,
        fields: Mapping[str, PlainField],
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: FieldDetailsList,
    ) -> Any:
        """The field's value, completed, if the short path can vouch for it; else _MISS (a
        null, a value its scalar refuses: graphql-core's path answers or makes the error)."""
        name = field_details_list[0].node.name.value
        if name == "__typename":
            return parent_type.name
        field = fields.get(name)
        if field is None:
            return _MISS
        value = getattr(source, field.attribute, None)
        if value is None:
            return _MISS
        if isinstance(field, PlainLeaf):
            return _serialized(field.serialize, value)
        return self._served_value(field, value, field_details_list)

    def _served_value(
        self, field: PlainObject, value: Any, field_details_list: FieldDetailsList
    ) -> Any:
        grouped, deferred, _ = self.collect_subfields(field.object_type, field_details_list)
        if deferred:
            return _MISS
        if not field.is_list:
            return self._served_item(field, value, grouped)
        if not isinstance(value, list | tuple):
            return _MISS
        items = []
        for item in value:
            served = _MISS if item is None else self._served_item(field, item, grouped)
            if served is _MISS:
                return _MISS
            items.append(served)
        return items


def _serialized(serialize: Callable[[Any], Any], value: Any) -> Any:
    try:
        serialized = serialize(value)
    except Exception:  # graphql-core's path makes the error
        return _MISS
    return _MISS if serialized is None or serialized is Undefined else serialized


def _is_plainly(is_type_of: Callable[[Any, Any], Any], value: Any) -> bool:
    # Strawberry's checks ignore the resolve info; one that needs it fails here and falls back.
    try:
        return is_type_of(value, None) is True
    except Exception:
        return False
