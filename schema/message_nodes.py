"""A static cost limit: how many messages an operation can return, counted before it runs.

In the spirit of GitHub's node limit: a connection counts `first` messages, multiplied by every
`edges { node }` selection under it (aliases repeat the same messages in the response); a
markRead or markUnread payload counts its ids; a single message counts one. Root fields add
up, through aliases and fragments. `first` and `ids` come from the literal or from the
variables, so the check runs after validation, where the variables are at hand, and refuses
before execution.

No message type holds another list of messages, so nesting multiplies only within a connection
(tests/unit/test_operation_limits.py walks the schema to keep that true). `markAllRead` and
`markConversationRead` return at most the 100 newest messages they flipped
(services/read_marks.py), so each counts 100. A `changes` page counts `first` (100 when left
out), as each of its events may carry a message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import (
    ArgumentNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    IntValueNode,
    ListValueNode,
    NullValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValueNode,
    VariableNode,
    get_operation_ast,
    value_from_ast_untyped,
)
from strawberry.types.execution import ExecutionContext

from resolvers.context import Context
from schema.arguments import CHANGES_PAGE_SIZE, DEFAULT_PAGE_SIZE
from schema.refusal import refuse
from schema.selection import fields_at
from services.domain import MAX_MARK_READ_IDS, MAX_PAGE_SIZE
from services.errors import BadUserInput
from services.read_marks import HORIZON_RETURNED

DEFAULT_MAX_MESSAGE_NODES = 500

# Root fields returning a page sized by `first`: its size when `first` is left out, and the
# path under the field to each message (a connection of messages; of conversations, each with
# its last message; a page of changes, each received one with its message), counted again for
# every selection of that path, through aliases and fragments.
PAGED: dict[str, tuple[int, tuple[str, ...]]] = {
    "messages": (DEFAULT_PAGE_SIZE, ("edges", "node")),
    "conversation": (DEFAULT_PAGE_SIZE, ("edges", "node")),
    "conversations": (DEFAULT_PAGE_SIZE, ("edges", "node", "lastMessage")),
    "changes": (CHANGES_PAGE_SIZE, ("events", "message")),
}
# Root fields returning one message (`inboxEvents`: one per event, at most; `node`: a
# message, or a conversation with its last message).
SINGLE = frozenset({"message", "node", "sendMessage", "messageReceived", "inboxEvents"})


class _Walk:
    def __init__(
        self,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        variables: Mapping[str, Any] | None,
    ) -> None:
        self._fragments = {
            node.name.value: node
            for node in document.definitions
            if isinstance(node, FragmentDefinitionNode)
        }
        self._variables = dict(variables or {})
        for definition in operation.variable_definitions or ():
            name = definition.variable.name.value
            if name not in self._variables and definition.default_value is not None:
                self._variables[name] = value_from_ast_untyped(definition.default_value)

    def fields(self, selection_set: SelectionSetNode | None) -> list[FieldNode]:
        """Every field selected at this level, through fragments."""
        return fields_at(selection_set, self._fragments)

    def selections_of(self, field: FieldNode, path: tuple[str, ...]) -> int:
        """How many times the response repeats each item below `field`: one per selection of
        the fields along `path` (`edges`, then `node`)."""
        if not path:
            return 1
        return sum(
            self.selections_of(child, path[1:])
            for child in self.fields(field.selection_set)
            if child.name.value == path[0]
        )

    def argument(self, field: FieldNode, name: str) -> Any:
        node: ValueNode | None = next(
            (arg.value for arg in field.arguments or () if _named(arg, name)), None
        )
        if node is None or isinstance(node, NullValueNode):
            return None
        if isinstance(node, VariableNode):
            return self._variables.get(node.name.value)
        if isinstance(node, IntValueNode):
            return int(node.value)
        if isinstance(node, ListValueNode):
            return list(node.values)
        return value_from_ast_untyped(node, self._variables)

    def root_field(self, field: FieldNode) -> int:
        name = field.name.value
        if name in PAGED:
            default, path = PAGED[name]
            first = self.argument(field, "first")
            size = default if first is None else _bounded(first, MAX_PAGE_SIZE)
            return size * max(1, self.selections_of(field, path))
        if name in ("markRead", "markUnread"):
            ids = self.argument(field, "ids")
            count = len(ids) if isinstance(ids, list) else 1
            size = min(count, MAX_MARK_READ_IDS)
            return size * max(1, self.selections_of(field, ("messages",)))
        if name in ("markAllRead", "markConversationRead"):
            return HORIZON_RETURNED * max(1, self.selections_of(field, ("messages",)))
        if name in SINGLE:
            return 1
        return 0


def _named(argument: ArgumentNode, name: str) -> bool:
    return argument.name.value == name


def _bounded(value: object, maximum: int) -> int:
    # Out of range or of the wrong type, the operation is refused when it runs; until then,
    # it counts as the most it could ever return.
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= maximum:
        return value
    return maximum


def message_nodes(
    document: DocumentNode, operation_name: str | None, variables: Mapping[str, Any] | None
) -> int:
    """The most messages the named operation can return; 0 when there is no such operation."""
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return 0
    walk = _Walk(document, operation, variables)
    # Fields sharing a response name are merged by graphql-core and run once.
    by_response_name = {
        (field.alias or field.name).value: field for field in walk.fields(operation.selection_set)
    }
    return sum(walk.root_field(field) for field in by_response_name.values())


def too_many_nodes(count: int, limit: int) -> BadUserInput:
    return BadUserInput(
        f"This operation can return {count} messages; the limit is {limit} per operation "
        "(every `first`, every markRead or markUnread id and every alias of them counts). Ask "
        "for smaller "
        "pages or split the operation."
    )


def check_message_nodes(execution_context: ExecutionContext) -> None:
    """Refuses, after validation and before execution, an operation that can return more
    messages than `INBOXQL_MAX_MESSAGE_NODES`: over HTTP and WebSocket alike, since both run
    their operations through the schema. An operation already refused is left alone."""
    document = execution_context.graphql_document
    app_context = execution_context.context
    limit = (
        app_context.app.settings.max_message_nodes
        if isinstance(app_context, Context)
        else DEFAULT_MAX_MESSAGE_NODES
    )
    if document is not None and execution_context.result is None:
        count = message_nodes(
            document, execution_context.operation_name, execution_context.variables
        )
        if count > limit:
            refuse(execution_context, too_many_nodes(count, limit))
