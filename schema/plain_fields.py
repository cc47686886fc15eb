"""Which fields of the schema are plain: an attribute of their parent's value, read with
Strawberry's `getattr` resolver and nothing else (a message's `id`, an edge's `node`, a page's
`edges`), or a resolved leaf whose value the parent may already hold (`at_hand`: a message's
body when its page fetched the bodies). schema/executor.py serves them without graphql-core's
per-field machinery."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

from graphql import (
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    get_named_type,
    get_nullable_type,
    is_leaf_type,
)
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.base import StrawberryObjectDefinition
from strawberry.types.cast import TYPE_CAST_ATTRIBUTE
from strawberry.types.field import StrawberryField

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
    """A field of an object or interface type, or a list of one, that is an attribute of its
    parent's value (a page's `edges` and `pageInfo`, an edge's `node`, a change's events)."""

    attribute: str
    named_type: GraphQLObjectType | GraphQLInterfaceType
    is_list: bool


PlainField = PlainLeaf | PlainObject

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
            fields[name] = PlainObject(field.python_name, named, is_list=False)
        elif _is_plain_object(graphql_field.type, named, listed=True):
            fields[name] = PlainObject(field.python_name, named, is_list=True)
    return fields


def _is_plain_object(field_type: GraphQLOutputType, named: Any, *, listed: bool) -> bool:
    """An object type, or an interface whose implementation Strawberry finds from the value's
    class, that is the field's type itself (nullable or not) or, `listed`, a list of it."""
    if not (isinstance(named, GraphQLObjectType) or _resolves_by_class(named)):
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


def _resolves_by_class(named: Any) -> bool:
    # An interface with its own `resolve_type` may decide otherwise: graphql-core's path runs it.
    if not isinstance(named, GraphQLInterfaceType):
        return False
    definition = (named.extensions or {}).get(_BACKREF)
    return isinstance(definition, StrawberryObjectDefinition) and definition.resolve_type is None


def is_own_instance(object_type: GraphQLObjectType, value: Any) -> bool:
    """Whether `value` is an instance of the class that defines `object_type`, not cast to
    another type: Strawberry's own `is_type_of` (not one the type declares) says yes to it.
    Asking it costs three calls a message on a page of messages (each a Node)."""
    definition = (object_type.extensions or {}).get(_BACKREF)
    return (
        isinstance(definition, StrawberryObjectDefinition)
        and definition.is_type_of is None
        and type(value) is definition.origin
        and getattr(value, TYPE_CAST_ATTRIBUTE, None) is None
    )
