"""One operation run over HTTP: queries and mutations only, and every way Strawberry would
refuse one turned into a GraphQL request error, answered like a validation error."""

from __future__ import annotations

from graphql import GraphQLError, OperationDefinitionNode
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

# Subscriptions are served over WebSocket only.
HTTP_OPERATION_TYPES = (OperationType.QUERY, OperationType.MUTATION)


async def execute(
    schema: BaseSchema, query: str, params: GraphQLParams, context: Context
) -> ExecutionResult:
    if _names_no_operation_of_several(params, query):
        # GraphQL's GetOperation(): with several operations the client must name one.
        # Strawberry would run the first one instead.
        message = "Must provide operation name if query contains multiple operations."
        context.app.metrics.operation_finished(UNKNOWN, UNKNOWN, "BAD_USER_INPUT", None)
        return PreExecutionError(data=None, errors=[_client_error(message)])
    try:
        # No root value: the root fields are methods of Query and Mutation.
        return await schema.execute(
            query,
            variable_values=params.variables,
            context_value=context,
            operation_name=params.operation_name,
            allowed_operation_types=HTTP_OPERATION_TYPES,
            operation_extensions=params.extensions,
        )
    # Strawberry raises these for the view to turn into HTTP errors; they are GraphQL
    # request errors, answered like a validation error.
    except CannotGetOperationTypeError as error:
        message = error.as_http_error_reason()
    except InvalidOperationTypeError:
        message = "subscriptions are served over WebSocket (graphql-transport-ws) only"
    except MissingQueryError:  # not expected: a request without a query is refused earlier
        message = "the request has no `query`"
    return PreExecutionError(data=None, errors=[_client_error(message)])


def _client_error(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": "BAD_USER_INPUT"})


def _operation_count(query: str) -> int:
    """How many operations the document defines. A document that does not parse raises;
    Strawberry reports why. Parsed through the schema's own parse cache, with its token bound,
    so the execution that follows does not parse it again."""
    document = parse_cached(query, MAX_TOKENS)
    return sum(isinstance(node, OperationDefinitionNode) for node in document.definitions)


def _names_no_operation_of_several(params: GraphQLParams, query: str) -> bool:
    if params.operation_name is not None:
        return False
    try:
        return _operation_count(query) > 1
    except GraphQLError:
        return False
