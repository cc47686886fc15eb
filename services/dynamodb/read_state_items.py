"""The read-state attributes: the counter's horizon and floor, the conversation summary
`USER#<u>` / `SUM#<other>`, and the entry's delivery version and spilled mark.

Legacy items are read as they are, never rewritten: no `v` is 0, no `hAll` is 0, no `floor`
is None (any id may be unread), `isRead`/`readAt` is the entry's in-place read. Times written
here are epoch milliseconds, and a mark is the list `[version, read?, atMs]`, so a summary with
its 16 marks stays within one write unit.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from services.domain import MessageId, UserId
from services.dynamodb.keys import (
    Item,
    counter_key,
    epoch_ms,
    from_epoch_ms,
    n,
    other_of_summary_sk,
    s,
    summary_key,
)
from services.read_state import ConversationSummary, CounterState, EntryState, Horizon, ReadMark


def mark_value(mark: ReadMark) -> dict[str, Any]:
    return {"L": [n(mark.version), {"BOOL": mark.is_read}, n(epoch_ms(mark.at))]}


def decode_mark(value: Mapping[str, Any]) -> ReadMark:
    version, is_read, at = value["L"]
    return ReadMark(int(version["N"]), bool(is_read["BOOL"]), from_epoch_ms(int(at["N"])))


def horizons_value(horizons: tuple[Horizon, ...]) -> dict[str, Any]:
    """Earlier horizons as a list of `[version, atMs]`, newest first."""
    return {"L": [{"L": [n(version), n(epoch_ms(at))]} for version, at in horizons]}


def decode_horizons(value: Mapping[str, Any] | None) -> tuple[Horizon, ...]:
    if value is None:
        return ()
    return tuple(
        (int(pair["L"][0]["N"]), from_epoch_ms(int(pair["L"][1]["N"]))) for pair in value["L"]
    )


def _number(item: Item, name: str) -> int:
    found = item.get(name)
    return int(found["N"]) if found else 0


def _millis(item: Item, name: str) -> datetime | None:
    found = item.get(name)
    return from_epoch_ms(int(found["N"])) if found else None


def _text(item: Item, name: str) -> str | None:
    found = item.get(name)
    return str(found["S"]) if found else None


def counter_attributes(state: CounterState) -> Item:
    item: Item = {"unread": n(state.unread), "version": n(state.version)}
    if state.all_horizon:
        item["hAll"] = n(state.all_horizon)
    if state.all_horizon_at is not None:
        item["hAllAt"] = n(epoch_ms(state.all_horizon_at))
    if state.floor is not None:
        item["floor"] = s(state.floor)
    if state.summaries_migrated:
        item["sm"] = n(1)
    if state.earlier_all_horizons:
        item["hAllp"] = horizons_value(state.earlier_all_horizons)
    return item


def counter_item(user_id: UserId, state: CounterState) -> Item:
    return counter_key(user_id) | counter_attributes(state)


def decode_counter(item: Item | None) -> CounterState:
    """A user with no counter item has never received anything: all zero."""
    if item is None:
        return CounterState()
    floor = _text(item, "floor")
    return CounterState(
        unread=_number(item, "unread"),
        version=_number(item, "version"),
        all_horizon=_number(item, "hAll"),
        all_horizon_at=_millis(item, "hAllAt"),
        floor=MessageId(floor) if floor else None,
        summaries_migrated=_number(item, "sm") == 1,
        earlier_all_horizons=decode_horizons(item.get("hAllp")),
    )


def summary_item(user_id: UserId, summary: ConversationSummary) -> Item:
    item: Item = summary_key(user_id, summary.other_id) | {
        "ls": n(int(summary.last_sent_by_owner)),
        "u": n(summary.unread),
        "uv": n(summary.unread_version),
    }
    # `act` is the activity index's sort key: absent, the summary stays out of the list.
    if summary.last_message_id is not None:
        item["act"] = s(summary.last_message_id)
    if summary.horizon:
        item["h"] = n(summary.horizon)
    if summary.horizon_at is not None:
        item["hAt"] = n(epoch_ms(summary.horizon_at))
    if summary.earlier_horizons:
        item["hp"] = horizons_value(summary.earlier_horizons)
    if summary.marks:
        item["mk"] = {"M": {i: mark_value(m) for i, m in summary.marks.items()}}
    if summary.deleted_id is not None:
        item["dm"] = s(summary.deleted_id)
    if summary.dropped_unread:
        item["uz"] = n(summary.dropped_unread)
    return item


def decode_summary(item: Item) -> ConversationSummary:
    """Also reads an activity index row, which projects only `act`, `ls`, `u` and `uv`."""
    last, deleted = _text(item, "act"), _text(item, "dm")
    marks = item.get("mk", {}).get("M", {})
    return ConversationSummary(
        other_id=other_of_summary_sk(item["sk"]["S"]),
        last_message_id=MessageId(last) if last else None,
        last_sent_by_owner=_number(item, "ls") == 1,
        unread=_number(item, "u"),
        unread_version=_number(item, "uv"),
        horizon=_number(item, "h"),
        horizon_at=_millis(item, "hAt"),
        earlier_horizons=decode_horizons(item.get("hp")),
        marks={MessageId(i): decode_mark(m) for i, m in marks.items()},
        deleted_id=MessageId(deleted) if deleted else None,
        dropped_unread=_number(item, "uz"),
    )


def entry_state_attributes(state: EntryState) -> Item:
    """The attributes an entry gains: its delivery version and, if it spilled, its mark.
    (The legacy `isRead`/`readAt` are written only by the legacy path, keys.py.)"""
    item: Item = {}
    if state.version:
        item["v"] = n(state.version)
    if state.spilled is not None:
        item["rd"] = mark_value(state.spilled)
    return item


def decode_entry_state(item: Item) -> EntryState:
    read_at = _text(item, "readAt")
    spilled = item.get("rd")
    is_read = item.get("isRead", {}).get("BOOL", False)
    return EntryState(
        message_id=MessageId(item["id"]["S"]),
        version=_number(item, "v"),
        legacy_read_at=datetime.fromisoformat(read_at) if is_read and read_at else None,
        spilled=decode_mark(spilled) if spilled else None,
    )
