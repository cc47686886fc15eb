"""One root field per mutation operation.

Each `sendMessage` is its own clientMessageId reservation and its own SQS enqueue: once a
message is queued nothing can take it back. A mutation selecting several root fields would run
them one after another, so a refusal in the third (an empty body, the rate limit) would answer
`data: null` for an operation whose first two sends are already on their way, and the client's
corrected retry would send them twice. Refusing the document at validation, before any resolver
runs, keeps every mutation operation accepted whole or refused whole.

`__typename` is allowed beside the one field: it has no effect, and Apollo Client adds it.
Fields that share a response name are one field to graphql-core (they are merged and run once),
so they count once; aliases are distinct response names and count each.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    ASTValidationRule,
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
)
from graphql.validation import ASTValidationContext

TYPENAME = "__typename"


def root_response_names(
    selection_set: SelectionSetNode,
    context: ASTValidationContext,
    seen: frozenset[str] = frozenset(),
) -> list[str]:
    """The response names (alias, else field name) selected at this level, through inline
    fragments and fragment spreads, in document order, each once."""
    names: dict[str, None] = {}
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            name = (selection.alias or selection.name).value
            if name != TYPENAME:
                names[name] = None
        elif isinstance(selection, InlineFragmentNode):
            names.update(dict.fromkeys(root_response_names(selection.selection_set, context, seen)))
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = context.get_fragment(name)
            # A cycle is NoFragmentCyclesRule's to report; an unknown fragment, KnownFragmentNames'.
            if fragment is not None and name not in seen:
                inner = root_response_names(fragment.selection_set, context, seen | {name})
                names.update(dict.fromkeys(inner))
    return list(names)


class OneRootFieldPerMutation(ASTValidationRule):
    def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
        if node.operation is not OperationType.MUTATION:
            return
        names = root_response_names(node.selection_set, self.context)
        if len(names) > 1:
            self.report_error(
                GraphQLError(
                    "A mutation operation may select only one root field, so that it is "
                    f"accepted or refused whole; this one selects {len(names)} "
                    f"({', '.join(names)}). Send each mutation in its own operation.",
                    node,
                    extensions={"code": "BAD_USER_INPUT"},
                )
            )
