"""Which answers the per-user response cache keeps, and when it lets them go."""

from __future__ import annotations

import pytest
from strawberry.types import ExecutionResult

from schema.transport.http_responses import encoded_body
from schema.transport.response_cache import InboxResponseCache, inbox_only_operation
from services.domain import UserId
from tests.unit.support import ALICE, BOB

PAGE = "{ unreadCount messages(first: 20) { edges { node { id body isRead } } } }"


def answer(count: int) -> bytes:
    return encoded_body(ExecutionResult(data={"unreadCount": count}, errors=None))


def new_cache(
    max_bytes: int = 1 << 20, *, user: int = 1 << 18, answer: int = 1 << 16
) -> InboxResponseCache:
    return InboxResponseCache(max_bytes, max_user_bytes=user, max_answer_bytes=answer)


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
        # A reply the caller sent moves the list without moving the caller's version, and a
        # sent last message's read state is the other user's.
        "{ conversations { edges { node { unreadCount } } } }",
        "{ unreadCount conversations(first: 5) { edges { cursor } } }",
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
    cache = new_cache()
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


def test_the_least_recently_used_answer_goes_first() -> None:
    keys = [InboxResponseCache.key(ALICE, PAGE, None, {"n": n}) for n in range(3)]
    assert all(keys)
    first, second, third = (k for k in keys if k is not None)
    cache = new_cache()
    cache.put(first, 1, answer(1))
    # Room for exactly two such entries.
    cache = new_cache(user=2 * cache.total_bytes + 1)
    cache.put(first, 1, answer(1))
    cache.put(second, 1, answer(2))
    assert cache.get(first, 1) is not None  # now the most recently used
    cache.put(third, 1, answer(3))
    assert cache.get(second, 1) is None
    assert cache.get(first, 1) == answer(1) and cache.get(third, 1) == answer(3)


def test_one_user_cannot_take_more_than_their_share_nor_push_others_out() -> None:
    """Issue 12: one user sending distinct documents (only the operation name changing) filled
    an entry-capped cache shared by all, and pushed everyone else's answers out."""
    total, share = 64 * 1024, 16 * 1024
    cache = new_cache(total, user=share, answer=4 * 1024)
    body = b"x" * 2000
    bob = InboxResponseCache.key(BOB, PAGE, None, None)
    assert bob is not None
    cache.put(bob, 1, b"bob's answer")
    for n in range(500):
        key = InboxResponseCache.key(ALICE, f"query Q{n} {PAGE}", f"Q{n}", None)
        assert key is not None
        cache.put(key, 1, body)
        assert cache.user_bytes(ALICE) <= share
        assert cache.total_bytes <= total
    assert cache.get(bob, 1) == b"bob's answer"
    # Alice keeps her most recent answers, as many as her share holds.
    assert 2 <= len(cache) - 1 <= share // len(body)
    assert cache.total_bytes == cache.user_bytes(ALICE) + cache.user_bytes(BOB)


def test_the_total_stays_within_its_bound_however_many_users() -> None:
    total = 32 * 1024
    cache = new_cache(total, user=8 * 1024, answer=4 * 1024)
    for n in range(200):
        key = InboxResponseCache.key(UserId(f"user-{n}"), PAGE, None, None)
        assert key is not None
        cache.put(key, 1, b"y" * 3000)
        assert cache.total_bytes <= total
    assert sum(cache.user_bytes(UserId(f"user-{n}")) for n in range(200)) == cache.total_bytes
    # The most recent users' answers are the ones kept.
    last = InboxResponseCache.key(UserId("user-199"), PAGE, None, None)
    assert last is not None and cache.get(last, 1) is not None


def test_an_answer_above_the_size_cap_is_not_kept() -> None:
    cache = new_cache(answer=4096)
    key = InboxResponseCache.key(ALICE, PAGE, None, None)
    assert key is not None
    cache.put(key, 1, b"z" * 4097)
    assert cache.get(key, 1) is None and len(cache) == 0 and cache.total_bytes == 0
    cache.put(key, 1, b"z" * 4096)
    assert cache.get(key, 1) == b"z" * 4096


def test_entries_count_their_key_and_body() -> None:
    cache = new_cache()
    small = InboxResponseCache.key(ALICE, PAGE, None, None)
    large = InboxResponseCache.key(BOB, PAGE, None, {"pad": "p" * 2000})
    assert small is not None and large is not None
    cache.put(small, 1, b"a" * 100)
    cache.put(large, 1, b"a" * 100)
    assert cache.user_bytes(BOB) - cache.user_bytes(ALICE) >= 2000
    cache.put(small, 1, b"a" * 10_000)  # replacing an answer does not count it twice
    assert cache.user_bytes(ALICE) >= 10_000 > cache.user_bytes(ALICE) - 9_900
    assert cache.get(small, 2) is None  # a newer version: dropped, and uncounted
    assert cache.user_bytes(ALICE) == 0 and cache.total_bytes == cache.user_bytes(BOB)


def test_long_requests_are_not_kept() -> None:
    assert InboxResponseCache.key(ALICE, PAGE + " " * 5000, None, None) is None
