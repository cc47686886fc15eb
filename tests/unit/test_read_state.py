"""`derive` over the inputs of docs/conversations-design.md section 2, and the marks' cap and
compaction (the replay property is in test_read_state_replay.py)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import pytest

from bench.dynamodb_sizing import item_size
from services.domain import MessageId, UserId, new_message_id
from services.dynamodb.read_state_items import summary_item
from services.read_state import (
    EARLIER_HORIZONS,
    MAX_MARKS,
    UNREAD,
    ConversationSummary,
    CounterState,
    EntryState,
    ReadMark,
    ReadState,
    compact,
    derive,
    effective_unread,
    place_mark,
)
from tests.unit.support import BASE, BOB


def at(version: int) -> datetime:
    """The time of the change at `version`: later versions, later times."""
    return BASE + timedelta(minutes=version)


M = new_message_id(BASE)
LEGACY_READ = BASE - timedelta(days=1)


def read(version: int) -> ReadMark:
    return ReadMark(version, True, at(version))


def unread(version: int) -> ReadMark:
    return ReadMark(version, False, at(version))


def summary(
    horizon: int = 0, marks: dict[MessageId, ReadMark] | None = None
) -> ConversationSummary:
    return ConversationSummary(
        BOB, horizon=horizon, horizon_at=at(horizon) if horizon else None, marks=marks or {}
    )


def counter(all_horizon: int) -> CounterState:
    return CounterState(all_horizon=all_horizon, all_horizon_at=at(all_horizon))


@dataclass(frozen=True)
class Case:
    entry: EntryState
    summary: ConversationSummary | None = None
    counter: CounterState | None = None


CASES: dict[str, tuple[Case, ReadState]] = {
    "legacy entry, never read": (Case(EntryState(M)), UNREAD),
    "legacy entry read in place": (
        Case(EntryState(M, legacy_read_at=LEGACY_READ)),
        ReadState(True, LEGACY_READ),
    ),
    "legacy entry under markAllRead": (
        Case(EntryState(M), counter=counter(4)),
        ReadState(True, at(4)),
    ),
    "legacy read keeps its readAt under a later markAllRead": (
        Case(EntryState(M, legacy_read_at=LEGACY_READ), counter=counter(4)),
        ReadState(True, LEGACY_READ),
    ),
    "delivered before markAllRead": (
        Case(EntryState(M, 3), counter=counter(4)),
        ReadState(True, at(4)),
    ),
    "late delivery after markAllRead stays unread": (
        Case(EntryState(M, 5), counter=counter(4)),
        UNREAD,
    ),
    "late delivery after the conversation horizon stays unread": (
        Case(EntryState(M, 5), summary(horizon=4)),
        UNREAD,
    ),
    "delivered before the conversation horizon": (
        Case(EntryState(M, 3), summary(horizon=4)),
        ReadState(True, at(4)),
    ),
    "read mark": (Case(EntryState(M, 3), summary(marks={M: read(5)})), ReadState(True, at(5))),
    "a mark for another message changes nothing": (
        Case(EntryState(M, 3), summary(marks={new_message_id(at(1)): read(5)})),
        UNREAD,
    ),
    "markUnread below the conversation horizon": (
        Case(EntryState(M, 3), summary(horizon=4, marks={M: unread(5)})),
        UNREAD,
    ),
    "markUnread below markAllRead": (
        Case(EntryState(M, 3), summary(marks={M: unread(5)}), counter(4)),
        UNREAD,
    ),
    "markUnread of a legacy read": (
        Case(EntryState(M, legacy_read_at=LEGACY_READ), summary(marks={M: unread(2)})),
        UNREAD,
    ),
    "a newer markAllRead outranks markUnread": (
        Case(EntryState(M, 3), summary(marks={M: unread(5)}), counter(6)),
        ReadState(True, at(6)),
    ),
    "a read mark keeps its time under a later markAllRead": (
        Case(EntryState(M, 3), summary(marks={M: read(5)}), counter(6)),
        ReadState(True, at(5)),
    ),
    "readAt starts after the newest unread input": (
        Case(
            EntryState(M, legacy_read_at=LEGACY_READ),
            summary(horizon=6, marks={M: unread(5)}),
        ),
        ReadState(True, at(6)),
    ),
    "spilled read mark": (Case(EntryState(M, 3, spilled=read(5))), ReadState(True, at(5))),
    "spilled unread mark outranks an older summary mark": (
        Case(EntryState(M, 3, spilled=unread(7)), summary(marks={M: read(5)})),
        UNREAD,
    ),
    "summary mark outranks an older spilled mark": (
        Case(EntryState(M, 3, spilled=read(5)), summary(marks={M: unread(7)})),
        UNREAD,
    ),
    "a horizon outranks an older spilled unread mark": (
        Case(EntryState(M, 3, spilled=unread(5)), summary(horizon=6)),
        ReadState(True, at(6)),
    ),
}


@pytest.mark.parametrize(("case", "expected"), CASES.values(), ids=CASES.keys())
def test_derive(case: Case, expected: ReadState) -> None:
    assert derive(case.entry, case.summary, case.counter) == expected


def test_effective_unread_lapses_under_markall_read() -> None:
    written = ConversationSummary(BOB, unread=3, unread_version=5)
    assert effective_unread(written, None) == 3
    assert effective_unread(written, counter(4)) == 3
    assert effective_unread(written, counter(5)) == 0
    assert effective_unread(written, counter(6)) == 0
    assert effective_unread(None, counter(6)) == 0


def test_compaction_drops_marks_below_the_newest_horizon() -> None:
    old, new = new_message_id(at(1)), new_message_id(at(2))
    marked = summary(horizon=3, marks={old: read(2), new: unread(6)})
    compacted = compact(marked, counter(5), unread=2, version=7, at=at(7))
    assert compacted.marks == {new: unread(6)}
    assert (compacted.unread, compacted.unread_version, compacted.horizon) == (2, 7, 3)


def test_compaction_to_a_horizon_when_nothing_is_unread() -> None:
    marked = summary(horizon=3, marks={M: read(5)})
    compacted = compact(marked, None, unread=0, version=8, at=at(8))
    assert compacted.marks == {}
    assert (compacted.horizon, compacted.horizon_at, compacted.unread_version) == (8, at(8), 8)


def full_summary() -> ConversationSummary:
    others = {new_message_id(at(100 + i)): read(10) for i in range(MAX_MARKS)}
    return summary(marks=others)


def test_a_mark_beyond_the_cap_spills_onto_the_entry() -> None:
    placed = place_mark(full_summary(), None, EntryState(M, 3), read(11), unread=1)
    assert placed.entry == EntryState(M, 3, spilled=read(11))
    assert M not in placed.summary.marks
    assert len(placed.summary.marks) == MAX_MARKS
    assert derive(placed.entry, placed.summary, None) == ReadState(True, at(11))


def test_a_dropped_unread_mark_still_bounds_read_at() -> None:
    # Read at 2 by markAllRead, marked unread at 3, then the conversation read at 4: the
    # horizon drops the unread mark, and readAt must not fall back to the markAllRead's.
    entry = EntryState(M, 1)
    marked = place_mark(summary(), counter(2), entry, unread(3), unread=1).summary
    assert derive(entry, marked, counter(2)) == UNREAD
    read_again = compact(marked, counter(2), unread=0, version=4, at=at(4))
    assert read_again.marks == {}
    assert read_again.dropped_unread == 3
    assert derive(entry, read_again, counter(2)) == ReadState(True, at(4))
    # A message delivered after the dropped mark keeps its own readAt.
    later = EntryState(new_message_id(at(1)), 3)
    assert derive(later, replace(read_again, horizon=5, horizon_at=at(5)), counter(4)) == (
        ReadState(True, at(4))
    )


def test_a_read_mark_replacing_an_unread_one_starts_the_read() -> None:
    # Read by markAllRead at 2, unread at 3, read again at 4 in the same slot.
    entry = EntryState(M, 1)
    marked = place_mark(summary(), counter(2), entry, unread(3), unread=1).summary
    again = place_mark(marked, counter(2), entry, read(4), unread=1).summary
    assert again.marks == {M: read(4)}
    assert derive(entry, again, counter(2)) == ReadState(True, at(4))


def test_a_message_already_marked_is_replaced_in_place_even_when_full() -> None:
    full = full_summary()
    some = next(iter(full.marks))
    placed = place_mark(full, None, EntryState(some, 3), unread(11), unread=1)
    assert placed.entry is None
    assert placed.summary.marks[some] == unread(11)
    assert len(placed.summary.marks) == MAX_MARKS


def test_the_cap_counts_after_compaction() -> None:
    # A horizon newer than every mark frees the summary, so the new mark need not spill.
    full = replace(full_summary(), horizon=11, horizon_at=at(11))
    placed = place_mark(full, None, EntryState(M, 3), unread(12), unread=1)
    assert placed.entry is None
    assert placed.summary.marks == {M: unread(12)}


def test_reading_the_last_unread_message_leaves_a_horizon_and_no_marks() -> None:
    placed = place_mark(full_summary(), None, EntryState(M, 3), read(11), unread=0)
    assert placed.entry is None
    assert placed.summary.marks == {}
    assert placed.summary.horizon == 11
    assert derive(EntryState(M, 3), placed.summary, None) == ReadState(True, at(11))


def test_an_unread_mark_with_nothing_unread_is_refused() -> None:
    with pytest.raises(ValueError, match="unread"):
        place_mark(summary(), None, EntryState(M, 3), unread(5), unread=0)


def test_a_later_conversation_horizon_keeps_the_first_read_at() -> None:
    """Read by the horizon at 3, then covered again by those at 6 and 9: still read at 3. A
    fourth pushes the first out of the kept window, and the time moves later, never earlier."""
    old, newer = EntryState(M, version=1), EntryState(new_message_id(at(4)), version=4)
    state = compact(ConversationSummary(BOB), None, unread=0, version=3, at=at(3))
    for version in (6, 9):
        state = compact(state, None, unread=0, version=version, at=at(version))
    assert len(state.earlier_horizons) == EARLIER_HORIZONS
    assert derive(old, state, None) == ReadState(True, at(3))
    assert derive(newer, state, None) == ReadState(True, at(6))
    state = compact(state, None, unread=0, version=12, at=at(12))
    assert derive(old, state, None) == ReadState(True, at(6))


def test_a_later_mark_all_read_keeps_the_first_read_at() -> None:
    old, later = EntryState(M, version=1), EntryState(new_message_id(at(5)), version=5)
    counter = CounterState().read_all(3, at(3)).read_all(7, at(7))
    assert counter.earlier_all_horizons == ((3, at(3)),)
    assert derive(old, None, counter) == ReadState(True, at(3))
    assert derive(later, None, counter) == ReadState(True, at(7))
    # Unread again after the first horizon, read by the second: read at the second.
    unmarked = ConversationSummary(BOB, marks={M: unread(5)})
    assert derive(old, unmarked, counter) == ReadState(True, at(7))


def test_a_full_summary_stays_within_one_write_unit() -> None:
    """MAX_MARKS and EARLIER_HORIZONS are sized so: 16 marks, two earlier horizons and every
    other attribute, for user ids of 40 characters."""
    other, owner = UserId("o" * 40), UserId("w" * 40)
    marks = {new_message_id(at(i)): read(1_000_000 + i) for i in range(MAX_MARKS)}
    full = ConversationSummary(
        other,
        last_message_id=new_message_id(at(99)),
        unread=5,
        unread_version=1_000_020,
        horizon=999_999,
        horizon_at=at(1),
        earlier_horizons=((999_998, at(1)), (999_997, at(1)))[:EARLIER_HORIZONS],
        marks=marks,
        deleted_id=new_message_id(at(98)),
        dropped_unread=1_000_001,
    )
    assert item_size(summary_item(owner, full)) <= 1024
