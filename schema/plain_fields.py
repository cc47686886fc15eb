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
    GraphQLBoolean,
    GraphQLID,
    GraphQLInt,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    GraphQLString,
    get_named_type,
    get_nullable_type,
    is_leaf_type,
    is_non_null_type,
)
from graphql.execution.collect_fields import FieldDetailsList, GroupedFieldSet
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
    # The class whose instances the scalar serializes as themselves (a `str` for String and
    # ID, a `bool` for Boolean): such a value is served without a call.
    passes: Any = None  # a type or None; Any, so that `type(v) is passes` narrows nothing
    # A None is served as null (a nullable field); else graphql-core's path makes the error.
    # Never for a value at hand, whose None means "not at hand: run the resolver".
    nullable: bool = False
    # A list of the scalar (`messageIds`), and whether its items may be null.
    is_list: bool = False
    items_nullable: bool = False
    # An Int: a value of `passes` (int) is its own only within 32 bits.
    bounded: bool = False


@dataclass(frozen=True, slots=True)
class PlainObject:
    """A field of an object or interface type, or a list of one, that is an attribute of its
    parent's value (a page's `edges` and `pageInfo`, an edge's `node`, a change's events)."""

    attribute: str
    named_type: GraphQLObjectType | GraphQLInterfaceType
    is_list: bool
    nullable: bool = False


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
        nullable = not is_non_null_type(graphql_field.type)
        at_hand = at_hand_attribute(field)
        if at_hand is not None and is_leaf_type(named):
            if get_nullable_type(graphql_field.type) is named:
                fields[name] = _leaf(at_hand, named)
        elif not (
            field.is_basic_field
            # Strawberry's getattr resolver, not a default resolver configured otherwise.
            and getattr(graphql_field.resolve, "_is_default", False)
            and field.default_resolver is getattr
        ):
            continue
        elif is_leaf_type(named):
            leaf = _plain_leaf(field.python_name, graphql_field.type, named, nullable)
            if leaf is not None:
                fields[name] = leaf
        elif _is_plain_object(graphql_field.type, named, listed=False):
            fields[name] = PlainObject(field.python_name, named, False, nullable)
        elif _is_plain_object(graphql_field.type, named, listed=True):
            fields[name] = PlainObject(field.python_name, named, True, nullable)
    return fields


def _plain_leaf(
    attribute: str, field_type: GraphQLOutputType, named: Any, nullable: bool
) -> PlainLeaf | None:
    """The scalar itself, or a list of it (a list of lists is graphql-core's)."""
    serialize, passes, bounded = named.serialize, _PASSES.get(named), named is GraphQLInt
    inner: Any = get_nullable_type(field_type)
    if inner is named:
        return PlainLeaf(attribute, serialize, passes, nullable, bounded=bounded)
    if isinstance(inner, GraphQLList) and get_nullable_type(inner.of_type) is named:
        items_nullable = not is_non_null_type(inner.of_type)
        return PlainLeaf(attribute, serialize, passes, nullable, True, items_nullable, bounded)
    return None


def _leaf(attribute: str, named: Any) -> PlainLeaf:
    return PlainLeaf(attribute, named.serialize, _PASSES.get(named), bounded=named is GraphQLInt)


# graphql-core's own scalars, whose serialize returns an instance of exactly these classes
# unchanged (an Int only within 32 bits: `PlainLeaf.bounded`).
_PASSES: dict[Any, type] = {
    GraphQLString: str,
    GraphQLID: str,
    GraphQLBoolean: bool,
    GraphQLInt: int,
}


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


def own_class(object_type: GraphQLObjectType) -> type | None:
    """The class that defines `object_type` when Strawberry's own `is_type_of` (not one the
    type declares) checks values against it: an instance of exactly that class, not cast to
    another type, is one of the type without asking (three calls a message on a page of
    messages, each a Node)."""
    definition = (object_type.extensions or {}).get(_BACKREF)
    if isinstance(definition, StrawberryObjectDefinition) and definition.is_type_of is None:
        return definition.origin
    return None


def is_own_instance(origin: type | None, value: Any) -> bool:
    """Whether `value` is one of `own_class`'s `origin`, and not cast to another type."""
    return (
        origin is not None
        and type(value) is origin
        and getattr(value, TYPE_CAST_ATTRIBUTE, None) is None
    )


# An object's selection as the short path serves it: response name, plain field (None for
# `__typename`) and the field's details, in the selection's order.
Plan = tuple[tuple[str, PlainField | None, FieldDetailsList], ...]


def plan_of(
    plain: Mapping[str, Mapping[str, PlainField]],
    object_type: GraphQLObjectType,
    grouped_field_set: GroupedFieldSet,
) -> Plan | None:
    fields = plain.get(object_type.name)
    if fields is None:
        return None
    plan = []
    for response_name, field_details_list in grouped_field_set.items():
        name = field_details_list[0].node.name.value
        field = fields.get(name)
        if field is None and name != "__typename":
            return None
        plan.append((response_name, field, field_details_list))
    return tuple(plan)
