"""`message(id)` for another user's message and for an unknown id does the same calls in the
same order, and reads no body: issue 12 timed 2.7 ms against 10.1 ms, because the stranger's
message was loaded (and cached) before the ownership check."""

from __future__ import annotations

import pytest

from services.delivery import deliver
from services.domain import Message, UserId, new_message_id
from services.inbox import InboxService
from tests.fakes import FakeEventHub, FakeMessageCache, FakeMessageStore
from tests.unit.support import ALICE, BASE, BOB, CAROL, make_message


def call_log(
    monkeypatch: pytest.MonkeyPatch, store: FakeMessageStore, cache: FakeMessageCache
) -> list[str]:
    """Every store and cache call from now on, in order."""
    log: list[str] = []
    for name, fake in (("store", store), ("cache", cache)):
        enter = fake._enter

        def logged(method: str, name: str = name, enter: object = enter) -> None:
            log.append(f"{name}.{method}")
            assert callable(enter)
            enter(method)

        monkeypatch.setattr(fake, "_enter", logged)
    return log


async def bob_to_alice(store: FakeMessageStore, hub: FakeEventHub) -> Message:
    sent = make_message(BOB, ALICE, 1, "for alice only")
    await deliver(sent, store, hub)
    return sent


async def test_a_strangers_message_and_an_unknown_id_cost_the_same_calls(
    service: InboxService,
    store: FakeMessageStore,
    cache: FakeMessageCache,
    hub: FakeEventHub,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sent = await bob_to_alice(store, hub)
    # Alice has read it: its body is in the shared message cache.
    assert await service.message(ALICE, sent.id) is not None
    assert sent.id in cache.data
    log = call_log(monkeypatch, store, cache)
    assert await service.message(CAROL, sent.id) is None
    foreign = list(log)
    log.clear()
    assert await service.message(CAROL, new_message_id(BASE)) is None
    assert log == foreign
    # Neither reads a body, from the cache or from the store.
    assert not {"cache.get_many", "store.get_messages"} & set(foreign)


async def test_a_strangers_message_never_enters_the_cache(
    service: InboxService, store: FakeMessageStore, cache: FakeMessageCache, hub: FakeEventHub
) -> None:
    sent = await bob_to_alice(store, hub)
    assert await service.message(CAROL, sent.id) is None
    assert cache.data == {}
    assert store.calls["get_messages"] == 0


@pytest.mark.parametrize("viewer", [ALICE, BOB])
async def test_sender_and_recipient_still_see_it(
    service: InboxService, store: FakeMessageStore, hub: FakeEventHub, viewer: UserId
) -> None:
    sent = await bob_to_alice(store, hub)
    found = await service.message(viewer, sent.id)
    assert found is not None and found[1] == sent and found[0].recipient_id == ALICE


async def test_the_recipients_lookup_costs_one_store_read_when_the_body_is_cached(
    service: InboxService, store: FakeMessageStore, cache: FakeMessageCache, hub: FakeEventHub
) -> None:
    sent = await bob_to_alice(store, hub)
    await cache.put_many([sent])
    store.calls.clear()
    assert await service.message(ALICE, sent.id) is not None
    assert dict(store.calls) == {"get_entries": 1}
