"""An experiment, to measure a proposed change to schema/http.py: a lean execution path for
hot documents. A request whose document is exactly one of a few known-valid texts, without
variables, from a signed-in user, is answered by calling the service directly and building
the same JSON the executor would; anything else, and any exception on the way, takes the
normal path (which then reports the error with its code). Parse, validation and the per-field
executor (~15 µs a field) are what it skips; auth, HTTP negotiation, persisted queries and
the response are unchanged.

bench/serve.py serves it with `--hot-documents`; tests/integration/test_bench_suite.py checks
that both paths answer the same bytes for each hot document.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.responses import Response
from strawberry.types.execution import ExecutionResult

from bench.documents import PAGE_QUERY, UNREAD_QUERY
from schema.context import Context
from schema.http import GraphQLParams, InboxGraphQL
from services.cursor import encode_cursor

# Set on answers the lean path gave, so a test can tell which path answered.
LEAN_HEADER = "x-inboxql-lean-path"

Handler = Callable[[Context], Awaitable[dict[str, Any]]]


async def _unread(context: Context) -> dict[str, Any]:
    return {"unreadCount": await context.app.inbox.unread_count(context.viewer)}


async def _page(context: Context) -> dict[str, Any]:
    inbox = context.app.inbox
    page = await inbox.inbox(context.viewer, first=20, after=None, unread_only=False)
    bodies = await inbox.load_messages([entry.id for entry in page.entries])
    edges = []
    for entry in page.entries:
        message = bodies[entry.id]  # KeyError: the normal path reports the missing body
        node = {
            "id": entry.id,
            "senderId": entry.sender_id,
            "body": message.body,
            "sentAt": entry.sent_at.isoformat(),
            "isRead": entry.is_read,
        }
        edges.append({"cursor": encode_cursor(entry.id), "node": node})
    info = {"hasNextPage": page.has_next_page, "endCursor": edges[-1]["cursor"] if edges else None}
    return {"messages": {"edges": edges, "pageInfo": info}}


HOT: dict[str, tuple[str, Handler]] = {
    UNREAD_QUERY: ("Unread", _unread),
    PAGE_QUERY: ("Inbox", _page),
}


class HotDocumentGraphQL(InboxGraphQL):
    async def _execute(
        self, query: str, params: GraphQLParams, context: Context
    ) -> ExecutionResult:
        hot = HOT.get(query)
        if hot is None or params.variables or context.user_id is None:
            return await super()._execute(query, params, context)
        name, handler = hot
        began = time.perf_counter()
        try:
            data = await handler(context)
        except Exception:
            return await super()._execute(query, params, context)
        context.app.metrics.operation_finished(name, "query", "ok", time.perf_counter() - began)
        if isinstance(context.response, Response):
            context.response.headers[LEAN_HEADER] = "1"
        return ExecutionResult(data=data, errors=None)
