"""Reading what decides a message's read state: its inbox entry, its recipient's counter (the
markAllRead horizon) and its recipient's summary of the conversation (the conversation's
horizon and per-message marks). `derive` turns them into `isRead`/`readAt`
(docs/conversations-design.md, section 2), so every read of an entry goes through here.

A change reads the counter first and everything else after it: anything that changes the
user's read state afterwards also moves the counter, whose version the change's transaction is
conditioned on, so what it read cannot be stale when it commits."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from services.domain import InboxEntry, MessageId, UserId
from services.dynamodb.keys import (
    SUMMARY_PREFIX,
    Item,
    counter_key,
    decode_entry,
    entry_key,
    summary_key,
)
from services.dynamodb.paging import batch_get
from services.dynamodb.read_state_items import decode_counter, decode_entry_state, decode_summary
from services.read_state import ConversationSummary, CounterState, derive


async def read_counter_state(client: Any, table: str, user_id: UserId) -> CounterState:
    response = await client.get_item(TableName=table, Key=counter_key(user_id), ConsistentRead=True)
    return decode_counter(response.get("Item"))


@dataclass(frozen=True, slots=True)
class ReadInputs:
    """One user's counter and some of its summaries, by the other user."""

    counter: CounterState
    summaries: dict[UserId, ConversationSummary]

    def entry(self, item: Item) -> InboxEntry:
        """The entry `item` with its derived read state."""
        entry = decode_entry(item)
        state = derive(decode_entry_state(item), self.summaries.get(entry.sender_id), self.counter)
        if not state.is_read:
            return replace(entry, read_at=None)
        # Every read input is written with its time; a legacy in-place read without one is
        # the only way to miss it, and its delivery time is the best bound known.
        return replace(entry, read_at=state.read_at or entry.sent_at)


async def read_inputs(
    client: Any,
    table: str,
    user_id: UserId,
    others: Iterable[UserId],
    *,
    entry_ids: Sequence[MessageId] = (),
    counter: CounterState | None = None,
) -> tuple[ReadInputs, dict[MessageId, Item]]:
    """The user's counter (unless given: a change reads it first, on its own), its summaries
    of the conversations with `others`, and its raw entries `entry_ids`, in one BatchGetItem."""
    keys = [summary_key(user_id, other) for other in dict.fromkeys(others)]
    keys += [entry_key(user_id, i) for i in dict.fromkeys(entry_ids)]
    if counter is None:
        keys.append(counter_key(user_id))
    summaries: dict[UserId, ConversationSummary] = {}
    entries: dict[MessageId, Item] = {}
    found_counter: Item | None = None
    for item in await batch_get(client, table, keys) if keys else []:
        sk = item["sk"]["S"]
        if sk == "COUNT":
            found_counter = item
        elif sk.startswith(SUMMARY_PREFIX):
            summary = decode_summary(item)
            summaries[summary.other_id] = summary
        else:
            entries[MessageId(item["id"]["S"])] = item
    state = counter if counter is not None else decode_counter(found_counter)
    return ReadInputs(state, summaries), entries


async def derived_entries(client: Any, table: str, items: Sequence[Item]) -> list[InboxEntry]:
    """Raw entry items (of one or two recipients: an inbox, a conversation) with their read
    state, in the order given: one BatchGetItem of the recipients' counters and summaries."""
    wanted: dict[UserId, set[UserId]] = {}
    for item in items:
        wanted.setdefault(UserId(item["recipientId"]["S"]), set()).add(
            UserId(item["senderId"]["S"])
        )
    inputs = await users_inputs(client, table, wanted)
    return [inputs[UserId(item["recipientId"]["S"])].entry(item) for item in items]


async def users_inputs(
    client: Any, table: str, wanted: dict[UserId, set[UserId]]
) -> dict[UserId, ReadInputs]:
    """Each user's counter and its summaries of the conversations with the users it maps to,
    in one BatchGetItem (split past 100 keys)."""
    keys = [counter_key(r) for r in wanted]
    keys += [summary_key(r, sender) for r, senders in wanted.items() for sender in senders]
    counters: dict[UserId, CounterState] = {r: CounterState() for r in wanted}
    summaries: dict[UserId, dict[UserId, ConversationSummary]] = {r: {} for r in wanted}
    for item in await batch_get(client, table, keys) if keys else []:
        owner = UserId(item["pk"]["S"].removeprefix("USER#"))
        if item["sk"]["S"] == "COUNT":
            counters[owner] = decode_counter(item)
        else:
            summary = decode_summary(item)
            summaries[owner][summary.other_id] = summary
    return {r: ReadInputs(counters[r], summaries[r]) for r in wanted}
