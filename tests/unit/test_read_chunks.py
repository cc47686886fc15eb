"""markRead's transactions: each chunk of entries brings one conversation summary per sender,
and with the counter and the logged change stays within DynamoDB's 100 items."""

from __future__ import annotations

import pytest

from services.domain import InboxEntry, UserId
from services.dynamodb.transactions import read_chunks
from tests.unit.support import ALICE, make_message

TRANSACTION_ITEMS = 100


def entries(senders: list[str]) -> list[InboxEntry]:
    return [
        InboxEntry.unread(make_message(UserId(sender), ALICE, n))
        for n, sender in enumerate(senders)
    ]


@pytest.mark.parametrize(
    ("senders", "sizes"),
    [
        (["bob"] * 98, [97, 1]),
        (["bob"] * 97, [97]),
        ([f"s{i}" for i in range(100)], [49, 49, 2]),
        (["bob", "carol"] * 50, [96, 4]),
        ([], []),
    ],
)
def test_chunks_stay_within_a_transaction_in_order(senders: list[str], sizes: list[int]) -> None:
    given = entries(senders)
    chunks = read_chunks(given)
    assert [len(chunk) for chunk in chunks] == sizes
    assert [entry for chunk in chunks for entry in chunk] == given
    for chunk in chunks:
        summaries = len({entry.sender_id for entry in chunk})
        assert len(chunk) + summaries + 2 <= TRANSACTION_ITEMS
