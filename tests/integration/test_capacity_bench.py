"""The capacity benchmark's core on the session's local stack: the structural facts its figures
must show, whatever the exact numbers."""

from __future__ import annotations

from typing import Any

import pytest

from bench.capacity_run import measure
from bench.dynamodb_sizing import item_size, transaction_units
from services.app import App
from services.cost.profile import REQUIRED_OPERATIONS
from services.read_state import MAX_MARKS


@pytest.fixture
async def figures(app: App) -> dict[str, Any]:
    result = await measure(app, samples=5)
    operations: dict[str, Any] = result["operations"]
    return operations


def writes(op: dict[str, Any], where: str) -> float:
    units: float = op["dynamodb"]["by_table_index"].get(where, {}).get("write_units", 0.0)
    return units


async def test_benchmark_structure(figures: dict[str, Any]) -> None:
    assert set(REQUIRED_OPERATIONS) <= set(figures)

    # A send's API part stores the message (one standard PutItem: 1 WU for 200 characters) and
    # enqueues it; its delivery writes the table and both indexes.
    api = figures["send_api"]
    assert api["sqs_requests"] == {"SendMessage": 1.0}
    assert api["dynamodb"]["calls"] == {"PutItem": 1.0}
    assert api["dynamodb"]["write_units"] == 1
    worker = figures["send_worker"]
    for where in ("table", "lsi:unread", "gsi:conversation"):
        assert writes(worker, where) > 0, where
    # Batched: fewer than one receive-or-delete request per delivered message.
    assert sum(worker["sqs_requests"].values()) < 1
    assert worker["redis_commands"]["PUBLISH"] == 1  # the change, with its count and message

    # A 5,000-character body costs more write units in the API's PutItem, and more read units
    # in the delivery's check of the message; the delivery's writes no longer carry the body.
    # Still one SQS request.
    large_api, large_worker = figures["send_5000_api"], figures["send_5000_worker"]
    assert large_api["dynamodb"]["write_units"] > api["dynamodb"]["write_units"]
    assert large_worker["dynamodb"]["read_units"] > worker["dynamodb"]["read_units"]
    assert large_worker["dynamodb"]["write_units"] <= worker["dynamodb"]["write_units"] + 1
    assert large_api["sqs_billed_requests"] == 1

    # deleteMessage: a delivered message takes its entry out of the table and both indexes and
    # moves the summaries; a queued one is its tombstone alone, and its delivery writes
    # nothing; a refused call is one read.
    deleted = figures["delete_message"]
    for where in ("table", "lsi:unread", "gsi:conversation", "gsi:activity"):
        assert writes(deleted, where) > 0, where
    assert figures["delete_message_queued"]["dynamodb"]["write_units"] == 2
    assert figures["delete_message_queued_delivery"]["dynamodb"]["write_units"] == 0
    assert figures["delete_message_refused"]["dynamodb"]["calls"] == {"GetItem": 1.0}

    assert figures["unread_count"]["dynamodb"]["read_units"] <= 1
    assert figures["unread_count"]["dynamodb"]["calls"] == {"GetItem": 1.0}

    # Bodies: a cold page fetches them with one BatchGetItem, a hot one reads Redis only;
    # both read the page's read state (the counter and the senders' summaries) in one more.
    cold, hot = figures["inbox_page_cold"], figures["inbox_page_hot"]
    assert cold["cache_hit_ratio"] == 0 and cold["dynamodb"]["calls"]["BatchGetItem"] == 2
    assert hot["cache_hit_ratio"] == 1 and hot["dynamodb"]["calls"]["BatchGetItem"] == 1
    assert hot["redis_commands"] == {"MGET": 1.0}
    assert hot["dynamodb"]["read_units"] < cold["dynamodb"]["read_units"]

    # The conversation page reads its index, the unread page the other one.
    assert (
        figures["conversation_page"]["dynamodb"]["by_table_index"]["gsi:conversation"]["read_units"]
        > 0
    )
    assert (
        figures["inbox_page_unread_only"]["dynamodb"]["by_table_index"]["lsi:unread"]["read_units"]
        > 0
    )


async def test_read_state_and_live_operations(figures: dict[str, Any]) -> None:
    # A mark lives in the summary, written anyway for its count: markRead of 1 is the summary
    # with its `activity` row, the counter and the change (8 WU). Marking 20 from one sender
    # costs more only through the marks beyond the summary's 16 that spill onto their
    # entries, each an entry and its `conversation` row (4 WU).
    one, twenty = figures["mark_read_1"], figures["mark_read_20"]
    assert one["dynamodb"]["write_units"] <= 8
    spilled = writes(twenty, "gsi:conversation") / 2
    assert 20 - MAX_MARKS <= spilled <= 20 - MAX_MARKS + 1
    assert twenty["dynamodb"]["write_units"] - one["dynamodb"]["write_units"] == 4 * spilled
    # The horizons write what does not grow with the 50 messages they read (design: 4 WU for
    # markAllRead, 8 for markConversationRead); markUnread of one mirrors markRead of one.
    all_read = figures["mark_all_read_50"]
    conversation_read = figures["mark_conversation_read_50"]
    unread_one = figures["mark_unread_1"]
    assert all_read["dynamodb"]["write_units"] <= 10
    assert conversation_read["dynamodb"]["write_units"] <= 10
    assert 0 < unread_one["dynamodb"]["write_units"] <= 12
    for op in (one, twenty, all_read, conversation_read, unread_one, figures["send_worker"]):
        reported = op["dynamodb"]["reported_by_dynamodb_local"]["write_units"]
        assert op["dynamodb"]["write_units"] >= reported
    # A markRead publishes the reader's change and the sender's receipt.
    assert one["redis_commands"]["PUBLISH"] == 2

    # message(id): a stranger's message and an unknown id make the same calls, body-less.
    foreign, unknown = figures["message_foreign"], figures["message_unknown"]
    assert foreign["dynamodb"]["calls"] == unknown["dynamodb"]["calls"]
    assert foreign["redis_commands"] == unknown["redis_commands"] == {}
    # The entry, then its read state (the counter and the sender's summary).
    assert figures["message"]["dynamodb"]["calls"] == {"BatchGetItem": 2.0}

    # A live subscription reads the counter once and subscribes on Redis.
    live = figures["subscribe_unread_count"]
    assert live["dynamodb"]["calls"] == {"GetItem": 1.0}
    assert live["redis_commands"].get("SUBSCRIBE") == 1

    # setTyping: the gate's SET, and a PUBLISH (pushed to the reader) only when it admits;
    # nothing in DynamoDB either way.
    typing, throttled = figures["set_typing"], figures["set_typing_throttled"]
    assert typing["redis_commands"] == {"SET": 1.0, "PUBLISH": 1.0, "(pushed message)": 1.0}
    assert throttled["redis_commands"] == {"SET": 1.0}
    for op in (typing, throttled):
        assert op["dynamodb"]["calls"] == {}


def test_transaction_units_follow_the_per_item_rule() -> None:
    entry = {
        "pk": {"S": "USER#a"},
        "sk": {"S": "MSG#1"},
        "unreadSk": {"S": "1"},
        "convPk": {"S": "CONV#a#b"},
        "convSk": {"S": "1"},
        "isRead": {"BOOL": False},
    }
    big = {"pk": {"S": "MSG#1"}, "sk": {"S": "MSG"}, "body": {"S": "x" * 3000}}
    put = [{"Put": {"TableName": "t", "Item": big}}, {"Put": {"TableName": "t", "Item": entry}}]
    units = transaction_units(put, [None, None], [big, entry])
    assert units["table"].write == 2 * 3 + 2  # 3 KB item, then a small one
    assert units["lsi:unread"].write == 2 and units["gsi:conversation"].write == 2

    read = {k: v for k, v in entry.items() if k != "unreadSk"} | {"isRead": {"BOOL": True}}
    update = [{"Update": {"TableName": "t", "Key": {"pk": entry["pk"], "sk": entry["sk"]}}}]
    units = transaction_units(update, [entry], [read])
    # The entry leaves the sparse index (one delete) and changes in the ALL-projected one.
    assert (units["table"].write, units["lsi:unread"].write) == (2, 2)
    assert units["gsi:conversation"].write == 2
    assert item_size({"a": {"S": "bc"}, "n": {"N": "123"}}) == 3 + 1 + 3


async def test_a_changes_page_reads_the_log_in_one_query(figures: dict[str, Any]) -> None:
    """The issue's budget is 2 read units a `changes` page. The measured page is full and the
    last one (versions 2..101 of 101: 99 received messages and a markRead of 20 ids): its 7 KB
    Query is 2 units, and a last page also reads the counter (1 unit), which proves no version
    after it went unlogged. So 3, and 2 for a last page of up to ~58 events (docs/cost.md).
    Its bodies come from the cache (one MGET); an empty page reads the counter too."""
    page, empty = figures["changes_page"], figures["changes_empty"]
    assert page["dynamodb"]["calls"] == {"Query": 1.0, "GetItem": 1.0}
    assert page["dynamodb"]["read_units"] <= 3
    assert page["redis_commands"] == {"MGET": 1.0}
    assert empty["dynamodb"]["calls"] == {"Query": 1.0, "GetItem": 1.0}
    assert empty["dynamodb"]["read_units"] <= 2
    assert "redis_commands" not in empty or not empty["redis_commands"]
