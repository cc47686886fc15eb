"""Which answers the per-user response cache keeps, and when it lets them go."""

from __future__ import annotations

import pytest
from graphql import GraphQLError
from strawberry.types import ExecutionResult

from schema.transport.response_cache import InboxResponseCache, inbox_only_operation
from tests.unit.support import ALICE, BOB

PAGE = "{ unreadCount messages(first: 20) { edges { node { id body isRead } } } }"


def answer(count: int) -> ExecutionResult:
    return ExecutionResult(data={"unreadCount": count}, errors=None)


@pytest.mark.parametrize(
    ("query", "label"),
    [
        (PAGE, "messages+unreadCount"),
        ("{ me { id unreadCount } }", "me"),
        (
            "query Q { ...F } fragment F on Query { versionedUnreadCount { count version } }",
            "versionedUnreadCount",
        ),
    ],
)
def test_queries_of_the_callers_own_inbox_are_kept(query: str, label: str) -> None:
    assert inbox_only_operation(query, None) == label


@pytest.mark.parametrize(
    "query",
    [
        # Messages the caller sent: their read state is in the recipient's partition.
        '{ conversation(withUserId: "bob") { edges { node { isRead } } } }',
        '{ message(id: "01HZZZZZZZZZZZZZZZZZZZZZZZ") { isRead } }',
        '{ unreadCount ...F } fragment F on Query { message(id: "x") { id } }',
        "mutation { markAllRead { unreadCount } }",
        "subscription { unreadCount }",
        "{ __typename unreadCount }",
        "{ __schema { types { name } } }",
        "{ unreadCount",  # does not parse
    ],
)
def test_anything_else_is_executed(query: str) -> None:
    assert inbox_only_operation(query, None) is None
    assert InboxResponseCache.key(ALICE, query, None, None) is None


def test_an_answer_is_kept_per_user_document_and_variables_while_the_version_holds() -> None:
    cache = InboxResponseCache(8)
    key = InboxResponseCache.key(ALICE, PAGE, None, {"b": 1, "a": 2})
    assert key is not None
    cache.put(key, 7, answer(3))
    assert cache.get(key, 7) == answer(3)
    # The same variables in another order are the same request.
    assert InboxResponseCache.key(ALICE, PAGE, None, {"a": 2, "b": 1}) == key
    # Another user, other variables, another operation name: other requests.
    for other in (
        InboxResponseCache.key(BOB, PAGE, None, {"b": 1, "a": 2}),
        InboxResponseCache.key(ALICE, PAGE, None, {"a": 3}),
    ):
        assert other is not None and other != key and cache.get(other, 7) is None
    # A newer version: the inbox changed, the answer goes.
    assert cache.get(key, 8) is None
    assert len(cache) == 0


def test_answers_with_errors_are_not_kept() -> None:
    cache = InboxResponseCache(8)
    key = InboxResponseCache.key(ALICE, PAGE, None, None)
    assert key is not None
    cache.put(key, 1, ExecutionResult(data=None, errors=[GraphQLError("timed out")]))
    assert cache.get(key, 1) is None


def test_the_least_recently_used_answer_goes_first() -> None:
    cache = InboxResponseCache(2)
    keys = [InboxResponseCache.key(ALICE, PAGE, None, {"n": n}) for n in range(3)]
    assert all(keys)
    first, second, third = (k for k in keys if k is not None)
    cache.put(first, 1, answer(1))
    cache.put(second, 1, answer(2))
    assert cache.get(first, 1) is not None  # now the most recently used
    cache.put(third, 1, answer(3))
    assert cache.get(second, 1) is None
    assert cache.get(first, 1) == answer(1) and cache.get(third, 1) == answer(3)


def test_long_requests_are_not_kept() -> None:
    assert InboxResponseCache.key(ALICE, PAGE + " " * 5000, None, None) is None
