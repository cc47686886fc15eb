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
from graphql.pyutils import Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types.base import get_object_definition
from strawberry.types.cast import get_strawberry_type_cast

from schema.plain_fields import (
    PlainField,
    PlainLeaf,
    PlainObject,
    Plan,
    is_own_instance,
    own_class,
    plain_fields,
    plan_of,
)
from schema.plain_values import INT_MAX, INT_MIN, MISS, serialized_leaf
from schema.subfields import subfields_of


class InboxExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._plain = plain_fields(self.schema)
        self._subfields = subfields_of(self.schema, self.operation, self.fragment_definitions)
        # The short path's plans for this execution, by type and selection.
        self._plans: dict[tuple[str, int], tuple[GroupedFieldSet, Plan | None]] = {}
        self._item_plans: dict[tuple[str, int], tuple[FieldDetailsList, Plan | None]] = {}
        self._own_classes: dict[str, type | None] = {}
        self._implementations: dict[tuple[str, type], GraphQLObjectType | None] = {}

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
            if served is not MISS:
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
                if value is not MISS:
                    return value
        return super().execute_field(
            parent_type, source, field_details_list, path, position_context
        )

    def _served_object(
        self, object_type: GraphQLObjectType, source: Any, grouped_field_set: GroupedFieldSet
    ) -> Any:
        plan = self._plan(object_type, grouped_field_set)
        return MISS if plan is None else self._walk(object_type, source, plan)

    def _walk(self, object_type: GraphQLObjectType, source: Any, plan: Plan) -> Any:
        results: dict[str, Any] = {}
        for response_name, field, field_details_list in plan:
            if field is None:
                results[response_name] = object_type.name
                continue
            # Inline rather than a call to _served: this loop runs for every field of a page.
            value = getattr(source, field.attribute, MISS)
            if value is None:
                if not field.nullable:
                    return MISS
            elif value is MISS:
                return MISS
            elif isinstance(field, PlainLeaf):
                if type(value) is not field.passes:
                    value = serialized_leaf(field, value)
                elif field.bounded and not INT_MIN <= value <= INT_MAX:
                    return MISS
            else:
                value = self._served_value(field, value, field_details_list)
            if value is MISS:
                return MISS
            results[response_name] = value
        return results

    def _plan(
        self, object_type: GraphQLObjectType, grouped_field_set: GroupedFieldSet
    ) -> Plan | None:
        """Each response name's plain field (None for `__typename`), or None when a field is
        not plain: read once per selection and type, not once per item of a page."""
        key = (object_type.name, id(grouped_field_set))
        found = self._plans.get(key)
        if found is None:
            found = self._plans[key] = (
                grouped_field_set,
                plan_of(self._plain, object_type, grouped_field_set),
            )
        return found[1]

    def _item_plan(
        self, object_type: GraphQLObjectType, field_details_list: FieldDetailsList
    ) -> Plan | None:
        """The plan of a field's subfields on `object_type` (None: deferred, or not plain),
        collected once per execution: every edge of a page asks for its node's with the same
        list of field details (held here, so that its id stays its own)."""
        key = (object_type.name, id(field_details_list))
        found = self._item_plans.get(key)
        if found is None:
            grouped, deferred, _ = self.collect_subfields(object_type, field_details_list)
            plan = None if deferred else plan_of(self._plain, object_type, grouped)
            found = self._item_plans[key] = (field_details_list, plan)
        return found[1]

    def _served_item(
        self,
        named: GraphQLObjectType | GraphQLInterfaceType,
        value: Any,
        field_details_list: FieldDetailsList,
        plan: Plan | None,
    ) -> Any:
        object_type = (
            named if isinstance(named, GraphQLObjectType) else self._implementation(named, value)
        )
        if object_type is None:
            return MISS
        # A type that implements an interface checks that the value is one of it (Strawberry's
        # `is_type_of`); only a plain yes is vouched for here, anything else is graphql-core's.
        is_type_of = object_type.is_type_of
        if (
            is_type_of is not None
            and not is_own_instance(self._own_class(object_type), value)
            and not _is_plainly(is_type_of, value)
        ):
            return MISS
        if plan is None:
            plan = self._item_plan(object_type, field_details_list)
            if plan is None:
                return MISS
        return self._walk(object_type, value, plan)

    def _own_class(self, object_type: GraphQLObjectType) -> type | None:
        name = object_type.name
        if name not in self._own_classes:
            self._own_classes[name] = own_class(object_type)
        return self._own_classes[name]

    def _implementation(
        self, interface: GraphQLInterfaceType, value: Any
    ) -> GraphQLObjectType | None:
        """The object type Strawberry's `resolve_type` would find: the one named by the value's
        class, when it implements the interface (and is neither a cast nor a generic). Kept
        per class and execution; a cast is the value's own."""
        if get_strawberry_type_cast(value) is not None:
            return None
        key = (interface.name, type(value))
        if key not in self._implementations:
            self._implementations[key] = self._implementation_of(interface, value)
        return self._implementations[key]

    def _implementation_of(
        self, interface: GraphQLInterfaceType, value: Any
    ) -> GraphQLObjectType | None:
        definition = get_object_definition(value)
        if definition is None or definition.is_graphql_generic:
            return None
        found = self.schema.get_type(definition.name)
        if isinstance(found, GraphQLObjectType) and self.schema.is_sub_type(interface, found):
            return found
        return None

    def _served(
        self,
        fields: Mapping[str, PlainField],
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: FieldDetailsList,
    ) -> Any:
        """The field's value, completed, if the short path can vouch for it; else MISS (a
        null for a non-null field, a value its scalar refuses: graphql-core's path answers or
        makes the error)."""
        name = field_details_list[0].node.name.value
        if name == "__typename":
            return parent_type.name
        field = fields.get(name)
        if field is None:
            return MISS
        value = getattr(source, field.attribute, MISS)
        if value is None or value is MISS:
            return None if value is None and field.nullable else MISS
        if isinstance(field, PlainLeaf):
            return serialized_leaf(field, value)
        return self._served_value(field, value, field_details_list)

    def _served_value(
        self, field: PlainObject, value: Any, field_details_list: FieldDetailsList
    ) -> Any:
        named = field.named_type
        # An object type's plan is the same for every item; an interface's depends on each
        # item's type.
        plan = None
        if isinstance(named, GraphQLObjectType):
            plan = self._item_plan(named, field_details_list)
            if plan is None:
                return MISS
        if not field.is_list:
            return self._served_item(named, value, field_details_list, plan)
        if not isinstance(value, list | tuple):
            return MISS
        items = []
        for item in value:
            served = (
                MISS if item is None else self._served_item(named, item, field_details_list, plan)
            )
            if served is MISS:
                return MISS
            items.append(served)
        return items


def _is_plainly(is_type_of: Callable[[Any, Any], Any], value: Any) -> bool:
    # Strawberry's checks ignore the resolve info; one that needs it fails here and falls back.
    try:
        return is_type_of(value, None) is True
    except Exception:
        return False
