"""How the schema's fields run: graphql-core's executor, with a short path for plain fields.

Most fields of a page are plain attributes of a value (schema/plain_fields.py: a message's
`id`, an edge's `cursor` and `node`, a page's `edges`): Strawberry resolves them with
`getattr`, and nothing else. graphql-core still builds a resolve info, collects arguments and
completes the value through its generic path for each of them: most of an executed page's time
(docs/performance.md, issue 14). This executor reads and serializes them itself, down through
objects, lists of them and interfaces whose implementation the value's class names: a page of
edges and their messages is one walk. Anything else, and any value the short path cannot vouch
for (a null, a scalar that refuses it, a type that disowns it), goes through graphql-core's
path for that object, which also makes the error.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from graphql import GraphQLInterfaceType, GraphQLObjectType
from graphql.execution.collect_fields import CollectedFields, FieldDetailsList, GroupedFieldSet
from graphql.pyutils import Path, Undefined
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types.base import get_object_definition
from strawberry.types.cast import get_strawberry_type_cast

from schema.plain_fields import (
    PlainField,
    PlainLeaf,
    PlainObject,
    is_own_instance,
    own_class,
    plain_fields,
)
from schema.subfields import subfields_of

# A value the short path cannot vouch for: graphql-core's path answers it.
_MISS: Any = object()
# An object's selection as the short path serves it: response name, plain field (None for
# `__typename`) and the field's details, in the selection's order.
_Plan = tuple[tuple[str, PlainField | None, FieldDetailsList], ...]


class InboxExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._plain = plain_fields(self.schema)
        self._subfields = subfields_of(self.schema, self.operation, self.fragment_definitions)
        # The short path's collections for this execution, by type and selection: every edge
        # of a page asks for its node's with the same list of field details (held here, so
        # that its id stays its own).
        self._collections: dict[
            tuple[str, int], tuple[FieldDetailsList, GroupedFieldSet | None]
        ] = {}
        self._plans: dict[tuple[str, int], tuple[GroupedFieldSet, _Plan | None]] = {}
        self._own_classes: dict[str, type | None] = {}

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
        plan = self._plan(object_type, grouped_field_set)
        if plan is None:
            return _MISS
        results: dict[str, Any] = {}
        for response_name, field, field_details_list in plan:
            if field is None:
                results[response_name] = object_type.name
                continue
            # Inline rather than a call to _completed: this loop runs for every field of a page.
            value = getattr(source, field.attribute, _MISS)
            if value is None:
                if not field.nullable:
                    return _MISS
            elif isinstance(field, PlainLeaf):
                if field.is_list:
                    value = _serialized_list(field, value)
                elif type(value) is not field.passes:
                    value = _serialized(field.serialize, value)
            elif value is not _MISS:
                value = self._served_value(field, value, field_details_list)
            if value is _MISS:
                return _MISS
            results[response_name] = value
        return results

    def _plan(
        self, object_type: GraphQLObjectType, grouped_field_set: GroupedFieldSet
    ) -> _Plan | None:
        """Each response name's plain field (None for `__typename`), or None when a field is
        not plain: read once per selection and type, not once per item of a page."""
        key = (object_type.name, id(grouped_field_set))
        found = self._plans.get(key)
        if found is None:
            found = self._plans[key] = (
                grouped_field_set,
                _plan_of(self._plain, object_type, grouped_field_set),
            )
        return found[1]

    def _served_item(
        self,
        named: GraphQLObjectType | GraphQLInterfaceType,
        value: Any,
        field_details_list: FieldDetailsList,
        collected: GroupedFieldSet | None,
    ) -> Any:
        object_type = (
            named if isinstance(named, GraphQLObjectType) else self._implementation(named, value)
        )
        if object_type is None:
            return _MISS
        # A type that implements an interface checks that the value is one of it (Strawberry's
        # `is_type_of`); only a plain yes is vouched for here, anything else is graphql-core's.
        is_type_of = object_type.is_type_of
        if (
            is_type_of is not None
            and not is_own_instance(self._own_class(object_type), value)
            and not _is_plainly(is_type_of, value)
        ):
            return _MISS
        if collected is None:
            collected = self._collected(object_type, field_details_list)
            if collected is None:
                return _MISS
        return self._served_object(object_type, value, collected)

    def _own_class(self, object_type: GraphQLObjectType) -> type | None:
        name = object_type.name
        if name not in self._own_classes:
            self._own_classes[name] = own_class(object_type)
        return self._own_classes[name]

    def _implementation(
        self, interface: GraphQLInterfaceType, value: Any
    ) -> GraphQLObjectType | None:
        """The object type Strawberry's `resolve_type` would find: the one named by the value's
        class, when it implements the interface (and is neither a cast nor a generic)."""
        definition = get_object_definition(value)
        if definition is None or definition.is_graphql_generic:
            return None
        if get_strawberry_type_cast(value) is not None:
            return None
        found = self.schema.get_type(definition.name)
        if isinstance(found, GraphQLObjectType) and self.schema.is_sub_type(interface, found):
            return found
        return None

    def _collected(
        self, object_type: GraphQLObjectType, field_details_list: FieldDetailsList
    ) -> GroupedFieldSet | None:
        key = (object_type.name, id(field_details_list))
        found = self._collections.get(key)
        if found is None:
            grouped, deferred, _ = self.collect_subfields(object_type, field_details_list)
            found = self._collections[key] = (field_details_list, None if deferred else grouped)
        return found[1]

    def _served(
        self,
        fields: Mapping[str, PlainField],
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: FieldDetailsList,
    ) -> Any:
        """The field's value, completed, if the short path can vouch for it; else _MISS (a
        null for a non-null field, a value its scalar refuses: graphql-core's path answers or
        makes the error)."""
        name = field_details_list[0].node.name.value
        if name == "__typename":
            return parent_type.name
        field = fields.get(name)
        if field is None:
            return _MISS
        value = getattr(source, field.attribute, _MISS)
        if value is None or value is _MISS:
            return None if value is None and field.nullable else _MISS
        if isinstance(field, PlainLeaf):
            if field.is_list:
                return _serialized_list(field, value)
            return value if type(value) is field.passes else _serialized(field.serialize, value)
        return self._served_value(field, value, field_details_list)

    def _served_value(
        self, field: PlainObject, value: Any, field_details_list: FieldDetailsList
    ) -> Any:
        named = field.named_type
        # An object type's subfields are the same for every item; an interface's depend on
        # each item's type.
        collected = None
        if isinstance(named, GraphQLObjectType):
            collected = self._collected(named, field_details_list)
            if collected is None:
                return _MISS
        if not field.is_list:
            return self._served_item(named, value, field_details_list, collected)
        if not isinstance(value, list | tuple):
            return _MISS
        items = []
        for item in value:
            served = (
                _MISS
                if item is None
                else self._served_item(named, item, field_details_list, collected)
            )
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


def _serialized_list(field: PlainLeaf, value: Any) -> Any:
    if not isinstance(value, list | tuple):
        return _MISS
    items: list[Any] = []
    for item in value:
        if item is None:
            if not field.items_nullable:
                return _MISS
            items.append(None)
        elif type(item) is field.passes:
            items.append(item)
        else:
            serialized = _serialized(field.serialize, item)
            if serialized is _MISS:
                return _MISS
            items.append(serialized)
    return items


def _is_plainly(is_type_of: Callable[[Any, Any], Any], value: Any) -> bool:
    # Strawberry's checks ignore the resolve info; one that needs it fails here and falls back.
    try:
        return is_type_of(value, None) is True
    except Exception:
        return False


def _plan_of(
    plain: Mapping[str, Mapping[str, PlainField]],
    object_type: GraphQLObjectType,
    grouped_field_set: GroupedFieldSet,
) -> _Plan | None:
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
