"""The change log's items: `USER#<u>` / `L#<10-digit version>`, one per version.

Kept small (~70 B) because a `changes` page reads up to 101 of them within 2 read units:
message ids are 16-byte binary ULIDs, times epoch milliseconds, and attribute names one or two
letters. `t` kind, `n` unread count after the change, `m` one message id, `ids` several (16
bytes each, in order), `w` the other user of a conversation horizon, `a` a horizon's
allBefore, `d` when a received message was deleted later, `expiresAt` for TTL.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ulid import ULID

from services.change_log import (
    LOG_RETENTION,
    ChangeKind,
    ChangePayload,
    InboxChange,
    MessageDeletedChange,
    MessageReceivedChange,
    MessagesReadChange,
    MessagesUnreadChange,
)
from services.domain import MessageId, UserId
from services.dynamodb.keys import (
    Item,
    epoch_ms,
    from_epoch_ms,
    log_key,
    n,
    s,
    version_of_log_sk,
)

# TTL may delete late but never early: a day beyond the retention the service promises.
LOG_TTL = LOG_RETENTION + timedelta(days=1)
_ID_BYTES = 16


def id_bytes(message_id: MessageId) -> bytes:
    return ULID.from_str(message_id).bytes


def ids_bytes(message_ids: tuple[MessageId, ...]) -> bytes:
    return b"".join(map(id_bytes, message_ids))


def id_from_bytes(raw: bytes) -> MessageId:
    if len(raw) != _ID_BYTES:
        raise ValueError(f"a binary message id has {_ID_BYTES} bytes, not {len(raw)}")
    return MessageId(str(ULID.from_bytes(raw)))


def ids_from_bytes(raw: bytes) -> tuple[MessageId, ...]:
    if len(raw) % _ID_BYTES:
        raise ValueError("binary message ids come in 16-byte steps")
    return tuple(id_from_bytes(raw[i : i + _ID_BYTES]) for i in range(0, len(raw), _ID_BYTES))


def _payload_attributes(payload: ChangePayload) -> Item:
    match payload:
        case MessageReceivedChange(message_id, deleted_at):
            found: Item = {"m": {"B": id_bytes(message_id)}}
            if deleted_at is not None:
                found["d"] = n(epoch_ms(deleted_at))
            return found
        case MessagesReadChange(message_ids, all_before, with_user_id):
            found = {}
            if message_ids:
                found["ids"] = {"B": ids_bytes(message_ids)}
            if all_before is not None:
                found["a"] = n(epoch_ms(all_before))
            if with_user_id is not None:
                found["w"] = s(with_user_id)
            return found
        case MessagesUnreadChange(message_ids):
            return {"ids": {"B": ids_bytes(message_ids)}}
        case MessageDeletedChange(message_id):
            return {"m": {"B": id_bytes(message_id)}}


def change_item(user_id: UserId, change: InboxChange, at: datetime) -> Item:
    """The item for `change`, committed at `at` (which sets its expiry)."""
    return (
        log_key(user_id, change.version)
        | {
            "t": s(change.kind.value),
            "n": n(change.count),
            "expiresAt": n(int((at + LOG_TTL).timestamp())),
        }
        | _payload_attributes(change.payload)
    )


def _millis(item: Item, name: str) -> datetime | None:
    found = item.get(name)
    return from_epoch_ms(int(found["N"])) if found else None


def _binary(item: Item, name: str) -> bytes:
    found = item.get(name)
    return bytes(found["B"]) if found else b""


def _decode_payload(kind: ChangeKind, item: Item) -> ChangePayload:
    if kind is ChangeKind.RECEIVED:
        return MessageReceivedChange(id_from_bytes(_binary(item, "m")), _millis(item, "d"))
    if kind is ChangeKind.READ:
        other = item.get("w")
        return MessagesReadChange(
            ids_from_bytes(_binary(item, "ids")),
            _millis(item, "a"),
            UserId(other["S"]) if other else None,
        )
    if kind is ChangeKind.UNREAD:
        return MessagesUnreadChange(ids_from_bytes(_binary(item, "ids")))
    return MessageDeletedChange(id_from_bytes(_binary(item, "m")))


def decode_change(item: Item) -> InboxChange:
    kind = ChangeKind(item["t"]["S"])
    return InboxChange(
        version=version_of_log_sk(item["sk"]["S"]),
        count=int(item["n"]["N"]),
        payload=_decode_payload(kind, item),
    )


def is_past_retention(item: Item, now: datetime) -> bool:
    """Whether the change is older than the retention, and so must be treated as absent even
    though TTL has not deleted it yet. The commit time is recovered from `expiresAt` (to the
    second, rounded down: an event at the edge counts as old a second early, never late)."""
    written_at = datetime.fromtimestamp(int(item["expiresAt"]["N"]), UTC) - LOG_TTL
    return written_at < now - LOG_RETENTION
