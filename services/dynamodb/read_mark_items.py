"""The writes of a change to read state: the counter at the next version, a summary's read
state, an entry's spilled mark or restored `unreadSk`. Each writes only what the change moved,
so the item stays one write unit and no attribute another writer owns is touched: a summary's
`act`/`ls` belong to the sender's follow-up, which runs outside these transactions."""

from __future__ import annotations

from typing import Any

from services.domain import MessageId, UserId
from services.dynamodb.keys import Item, counter_key, entry_key, epoch_ms, n, s, summary_key
from services.dynamodb.read_state_items import horizons_value, mark_value
from services.read_state import ConversationSummary, CounterState, ReadMark


def counter_write(table: str, user_id: UserId, before: CounterState, after: CounterState) -> Item:
    """The counter moved from `before` to `after`, only if nobody moved it since it was read:
    changes to one user serialise here, and the loser re-reads and retries."""
    sets = {"unread": n(after.unread), "version": n(after.version)}
    if after.all_horizon != before.all_horizon:
        sets["hAll"] = n(after.all_horizon)
    if after.all_horizon_at is not None and after.all_horizon_at != before.all_horizon_at:
        sets["hAllAt"] = n(epoch_ms(after.all_horizon_at))
    if after.floor is not None and after.floor != before.floor:
        sets["floor"] = s(after.floor)
    if after.earlier_all_horizons != before.earlier_all_horizons:
        sets["hAllp"] = horizons_value(after.earlier_all_horizons)
    values: dict[str, Any] = {f":{name}": value for name, value in sets.items()}
    update: Item = {
        "TableName": table,
        "Key": counter_key(user_id),
        "UpdateExpression": "SET " + ", ".join(f"#{name} = :{name}" for name in sets),
        "ExpressionAttributeNames": {f"#{name}": name for name in sets},
        "ExpressionAttributeValues": values,
    }
    if before.version:
        update["ConditionExpression"] = "version = :read"
        values[":read"] = n(before.version)
    else:
        update["ConditionExpression"] = "attribute_not_exists(pk)"
    return {"Update": update}


def lowered_floor(counter: CounterState, ids: list[MessageId]) -> MessageId | None:
    """The counter's floor once `ids` may be unread: every unread entry keeps `unreadSk` at
    or above it, so the unread index is read from there (None: from the start)."""
    if counter.floor is None or not ids:
        return counter.floor
    return min(counter.floor, *ids)


def summary_write(
    table: str, user_id: UserId, before: ConversationSummary | None, after: ConversationSummary
) -> Item:
    """The summary's read state as `after` has it. Not conditioned: the counter's version
    condition in the same transaction serialises every writer of these attributes."""
    sets: dict[str, Any] = {"u": n(after.unread), "uv": n(after.unread_version)}
    removes: list[str] = []
    if before is None or after.horizon != before.horizon:
        sets["h"] = n(after.horizon)
    if after.horizon_at is not None and (before is None or after.horizon_at != before.horizon_at):
        sets["hAt"] = n(epoch_ms(after.horizon_at))
    if after.earlier_horizons and (
        before is None or after.earlier_horizons != before.earlier_horizons
    ):
        sets["hp"] = horizons_value(after.earlier_horizons)
    if after.marks:
        sets["mk"] = {"M": {i: mark_value(m) for i, m in after.marks.items()}}
    elif before is not None and before.marks:
        removes.append("mk")
    if after.dropped_unread and (before is None or after.dropped_unread != before.dropped_unread):
        sets["uz"] = n(after.dropped_unread)
    expression = "SET " + ", ".join(f"#{name} = :{name}" for name in sets)
    if removes:
        expression += " REMOVE " + ", ".join(f"#{name}" for name in removes)
    return {
        "Update": {
            "TableName": table,
            "Key": summary_key(user_id, after.other_id),
            "UpdateExpression": expression,
            "ExpressionAttributeNames": {f"#{name}": name for name in [*sets, *removes]},
            "ExpressionAttributeValues": {f":{name}": value for name, value in sets.items()},
        }
    }


def entry_write(
    table: str,
    user_id: UserId,
    message_id: MessageId,
    *,
    spilled: ReadMark | None,
    unread_sk: bool,
    expires_at: int | None = None,
) -> Item:
    """An entry's own share of a change: a mark that did not fit its summary, and an
    `unreadSk` restored for a message made unread again (the legacy markRead removed it), with
    its expiry removed (retention: unread never expires). `expires_at`: read under retention,
    it expires then and leaves the `unread` index (expiry_items.py)."""
    sets: dict[str, Any] = {}
    removes: list[str] = []
    if spilled is not None:
        sets["rd"] = mark_value(spilled)
    if unread_sk:
        sets["unreadSk"] = s(message_id)
        removes.append("expiresAt")
    if expires_at is not None:
        sets["expiresAt"] = n(expires_at)
        removes.append("unreadSk")
    if not sets:
        raise ValueError("an entry write writes something")
    if unread_sk and expires_at is not None:
        raise ValueError("an unread entry never expires")
    expression = "SET " + ", ".join(f"#{name} = :{name}" for name in sets)
    if removes:
        expression += " REMOVE " + ", ".join(f"#{name}" for name in removes)
    return {
        "Update": {
            "TableName": table,
            "Key": entry_key(user_id, message_id),
            "UpdateExpression": expression,
            "ExpressionAttributeNames": {f"#{name}": name for name in [*sets, *removes]},
            # A deleted message's entry is gone: the change must not bring it back.
            "ConditionExpression": "attribute_exists(pk)",
            "ExpressionAttributeValues": {f":{name}": value for name, value in sets.items()},
        }
    }
