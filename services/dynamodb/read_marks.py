"""Changes to read state on DynamoDB: per-message marks (markRead, markUnread) and horizons
(markConversationRead, markAllRead), docs/conversations-design.md sections 2 and 4.2-4.6.

A mark lives in the recipient's summary of the conversation, which the change writes anyway
for its count, so marking one message read writes no entry. A horizon is one version number:
everything delivered at or below it is read, so the writes of markConversationRead (the
summary) and markAllRead (the counter alone) do not grow with the number of messages. Each
change reads the counter first, then what it touches, and commits conditioned on the counter's
version, with one logged change beside it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from services.change_log import (
    ChangePayload,
    InboxChange,
    MarkedRead,
    MessagesReadChange,
    MessagesUnreadChange,
)
from services.domain import InboxEntry, MessageId, UserId, id_upper_bound
from services.dynamodb import listing
from services.dynamodb.expiry_items import is_live, item_expiry, message_expiry_write
from services.dynamodb.keys import Item, decode_entry, entry_key
from services.dynamodb.paging import batch_get
from services.dynamodb.read_inputs import read_counter_state, read_inputs
from services.dynamodb.read_mark_items import (
    counter_write,
    entry_write,
    lowered_floor,
    summary_write,
)
from services.dynamodb.read_state_items import decode_entry_state
from services.dynamodb.transactions import (
    TRANSACTION_ATTEMPTS,
    TransactionConflict,
    change_put,
    conflict_pause,
    is_cancelled,
    read_chunks,
)
from services.dynamodb.user_turns import UserTurns
from services.read_state import (
    ConversationSummary,
    CounterState,
    ReadMark,
    compact,
    effective_unread,
    place_mark,
)
from services.retention import Retention

Flipped = tuple[dict[MessageId, InboxEntry], InboxChange | None]


class ReadMarks:
    def __init__(
        self,
        client: Any,
        table: str,
        *,
        clock: Callable[[], datetime],
        turns: UserTurns,
        retention: Retention | None = None,
    ) -> None:
        self._client = client
        self._table = table
        self._clock = clock
        self._turns = turns
        self._retention = retention

    async def mark(
        self, user_id: UserId, ids: Sequence[MessageId], at: datetime, *, read: bool
    ) -> MarkedRead:
        """markRead (`read`) or markUnread of the user's own messages among `ids`: one
        change per transaction's worth of them, none when none of them moved."""
        asked = list(dict.fromkeys(ids))
        owned = await batch_get(self._client, self._table, [entry_key(user_id, i) for i in asked])
        now = self._clock()
        # An expired message is gone, though TTL has not deleted it yet: marking it unread
        # must not bring it back.
        live = [item for item in owned if is_live(item, now)]
        by_id = {MessageId(item["id"]["S"]): decode_entry(item) for item in live}
        expiring = {MessageId(item["id"]["S"]) for item in live if item_expiry(item) is not None}
        result: dict[MessageId, InboxEntry] = {}
        changes: list[InboxChange] = []
        # Under retention a mark may write the message item too (its expiry, set or
        # removed); without it, only an unread of a message that was expiring does.
        chunks = read_chunks(
            [by_id[i] for i in asked if i in by_id],
            lambda e: 2 if self._retention is not None or e.id in expiring else 1,
        )
        for chunk in chunks:
            async with self._turns.turn(user_id):
                entries, change = await self._mark_chunk(user_id, chunk, at, read=read)
            result.update(entries)
            if change is not None:
                changes.append(change)
        return MarkedRead([result[i] for i in asked if i in result], tuple(changes))

    async def _mark_chunk(
        self, user_id: UserId, chunk: list[InboxEntry], at: datetime, *, read: bool
    ) -> Flipped:
        senders = [entry.sender_id for entry in chunk]
        ids = [entry.id for entry in chunk]
        for attempt in range(TRANSACTION_ATTEMPTS):
            counter = await read_counter_state(self._client, self._table, user_id)
            inputs, raw = await read_inputs(
                self._client, self._table, user_id, senders, entry_ids=ids, counter=counter
            )
            entries = {i: inputs.entry(raw[i]) for i in ids if i in raw}
            moved = [i for i in ids if i in entries and entries[i].is_read != read]
            if not moved:
                return entries, None
            version = counter.version + 1
            summaries: dict[UserId, ConversationSummary] = {}
            writes: list[Item] = []
            for message_id in moved:
                sender = entries[message_id].sender_id
                summary = summaries.get(sender) or inputs.summaries.get(
                    sender, ConversationSummary(other_id=sender)
                )
                unread = effective_unread(summary, counter) + (-1 if read else 1)
                placed = place_mark(
                    summary,
                    counter,
                    decode_entry_state(raw[message_id]),
                    ReadMark(version, read, at),
                    # A conversation whose older messages predate summaries holds fewer than
                    # it has unread: its count stops at 0 (the backfill sets it right).
                    unread=max(0, unread),
                )
                summaries[sender] = placed.summary
                spilled = placed.entry.spilled if placed.entry is not None else None
                writes += self._entry_writes(
                    user_id, entries[message_id], raw[message_id], spilled, read=read, at=at
                )
                entries[message_id] = replace(entries[message_id], read_at=at if read else None)
            after = replace(
                counter,
                unread=counter.unread + (-len(moved) if read else len(moved)),
                version=version,
                floor=counter.floor if read else lowered_floor(counter, moved),
            )
            payload: ChangePayload = (
                MessagesReadChange(tuple(moved)) if read else MessagesUnreadChange(tuple(moved))
            )
            writes += [
                summary_write(self._table, user_id, inputs.summaries.get(other), summary)
                for other, summary in summaries.items()
            ]
            change = await self._commit(user_id, counter, after, payload, writes, attempt=attempt)
            if change is not None:
                return entries, change
        raise TransactionConflict(f"marking read state for {user_id} kept conflicting")

    def _entry_writes(
        self,
        user_id: UserId,
        entry: InboxEntry,
        raw: Item,
        spilled: ReadMark | None,
        *,
        read: bool,
        at: datetime,
    ) -> list[Item]:
        """What a mark writes beside the summary: the entry's spilled mark; under retention,
        when a read message expires, on both of its items; for markUnread, `unreadSk` (a lazy
        clean of the unread index may have removed it since the entry was read, listing.py)
        and the end of any expiry, on both."""
        if not read:
            restored = entry_write(self._table, user_id, entry.id, spilled=spilled, unread_sk=True)
            if item_expiry(raw) is None:
                return [restored]
            return [restored, message_expiry_write(self._table, entry.id, None)]
        if self._retention is None:
            if spilled is None:
                return []
            return [entry_write(self._table, user_id, entry.id, spilled=spilled, unread_sk=False)]
        expires_at = self._retention.expires_at(entry.sent_at, at)
        return [
            entry_write(
                self._table,
                user_id,
                entry.id,
                spilled=spilled,
                unread_sk=False,
                expires_at=expires_at,
            ),
            message_expiry_write(self._table, entry.id, expires_at),
        ]

    async def mark_conversation_read(
        self, user_id: UserId, other_id: UserId, read_at: datetime, *, list_limit: int
    ) -> MarkedRead:
        async with self._turns.turn(user_id):
            for attempt in range(TRANSACTION_ATTEMPTS):
                counter = await read_counter_state(self._client, self._table, user_id)
                inputs, _ = await read_inputs(
                    self._client, self._table, user_id, [other_id], counter=counter
                )
                summary = inputs.summaries.get(other_id)
                unread = effective_unread(summary, counter)
                if summary is None or unread == 0:
                    return MarkedRead([])
                listed = await listing.unread_in_conversation(
                    self._client, self._table, user_id, other_id, inputs, limit=list_limit
                )
                version = counter.version + 1
                after = compact(summary, counter, unread=0, version=version, at=read_at)
                change = await self._commit(
                    user_id,
                    counter,
                    replace(counter, unread=counter.unread - unread, version=version),
                    MessagesReadChange(all_before=read_at, with_user_id=other_id),
                    [summary_write(self._table, user_id, summary, after)],
                    attempt=attempt,
                )
                if change is not None:
                    entries = [replace(e, read_at=read_at) for e in listed]
                    return MarkedRead(entries, (change,), flipped=unread)
        raise TransactionConflict(f"markConversationRead for {user_id} kept conflicting")

    async def mark_all_read(
        self, user_id: UserId, read_at: datetime, *, list_limit: int
    ) -> MarkedRead:
        async with self._turns.turn(user_id):
            for attempt in range(TRANSACTION_ATTEMPTS):
                counter = await read_counter_state(self._client, self._table, user_id)
                if counter.unread == 0:
                    return MarkedRead([])
                listed = await listing.list_unread(
                    self._client,
                    self._table,
                    user_id,
                    counter,
                    limit=list_limit,
                    before=None,
                    retention=self._retention,
                )
                version = counter.version + 1
                # No summary is written: their counts lapse below the new horizon.
                after = replace(
                    counter.read_all(version, read_at),
                    unread=0,
                    version=version,
                    floor=id_upper_bound(read_at),
                )
                change = await self._commit(
                    user_id,
                    counter,
                    after,
                    MessagesReadChange(all_before=read_at),
                    [],
                    attempt=attempt,
                )
                if change is not None:
                    entries = [replace(e, read_at=read_at) for e in listed.entries]
                    return MarkedRead(entries, (change,), flipped=counter.unread)
        raise TransactionConflict(f"markAllRead for {user_id} kept conflicting")

    async def _commit(
        self,
        user_id: UserId,
        before: CounterState,
        after: CounterState,
        payload: ChangePayload,
        writes: list[Item],
        *,
        attempt: int,
    ) -> InboxChange | None:
        """The change's transaction; None when it was cancelled (something moved since the
        counter was read, or an entry went), after a pause: the caller reads again."""
        change = InboxChange(after.version, after.unread, payload)
        items = [
            *writes,
            counter_write(self._table, user_id, before, after),
            change_put(self._table, user_id, change, self._clock()),
        ]
        try:
            await self._client.transact_write_items(TransactItems=items)
        except ClientError as error:
            if not is_cancelled(error):
                raise
            await conflict_pause(attempt)
            return None
        return change
