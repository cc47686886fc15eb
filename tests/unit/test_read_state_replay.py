"""A property of `derive`: over the stored inputs, it agrees with replaying a message's
changes one version after another (docs/conversations-design.md, section 2)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from services.domain import new_message_id
from services.read_state import (
    MAX_MARKS,
    ConversationSummary,
    CounterState,
    EntryState,
    ReadMark,
    compact,
    derive,
    place_mark,
)
from tests.unit.support import ALICE, BASE

M = new_message_id(BASE)
LEGACY_READ = BASE - timedelta(days=1)


def at(version: int) -> datetime:
    return BASE + timedelta(minutes=version)


def read(version: int) -> ReadMark:
    return ReadMark(version, True, at(version))


# The property: a history of changes to one message's read state, replayed one version after
# another, ends where `derive` over the stored inputs says it does.
OPS = ("deliver", "all", "conversation", "read", "unread", "other")


@dataclass
class World:
    entry: EntryState
    summary: ConversationSummary
    counter: CounterState
    delivered: bool
    is_read: bool = False
    read_at: datetime | None = None
    # Whether a newer horizon replaced the input that held the exact readAt: an older horizon,
    # or a read mark compaction dropped. derive can then only tell a later time.
    lossy: bool = False

    def apply(self, op: str, version: int, spill: bool, others_unread: int) -> None:
        when = at(version)
        if op == "deliver" and not self.delivered:
            self.entry, self.delivered = replace(self.entry, version=version), True
        elif op == "all":
            self.lossy |= self.is_read and self.counter.all_horizon_at == self.read_at
            self.counter = replace(self.counter, all_horizon=version, all_horizon_at=when)
            self._read_by_horizon(when)
        elif op == "conversation":
            mark = self.summary.marks.get(M)
            self.lossy |= mark is not None and mark.is_read
            self.lossy |= self.is_read and self.summary.horizon_at == self.read_at
            self.summary = compact(self.summary, self.counter, unread=0, version=version, at=when)
            self._read_by_horizon(when)
        elif op in ("read", "unread") and self.delivered and self.is_read == (op == "unread"):
            self._mark(ReadMark(version, op == "read", when), spill, others_unread)
            self.is_read, self.read_at = op == "read", when if op == "read" else None
            self.lossy = False

    def _read_by_horizon(self, when: datetime) -> None:
        if self.delivered and not self.is_read:
            self.is_read, self.read_at = True, when

    def _mark(self, mark: ReadMark, spill: bool, others_unread: int) -> None:
        current = self.summary
        if spill and M not in current.marks:
            fill = {new_message_id(at(1000 + i)): read(mark.version - 1) for i in range(MAX_MARKS)}
            current = replace(current, marks=fill)
        unread_after = others_unread + (0 if mark.is_read else 1)
        placed = place_mark(current, self.counter, self.entry, mark, unread=unread_after)
        self.summary = placed.summary
        if placed.entry is not None:
            self.entry = placed.entry


@given(
    legacy=st.booleans(),
    legacy_read=st.booleans(),
    history=st.lists(
        st.tuples(st.sampled_from(OPS), st.booleans(), st.integers(0, 1)), max_size=30
    ),
)
def test_derive_agrees_with_replaying_the_changes(
    legacy: bool, legacy_read: bool, history: list[tuple[str, bool, int]]
) -> None:
    entry = EntryState(M, 0, LEGACY_READ if legacy and legacy_read else None)
    world = World(entry, ConversationSummary(ALICE), CounterState(), delivered=legacy)
    if entry.legacy_read_at is not None:
        world.is_read, world.read_at = True, LEGACY_READ
    for version, (op, spill, others_unread) in enumerate(history, start=1):
        world.apply(op, version, spill, others_unread)
        derived = derive(world.entry, world.summary, world.counter)
        if not world.delivered:
            continue
        assert derived.is_read == world.is_read
        if world.is_read:
            # Compaction drops read marks below a horizon, and with them their own time: a
            # derived readAt may then move to the horizon's, never earlier than the first read.
            assert derived.read_at is not None and world.read_at is not None
            assert derived.read_at >= world.read_at
            if not world.lossy:
                assert derived.read_at == world.read_at
        else:
            assert derived.read_at is None
