"""`node(id)`'s rule on the fakes: which id is which, `message(id)`'s authorization for both
kinds, the walk over the conversation list and its bound, and `hasPreviousPage`."""

from __future__ import annotations

import pytest

from services.conversations import NODE_WALK_PAGES, ConversationService
from services.cursor import encode_conversation_cursor, encode_cursor
from services.delivery import deliver
from services.domain import (
    MAX_PAGE_SIZE,
    ConversationId,
    UserId,
    conversation_id,
    new_message_id,
)
from services.errors import BadUserInput
from services.inbox import InboxService
from services.nodes import MessageNode, find_node
from tests.fakes import FakeEventHub, FakeMessageStore
from tests.unit.support import ALICE, BASE, BOB, CAROL, make_message, seed


@pytest.fixture
def conversations(store: FakeMessageStore) -> ConversationService:
    return ConversationService(store)


async def test_a_message_id_finds_the_message_for_its_sender_and_recipient(
    service: InboxService,
    conversations: ConversationService,
    store: FakeMessageStore,
    hub: FakeEventHub,
) -> None:
    [sent] = await seed(store, hub, BOB, ALICE, 1)
    for viewer in (ALICE, BOB):
        found = await find_node(service, conversations, viewer, sent.id)
        assert isinstance(found, MessageNode)
        assert found.message == sent and found.entry.recipient_id == ALICE


async def test_a_conversation_id_finds_the_callers_conversation(
    service: InboxService,
    conversations: ConversationService,
    store: FakeMessageStore,
    hub: FakeEventHub,
) -> None:
    sent = await seed(store, hub, BOB, ALICE, 2)
    wanted = conversation_id(ALICE, BOB)
    for viewer, other in ((ALICE, BOB), (BOB, ALICE)):
        found = await find_node(service, conversations, viewer, wanted)
        assert found is not None and not isinstance(found, MessageNode)
        assert (found.id, found.with_user_id) == (wanted, other)
        assert found.last_message_id == sent[-1].id
    alices = await find_node(service, conversations, ALICE, wanted)
    assert alices is not None and not isinstance(alices, MessageNode)
    assert alices.unread_count == 2


@pytest.mark.parametrize("kind", ["message", "conversation"])
async def test_someone_elses_id_and_an_unknown_id_read_the_same_after_the_same_calls(
    service: InboxService,
    conversations: ConversationService,
    store: FakeMessageStore,
    hub: FakeEventHub,
    kind: str,
) -> None:
    [sent] = await seed(store, hub, BOB, ALICE, 1)
    # Carol has a conversation of her own, so her walk reads a page with rows in it.
    await seed(store, hub, CAROL, UserId("dave"), 1)
    if kind == "message":
        foreign, unknown = str(sent.id), str(new_message_id(BASE))
    else:
        foreign, unknown = conversation_id(ALICE, BOB), conversation_id(BOB, UserId("erin"))
    store.calls.clear()
    assert await find_node(service, conversations, CAROL, foreign) is None
    foreign_calls = dict(store.calls)
    store.calls.clear()
    assert await find_node(service, conversations, CAROL, unknown) is None
    assert dict(store.calls) == foreign_calls and foreign_calls
    # Neither reads a body.
    assert "get_messages" not in foreign_calls


@pytest.mark.parametrize(
    "raw",
    ["", "x", "01HZZZZZZZZZZZZZZZZZZZZZZZ0", "81HZZZZZZZZZZZZZZZZZZZZZZZ", "0" * 25, "I" * 24],
)
async def test_a_malformed_id_is_bad_user_input_before_any_read(
    service: InboxService, conversations: ConversationService, store: FakeMessageStore, raw: str
) -> None:
    with pytest.raises(BadUserInput, match="not a valid node id"):
        await find_node(service, conversations, ALICE, raw)
    assert sum(store.calls.values()) == 0


async def test_the_walk_pages_through_the_list_and_stops_at_its_bound(
    conversations: ConversationService, store: FakeMessageStore, hub: FakeEventHub
) -> None:
    # More conversations than the walk reads: one page more than its bound.
    count = MAX_PAGE_SIZE * NODE_WALK_PAGES + 1
    peers = [UserId(f"peer{n}") for n in range(count)]
    for n, peer in enumerate(peers):
        await seed_one(store, hub, peer, n)
    # The newest activity first: peer0's conversation is the oldest, beyond the bound.
    newest, in_last_page, oldest = peers[-1], peers[1], peers[0]
    store.calls.clear()
    found = await conversations.conversation(ALICE, conversation_id(ALICE, newest))
    assert found is not None and found.with_user_id == newest
    assert store.calls["list_conversations"] == 1
    store.calls.clear()
    found = await conversations.conversation(ALICE, conversation_id(ALICE, in_last_page))
    assert found is not None and found.with_user_id == in_last_page
    assert store.calls["list_conversations"] == NODE_WALK_PAGES
    store.calls.clear()
    assert await conversations.conversation(ALICE, conversation_id(ALICE, oldest)) is None
    assert store.calls["list_conversations"] == NODE_WALK_PAGES
    # An id nobody has costs the same bounded walk.
    store.calls.clear()
    assert await conversations.conversation(ALICE, ConversationId("0" * 24)) is None
    assert store.calls["list_conversations"] == NODE_WALK_PAGES


async def seed_one(store: FakeMessageStore, hub: FakeEventHub, sender: UserId, n: int) -> None:
    await deliver(make_message(sender, ALICE, n), store, hub)


async def test_has_previous_page_is_whether_the_page_continues_after_a_cursor(
    service: InboxService,
    conversations: ConversationService,
    store: FakeMessageStore,
    hub: FakeEventHub,
) -> None:
    sent = await seed(store, hub, BOB, ALICE, 3)
    await seed(store, hub, CAROL, ALICE, 1)
    first = await service.inbox(ALICE, first=2, after=None, unread_only=False)
    assert not first.has_previous_page and first.has_next_page
    later = await service.inbox(
        ALICE, first=2, after=encode_cursor(first.entries[-1].id), unread_only=False
    )
    assert later.has_previous_page and not later.has_next_page
    talk = await service.conversation(ALICE, BOB, first=2, after=encode_cursor(sent[-1].id))
    assert talk.has_previous_page
    assert not (await service.conversation(ALICE, BOB, first=2, after=None)).has_previous_page
    listed = await conversations.conversations(ALICE, first=1, after=None)
    assert not listed.has_previous_page and listed.has_next_page
    cursor = encode_conversation_cursor(listed.conversations[-1].last_message_id)
    rest = await conversations.conversations(ALICE, first=1, after=cursor)
    assert rest.has_previous_page and not rest.has_next_page
