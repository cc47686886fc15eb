"""The per-user operation rate limit (INBOXQL_READ_RATE_LIMIT): every authenticated operation
counts once, whatever it is (query, mutation, a subscribe), and however it is answered.

Over HTTP one request is one operation, and an answer from the response cache is one too, though
nothing executes: the transport counts it before the cache is consulted (`admit_operation`,
schema/transport/view.py). A WebSocket carries many operations over one context; the schema's
operation extension counts each after validation, before it executes or starts to stream
(`admit_websocket_operation`). A mutation counts here too: the send limit counts messages, this
one counts requests.

Unauthenticated operations are not counted: they have no user to count against, and every root
field refuses them before doing any work.
"""

from __future__ import annotations

from graphql import GraphQLError
from strawberry.types.execution import ExecutionContext

from resolvers.context import Context
from schema.errors import client_details
from schema.refusal import refuse
from services.errors import RateLimited


async def admit_operation(context: Context) -> GraphQLError | None:
    """The refusal when the caller is over their limit; None to go ahead."""
    limiter = context.app.built.read_limiter
    if context.user_id is None or limiter is None:
        return None
    try:
        await limiter.admit(context.user_id)
    except RateLimited as error:
        extensions = {**client_details(error), "code": error.code}
        return GraphQLError(error.message, extensions=extensions)
    return None


async def admit_websocket_operation(execution_context: ExecutionContext) -> None:
    """Counts a WebSocket operation that validated, and refuses it before it executes (or
    starts to stream) when the caller is over the limit. HTTP requests are counted by the
    transport."""
    context = execution_context.context
    if not isinstance(context, Context) or context.serves_one_operation:
        return
    limiter = context.app.built.read_limiter
    if context.user_id is not None and limiter is not None:
        try:
            await limiter.admit(context.user_id)
        except RateLimited as error:
            refuse(execution_context, error)
