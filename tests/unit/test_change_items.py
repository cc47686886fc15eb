"""The new DynamoDB items: log and summary keys, change events, the counter's horizon,
summaries and the entry's read inputs; round trips, compact shapes, and legacy items."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from services.change_log import (
    InboxChange,
    MessageDeletedChange,
    MessageReceivedChange,
    MessagesReadChange,
    MessagesUnreadChange,
)
from services.domain import MessageId, UserId, new_message_id
from services.dynamodb.change_items import (
    LOG_TTL,
    change_item,
    decode_change,
    id_from_bytes,
    is_past_retention,
)
from services.dynamodb.keys import (
    entry_item,
    epoch_ms,
    from_epoch_ms,
    log_key,
    log_sk,
    other_of_summary_sk,
    summary_key,
    version_of_log_sk,
)
from services.dynamodb.read_state_items import (
    counter_item,
    decode_counter,
    decode_entry_state,
    decode_summary,
    entry_state_attributes,
    summary_item,
)
from services.read_state import ConversationSummary, CounterState, EntryState, ReadMark
from tests.unit.support import ALICE, BASE, BOB, make_message

AT = BASE + timedelta(milliseconds=123)
IDS = tuple(new_message_id(BASE + timedelta(milliseconds=i)) for i in range(3))
MANY = tuple(new_message_id(BASE + timedelta(milliseconds=i)) for i in range(100))

CHANGES = {
    "received": InboxChange(1, 1, MessageReceivedChange(IDS[0])),
    "received, deleted later": InboxChange(2, 0, MessageReceivedChange(IDS[0], AT)),
    "read": InboxChange(3, 4, MessagesReadChange(IDS)),
    "read, 100 ids": InboxChange(4, 0, MessagesReadChange(MANY)),
    "markAllRead": InboxChange(5, 0, MessagesReadChange(all_before=AT)),
    "markConversationRead": InboxChange(6, 2, MessagesReadChange(all_before=AT, with_user_id=BOB)),
    "unread": InboxChange(7, 5, MessagesUnreadChange(IDS[1:])),
    "deleted": InboxChange(9_999_999_999, 0, MessageDeletedChange(IDS[2])),
}


@pytest.mark.parametrize("change", CHANGES.values(), ids=CHANGES.keys())
def test_change_round_trip(change: InboxChange) -> None:
    item = change_item(ALICE, change, AT)
    assert item["pk"] == {"S": "USER#alice"}
    assert item["t"] == {"S": change.kind.value}
    assert decode_change(item) == change


def test_change_items_stay_small() -> None:
    # A `changes` page reads 101 of them within 2 read units: ~70 B each.
    item = change_item(ALICE, CHANGES["received"], AT)
    assert set(item) == {"pk", "sk", "t", "n", "m", "expiresAt"}
    assert len(item["m"]["B"]) == 16
    assert id_from_bytes(item["m"]["B"]) == IDS[0]
    listed = change_item(ALICE, CHANGES["read, 100 ids"], AT)
    assert len(listed["ids"]["B"]) == 1600


def test_a_horizon_has_no_ids_and_carries_all_before() -> None:
    item = change_item(ALICE, CHANGES["markConversationRead"], AT)
    assert "ids" not in item
    assert item["a"] == {"N": str(epoch_ms(AT))}
    assert item["w"] == {"S": "bob"}


def test_log_keys_sort_by_version() -> None:
    keys = [log_sk(v) for v in (1, 2, 10, 99, 1000, 9_999_999_999)]
    assert keys == sorted(keys)
    assert log_sk(42) == "L#0000000042"
    assert [version_of_log_sk(k) for k in keys] == [1, 2, 10, 99, 1000, 9_999_999_999]
    assert log_key(ALICE, 42) == {"pk": {"S": "USER#alice"}, "sk": {"S": "L#0000000042"}}
    with pytest.raises(ValueError):
        log_sk(10_000_000_000)
    for bad in ("L#42", "SUM#bob", "L#00000000x1", "MSG#0000000042"):
        with pytest.raises(ValueError):
            version_of_log_sk(bad)


def test_expiry_and_retention() -> None:
    item = change_item(ALICE, CHANGES["read"], AT)
    assert int(item["expiresAt"]["N"]) == int((AT + LOG_TTL).timestamp())
    assert not is_past_retention(item, AT + timedelta(days=7) - timedelta(seconds=2))
    assert is_past_retention(item, AT + timedelta(days=7, seconds=1))


@pytest.mark.parametrize(
    "payload",
    [
        MessagesReadChange,
        lambda: MessagesReadChange(IDS, with_user_id=BOB),
        lambda: MessagesReadChange(MANY + IDS[:1]),
        lambda: MessagesUnreadChange(()),
    ],
)
def test_malformed_changes_are_refused(payload: Callable[[], object]) -> None:
    with pytest.raises(ValueError):
        payload()


@pytest.mark.parametrize(("version", "count"), [(0, 0), (10_000_000_000, 0), (1, -1)])
def test_out_of_range_versions_and_counts_are_refused(version: int, count: int) -> None:
    with pytest.raises(ValueError):
        InboxChange(version, count, MessageDeletedChange(IDS[0]))


def test_epoch_milliseconds_are_exact() -> None:
    for millis in (0, 1, 999, 1_767_268_800_123, 1_767_268_800_999):
        assert epoch_ms(from_epoch_ms(millis)) == millis
    assert from_epoch_ms(epoch_ms(AT)) == AT


def test_summary_round_trip() -> None:
    summary = ConversationSummary(
        BOB,
        last_message_id=IDS[2],
        last_sent_by_owner=True,
        unread=2,
        unread_version=9,
        horizon=7,
        horizon_at=AT,
        marks={IDS[0]: ReadMark(8, True, AT), IDS[1]: ReadMark(9, False, AT)},
        deleted_id=IDS[1],
        dropped_unread=6,
    )
    item = summary_item(ALICE, summary)
    assert item["pk"] == {"S": "USER#alice"}
    assert item["sk"] == {"S": "SUM#bob"}
    assert item["act"] == {"S": IDS[2]}
    assert decode_summary(item) == summary


def test_a_summary_without_a_last_message_stays_out_of_the_activity_index() -> None:
    item = summary_item(ALICE, ConversationSummary(ALICE, unread=1, unread_version=3))
    assert "act" not in item
    assert item["sk"] == {"S": "SUM#alice"}
    assert decode_summary(item) == ConversationSummary(ALICE, unread=1, unread_version=3)


def test_an_activity_row_decodes_with_what_it_projects() -> None:
    row = {
        "pk": {"S": "USER#alice"},
        "sk": {"S": "SUM#bob"},
        "act": {"S": IDS[0]},
        "ls": {"N": "0"},
        "u": {"N": "4"},
        "uv": {"N": "12"},
    }
    assert decode_summary(row) == ConversationSummary(
        BOB, last_message_id=IDS[0], unread=4, unread_version=12
    )


def test_summary_keys() -> None:
    assert summary_key(ALICE, BOB) == {"pk": {"S": "USER#alice"}, "sk": {"S": "SUM#bob"}}
    assert other_of_summary_sk("SUM#bob") == UserId("bob")
    for bad in ("bob", "SUM#", "SUM#a#b", "L#0000000001"):
        with pytest.raises(ValueError):
            other_of_summary_sk(bad)


def test_counter_round_trip() -> None:
    state = CounterState(3, 12, 10, AT, MessageId(IDS[0]), summaries_migrated=True)
    assert decode_counter(counter_item(ALICE, state)) == state


def test_legacy_counters_read_as_no_horizon_and_no_floor() -> None:
    legacy = {
        "pk": {"S": "USER#alice"},
        "sk": {"S": "COUNT"},
        "unread": {"N": "5"},
        "version": {"N": "8"},
    }
    assert decode_counter(legacy) == CounterState(unread=5, version=8)
    assert decode_counter(None) == CounterState()


def test_legacy_entries_read_as_version_zero() -> None:
    message = make_message(BOB, ALICE, 1)
    item = entry_item(message)
    assert decode_entry_state(item) == EntryState(message.id)
    read = item | {"isRead": {"BOOL": True}, "readAt": {"S": AT.isoformat()}}
    assert decode_entry_state(read) == EntryState(message.id, legacy_read_at=AT)


def test_entry_read_inputs_round_trip() -> None:
    message = make_message(BOB, ALICE, 1)
    state = EntryState(message.id, 17, spilled=ReadMark(20, False, AT))
    item = entry_item(message) | entry_state_attributes(state)
    assert item["rd"] == {"L": [{"N": "20"}, {"BOOL": False}, {"N": str(epoch_ms(AT))}]}
    assert decode_entry_state(item) == state
    assert entry_state_attributes(EntryState(message.id)) == {}
