"""One operation run over HTTP: queries and mutations only, and every way Strawberry would
refuse one turned into a GraphQL request error, answered like a validation error."""

from __future__ import annotations

from graphql import GraphQLError, OperationDefinitionNode, get_operation_ast
from graphql import OperationType as DocumentOperationType
from strawberry.exceptions import MissingQueryError
from strawberry.schema import BaseSchema
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError
from strawberry.types.graphql import OperationType

from resolvers.context import Context
from schema import MAX_TOKENS
from schema.metrics import UNKNOWN
from schema.parsing import parse_cached
from schema.transport.request_body import GraphQLParams

# Subscriptions are served over WebSocket only; GET runs queries only.
HTTP_OPERATION_TYPES = (OperationType.QUERY, OperationType.MUTATION)
GET_OPERATION_TYPES = (OperationType.QUERY,)
NO_OPERATION_CHOSEN = "Must provide operation name if query contains multiple operations."


async def execute(
    schema: BaseSchema,
    query: str,
    params: GraphQLParams,
    context: Context,
    operation_types: tuple[OperationType, ...] = HTTP_OPERATION_TYPES,
) -> ExecutionResult:
    if names_no_operation_of_several(query, params.operation_name):
        # GraphQL's GetOperation(): with several operations the client must name one.
        # Strawberry would run the first one instead.
        context.app.metrics.operation_finished(UNKNOWN, UNKNOWN, "BAD_USER_INPUT", None)
        return PreExecutionError(data=None, errors=[client_error(NO_OPERATION_CHOSEN)])
    try:
        # No root value: the root fields are methods of Query and Mutation.
        return await schema.execute(
            query,
            variable_values=params.variables,
            context_value=context,
            operation_name=params.operation_name,
            allowed_operation_types=operation_types,
            operation_extensions=params.extensions,
        )
    # Strawberry raises these for the view to turn into HTTP errors; they are GraphQL
    # request errors, answered like a validation error.
    except CannotGetOperationTypeError as error:
        message = error.as_http_error_reason()
    except InvalidOperationTypeError as error:
        if error.operation_type is OperationType.SUBSCRIPTION:
            message = "subscriptions are served over WebSocket (graphql-transport-ws) only"
        else:  # not expected: the view refuses a mutation over GET with 405 first
            message = "mutations are accepted over POST only"
    except MissingQueryError:  # not expected: a request without a query is refused earlier
        message = "the request has no `query`"
    return PreExecutionError(data=None, errors=[client_error(message)])


def client_error(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": "BAD_USER_INPUT"})


def _operation_count(query: str) -> int:
    """How many operations the document defines. A document that does not parse raises;
    Strawberry reports why. Parsed through the schema's own parse cache, with its token bound,
    so the execution that follows does not parse it again."""
    document = parse_cached(query, MAX_TOKENS)
    return sum(isinstance(node, OperationDefinitionNode) for node in document.definitions)


def names_no_operation_of_several(query: str, operation_name: str | None) -> bool:
    if operation_name is not None:
        return False
    try:
        return _operation_count(query) > 1
    except GraphQLError:
        return False


def is_mutation(query: str, operation_name: str | None) -> bool:
    """Whether the operation to run is a mutation; False when the document does not parse or
    names no such operation (executing it reports why)."""
    try:
        document = parse_cached(query, MAX_TOKENS)
    except GraphQLError:
        return False
    operation = get_operation_ast(document, operation_name)
    return operation is not None and operation.operation is DocumentOperationType.MUTATION
