"""Answers to a user's inbox queries, kept while their inbox has not changed.

Every change to a user's inbox (a delivery, a markRead that flips anything, the deletion of a
message they received) bumps the version of their unread counter in the same DynamoDB
transaction (services/dynamodb/store.py), bodies never change (a deleted one is gone, never
altered), and every read is strongly consistent: the messages a user's inbox answers show are
all received ones, so no kept answer shows a deleted body. So a query that reads only the
caller's own inbox (`me`, `unreadCount`, `versionedUnreadCount`, `messages`) gets the same
answer while that version stays the same. A request reads the version first (one GetItem: the
read of the counter that `unreadCount` and the other counter fields then share,
resolvers/queries.py) and, if an answer is kept for this user, document, variables and
version, sends it without validating or executing anything.

Under retention a read message expires with no change of version (TTL deletes it): an answer
showing one is kept only until the first such expiry (`Context.answer_expires_at`).

Races cannot serve a stale answer: the version is read *before* executing and versions only
grow, so an answer computed from a newer state than its label is merely never hit again (any
later read sees the newer version). `conversation` and `message(id)` are never kept: they show
messages the caller sent, whose read state lives in the recipient's partition. Nor is
`changes`: its page at one version turns into SYNC_TOO_OLD as the log ages, with no change of
version to tell a kept answer apart (tests/unit/test_sync_http.py).

An answer is kept as the JSON body sent (the same in either media type, since answers with
errors are never kept), so its size is known exactly and a hit skips encoding too. Memory is
bounded in bytes, with a share per user: an entry cap alone let one user's distinct documents
over a large inbox hold gigabytes and push everyone else's answers out (issue 12).
"""

from __future__ import annotations

import sys
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
from schema.transport.http_responses import EncodedResult, encoded_body
from schema.transport.request_body import GraphQLParams
from services.domain import UserId
from services.settings import Settings

# Root fields whose answers depend on the caller's own inbox partition only, and change only
# with the caller's version. Not `conversations`: the sender's side of a conversation moves
# after a reply without a change of the sender's version, and a last message the caller sent
# carries the other user's read state. Not `conversation` or `message`, for the same reason.
INBOX_ONLY_FIELDS = frozenset({"me", "unreadCount", "versionedUnreadCount", "messages"})
# Longer documents or variables are executed as usual: a key is kept in memory per entry.
MAX_KEY_CHARACTERS = 4096


# What an entry costs besides its strings and body: the key tuple, the Kept, and a slot in
# each of the two OrderedDicts (~260 bytes under tracemalloc on CPython 3.11), with room.
ENTRY_OVERHEAD_BYTES = 512

Key = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Kept:
    version: int
    body: bytes
    size: int
    # Under retention, when a message the answer shows expires (epoch seconds): TTL changes
    # no version, so the answer is not handed out from then on.
    expires_at: int | None = None


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
    """Answers per (user, document, operation name, variables), kept as the JSON bodies sent,
    bounded in bytes: `max_bytes` in all, `max_user_bytes` per user, least recently used first.

    A user beyond their share evicts only their own answers, so one user sending distinct
    documents cannot push anyone else's out; only answers of at most `max_answer_bytes` are
    kept. Every entry counts its body, its key's strings and a fixed overhead."""

    def __init__(
        self,
        max_bytes: int,
        *,
        max_user_bytes: int,
        max_answer_bytes: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if max_bytes < 1:
            raise ValueError("max_bytes must be at least 1")
        self._max_bytes = max_bytes
        self._max_user_bytes = min(max_user_bytes, max_bytes)
        self._max_answer_bytes = min(max_answer_bytes, self._max_user_bytes)
        self._clock = clock
        self._kept: OrderedDict[Key, Kept] = OrderedDict()
        # Each user's keys, least recently used first, and what their entries cost.
        self._users: dict[str, OrderedDict[Key, None]] = {}
        self._user_bytes: dict[str, int] = {}
        self._bytes = 0

    @classmethod
    def configured(cls, settings: Settings) -> InboxResponseCache | None:
        """The cache the settings ask for; None when they turn it off."""
        if not settings.response_cache_bytes:
            return None
        return cls(
            settings.response_cache_bytes,
            max_user_bytes=settings.response_cache_user_bytes,
            max_answer_bytes=settings.response_cache_max_answer_bytes,
        )

    def __len__(self) -> int:
        return len(self._kept)

    @property
    def total_bytes(self) -> int:
        return self._bytes

    def user_bytes(self, user_id: UserId) -> int:
        return self._user_bytes.get(user_id, 0)

    @staticmethod
    def key(
        user_id: UserId, query: str, operation_name: str | None, variables: dict[str, Any] | None
    ) -> Key | None:
        """None when this request's answer is not one to keep."""
        if inbox_only_operation(query, operation_name) is None:
            return None
        encoded = orjson.dumps(variables or {}, option=orjson.OPT_SORT_KEYS).decode()
        if len(query) + len(encoded) > MAX_KEY_CHARACTERS:
            return None
        return (user_id, query, operation_name or "", encoded)

    def get(self, key: Key, version: int) -> bytes | None:
        kept = self._kept.get(key)
        if kept is None:
            return None
        if kept.version != version or (
            kept.expires_at is not None and kept.expires_at <= self._clock()
        ):
            self._drop(key)
            return None
        self._kept.move_to_end(key)
        self._users[key[0]].move_to_end(key)
        return kept.body

    def put(self, key: Key, version: int, body: bytes, *, expires_at: int | None = None) -> None:
        """Keeps the body of an answer without errors (an error may be transient: a dependency
        timing out), unless it is over the size for one answer; until `expires_at`, if given."""
        if key in self._kept:
            self._drop(key)
        if len(body) > self._max_answer_bytes:
            return
        size = sys.getsizeof(body) + sum(map(sys.getsizeof, key)) + ENTRY_OVERHEAD_BYTES
        if size > self._max_user_bytes:
            return
        user = key[0]
        self._kept[key] = Kept(version, body, size, expires_at)
        self._users.setdefault(user, OrderedDict())[key] = None
        self._user_bytes[user] = self._user_bytes.get(user, 0) + size
        self._bytes += size
        while self._user_bytes[user] > self._max_user_bytes:
            self._drop(next(iter(self._users[user])))
        while self._bytes > self._max_bytes:
            self._drop(next(iter(self._kept)))

    def _drop(self, key: Key) -> None:
        kept = self._kept.pop(key)
        user = key[0]
        self._bytes -= kept.size
        keys = self._users[user]
        del keys[key]
        if keys:
            self._user_bytes[user] -= kept.size
        else:
            del self._users[user], self._user_bytes[user]

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
            return EncodedResult(data=None, errors=None, body=kept)
        result = await execute()
        if result.errors:
            return result
        body = encoded_body(result)
        self.put(key, version, body, expires_at=context.answer_expires_at)
        return EncodedResult(data=result.data, errors=None, extensions=result.extensions, body=body)
