"""Answers to a user's inbox queries, kept while their inbox has not changed.

Every change to a user's inbox (a delivery, a markRead that flips anything) bumps the version of
their unread counter in the same DynamoDB transaction (services/dynamodb/store.py), bodies never
change, and every read is strongly consistent. So a query that reads only the caller's own
inbox (`me`, `unreadCount`, `versionedUnreadCount`, `messages`) gets the same answer while that
version stays the same. A request reads the version first (one GetItem: the read of the
counter that `unreadCount` and the other counter fields then share, resolvers/queries.py) and,
if an answer is kept for this user, document, variables and version, sends it without
validating or executing anything.

Races cannot serve a stale answer: the version is read *before* executing and versions only
grow, so an answer computed from a newer state than its label is merely never hit again (any
later read sees the newer version). `conversation` and `message(id)` are never kept: they show
messages the caller sent, whose read state lives in the recipient's partition.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import orjson
from graphql import GraphQLError, OperationDefinitionNode, OperationType, get_operation_ast
from strawberry.types import ExecutionResult

from resolvers.context import Context
from resolvers.queries import unread_counter
from schema import MAX_TOKENS
from schema.metrics import UNKNOWN, root_fields
from schema.parsing import parse_cached
from schema.transport.request_body import GraphQLParams
from services.domain import UserId

# Root fields whose answers depend on the caller's own inbox partition only.
INBOX_ONLY_FIELDS = frozenset({"me", "unreadCount", "versionedUnreadCount", "messages"})
# Longer documents or variables are executed as usual: a key is kept in memory per entry.
MAX_KEY_CHARACTERS = 4096


@dataclass(frozen=True, slots=True)
class Kept:
    version: int
    result: ExecutionResult


@lru_cache(maxsize=512)
def inbox_only_operation(query: str, operation_name: str | None) -> str | None:
    """The operation's root fields (its metrics label) when it is a query that reads only the
    caller's own inbox; None otherwise, or when the document does not parse."""
    try:
        document = parse_cached(query, MAX_TOKENS)
    except GraphQLError:
        return None
    operation = get_operation_ast(document, operation_name)
    if not isinstance(operation, OperationDefinitionNode):
        return None
    if operation.operation is not OperationType.QUERY:
        return None
    fields = root_fields(operation, document)
    if not set(fields.split("+")) <= INBOX_ONLY_FIELDS:
        return None
    return fields


class InboxResponseCache:
    """A bounded LRU of answers per (user, document, operation name, variables)."""

    def __init__(self, max_entries: int) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._max_entries = max_entries
        self._kept: OrderedDict[tuple[str, ...], Kept] = OrderedDict()

    def __len__(self) -> int:
        return len(self._kept)

    @staticmethod
    def key(
        user_id: UserId, query: str, operation_name: str | None, variables: dict[str, Any] | None
    ) -> tuple[str, ...] | None:
        """None when this request's answer is not one to keep."""
        if inbox_only_operation(query, operation_name) is None:
            return None
        encoded = orjson.dumps(variables or {}, option=orjson.OPT_SORT_KEYS).decode()
        if len(query) + len(encoded) > MAX_KEY_CHARACTERS:
            return None
        return (user_id, query, operation_name or "", encoded)

    def get(self, key: tuple[str, ...], version: int) -> ExecutionResult | None:
        kept = self._kept.get(key)
        if kept is None:
            return None
        if kept.version != version:
            del self._kept[key]
            return None
        self._kept.move_to_end(key)
        return kept.result

    def put(self, key: tuple[str, ...], version: int, result: ExecutionResult) -> None:
        """Keeps an answer without errors: an error may be transient (a dependency timing out)."""
        if result.errors:
            return
        self._kept[key] = Kept(version, result)
        self._kept.move_to_end(key)
        while len(self._kept) > self._max_entries:
            self._kept.popitem(last=False)

    async def execute_or_reuse(
        self,
        context: Context,
        query: str,
        params: GraphQLParams,
        execute: Callable[[], Awaitable[ExecutionResult]],
    ) -> ExecutionResult:
        """A kept answer while the caller's inbox version is unchanged, else `execute()`'s."""
        user_id = context.user_id
        if user_id is None:
            return await execute()
        key = self.key(user_id, query, params.operation_name, params.variables)
        if key is None:
            return await execute()
        started = time.perf_counter()
        try:
            version = (await unread_counter(context)).version
        except Exception:
            # Executing reads the store too, and answers its failure the usual way.
            return await execute()
        kept = self.get(key, version)
        context.app.metrics.response_cache_looked_up(hit=kept is not None)
        if kept is not None:
            operation = inbox_only_operation(query, params.operation_name) or UNKNOWN
            elapsed = time.perf_counter() - started
            context.app.metrics.operation_finished(operation, "query", "ok", elapsed)
            return kept
        result = await execute()
        self.put(key, version, result)
        return result
