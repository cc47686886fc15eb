"""markUnread and markConversationRead through the whole schema over HTTP, on the fakes: the
answers, the logged changes `changes` shows, and the codes for bad input, which store nothing.
(tests/e2e/test_read_marks.py runs the same on the local stack.)"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from services.domain import conversation_id
from tests.unit.support import ALICE, BASE, BOB, CAROL, make_message
from tests.unit.test_sync_http import Served, serving

AT = BASE.isoformat()  # the clock's time: what markConversationRead read at
MARK_CONVERSATION_READ = """mutation($with: ID!) {
  markConversationRead(withUserId: $with) {
    unreadCount versionedUnreadCount { version } messages { id isRead readAt }
  }
}"""
MARK_UNREAD = """mutation($ids: [ID!]!) {
  markUnread(ids: $ids) { unreadCount messages { id isRead } }
}"""
CHANGES = """query($since: Int!) { changes(since: $since) { events {
  __typename version unreadCount
  ... on MessagesReadEvent { messageIds allBefore conversationId }
  ... on MessagesUnreadEvent { messageIds }
} } }"""


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    async with serving(response_cache=False) as served:
        yield served


async def test_mark_conversation_read_then_mark_unread(served: Served) -> None:
    from_bob = [make_message(BOB, ALICE, n) for n in range(3)]
    from_carol = make_message(CAROL, ALICE, 10)
    for message in (*from_bob, from_carol):
        await served.store.deliver(message)

    read = (await served.post(MARK_CONVERSATION_READ, {"with": BOB}))["data"]
    assert read["markConversationRead"] == {
        "unreadCount": 1,
        "versionedUnreadCount": {"version": 5},
        "messages": [{"id": m.id, "isRead": True, "readAt": AT} for m in reversed(from_bob)],
    }
    asked = [from_bob[1].id, from_carol.id, "garbage"]
    unread = (await served.post(MARK_UNREAD, {"ids": asked}))["data"]["markUnread"]
    assert unread == {
        "unreadCount": 2,
        "messages": [
            {"id": from_bob[1].id, "isRead": False},
            {"id": from_carol.id, "isRead": False},
        ],
    }
    assert (await served.post(MARK_UNREAD, {"ids": asked}))["data"]["markUnread"] == unread

    events = (await served.post(CHANGES, {"since": 4}))["data"]["changes"]["events"]
    assert events == [
        {
            "__typename": "MessagesReadEvent",
            "version": 5,
            "unreadCount": 1,
            "messageIds": [],
            "allBefore": AT,
            "conversationId": conversation_id(ALICE, BOB),
        },
        {
            "__typename": "MessagesUnreadEvent",
            "version": 6,
            "unreadCount": 2,
            "messageIds": [from_bob[1].id],
        },
    ]


@pytest.mark.parametrize("bad", ["", "a#b", "x" * 200])
async def test_a_bad_with_user_id_is_bad_user_input(served: Served, bad: str) -> None:
    await served.store.deliver(make_message(BOB, ALICE, 1))
    assert await served.codes(MARK_CONVERSATION_READ, {"with": bad}) == ["BAD_USER_INPUT"]
    assert served.store.calls["mark_conversation_read"] == 0
    assert (await served.store.unread_count(ALICE)).version == 1


async def test_more_than_100_ids_to_mark_unread_is_bad_user_input(served: Served) -> None:
    sent = make_message(BOB, ALICE, 1)
    await served.store.deliver(sent)
    assert await served.codes(MARK_UNREAD, {"ids": [sent.id] * 101}) == ["BAD_USER_INPUT"]
    assert served.store.calls["mark_unread"] == 0
