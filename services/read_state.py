"""Read state as version horizons beside per-message marks (docs/conversations-design.md, 2).

Every change to a user's read state advances that user's version, so each input that can
decide a message's state carries a version, and the input with the highest version wins.
Horizons live in version space, not id space: a message sent before a markAllRead but
delivered after it has a higher version than the horizon, and stays unread.

`derive` is the one place that turns the stored inputs into `isRead`/`readAt`, shared by the
fake store and the DynamoDB adapter, so both answer the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from services.domain import MessageId, UserId

# 16 marks and two earlier horizons keep a summary under 1 KB (one write unit) for user ids of
# up to 40 characters (985 B, by bench.dynamodb_sizing.item_size).
MAX_MARKS = 16
# Horizons kept beside the newest, with their times, so that a message read by one keeps its
# `readAt` when a later horizon covers it too: two cost ~40 B of the summary's room.
EARLIER_HORIZONS = 2

# A horizon as kept: the version it reads up to, and when.
Horizon = tuple[int, datetime]


def pushed(horizons: tuple[Horizon, ...], version: int, at: datetime | None) -> tuple[Horizon, ...]:
    """`horizons` (newest first) with the one at `version` before them, if there was one."""
    if not version or at is None:
        return horizons
    return ((version, at), *horizons)[:EARLIER_HORIZONS]


@dataclass(frozen=True, slots=True)
class ReadMark:
    """A per-message markRead or markUnread, at the version of the change that made it."""

    version: int
    is_read: bool
    at: datetime


@dataclass(frozen=True, slots=True)
class EntryState:
    """The read inputs an inbox entry carries. A legacy entry has version 0 and may have been
    marked read in place (`legacy_read_at`); `spilled` is a mark that did not fit its summary."""

    message_id: MessageId
    version: int = 0
    legacy_read_at: datetime | None = None
    spilled: ReadMark | None = None


@dataclass(frozen=True, slots=True)
class CounterState:
    """The `COUNT` item. `floor` is the lowest id that may be unread (None: any id may be)."""

    unread: int = 0
    version: int = 0
    all_horizon: int = 0
    all_horizon_at: datetime | None = None
    floor: MessageId | None = None
    summaries_migrated: bool = False
    # The markAllRead horizons before `all_horizon`, newest first.
    earlier_all_horizons: tuple[Horizon, ...] = ()

    def read_all(self, version: int, at: datetime) -> CounterState:
        """The counter with a markAllRead horizon at `version`, the one it replaces kept."""
        return replace(
            self,
            all_horizon=version,
            all_horizon_at=at,
            earlier_all_horizons=pushed(
                self.earlier_all_horizons, self.all_horizon, self.all_horizon_at
            ),
        )


@dataclass(frozen=True, slots=True)
class ConversationSummary:
    """One user's `SUM#<other>`: the conversation's newest message and the user's read state in
    it. `unread` counts only while `unread_version` is above the counter's markAllRead horizon,
    so markAllRead need not touch any summary."""

    other_id: UserId
    last_message_id: MessageId | None = None
    last_sent_by_owner: bool = False
    unread: int = 0
    unread_version: int = 0
    horizon: int = 0
    horizon_at: datetime | None = None
    # The conversation's horizons before `horizon`, newest first.
    earlier_horizons: tuple[Horizon, ...] = ()
    marks: Mapping[MessageId, ReadMark] = field(default_factory=dict)
    deleted_id: MessageId | None = None
    # The newest unread mark no longer stored (dropped by compaction, or replaced by a read
    # mark that may itself be dropped later): it still bounds `readAt` from below.
    dropped_unread: int = 0


@dataclass(frozen=True, slots=True)
class ReadState:
    is_read: bool
    read_at: datetime | None


UNREAD = ReadState(False, None)


@dataclass(frozen=True, slots=True)
class _Input:
    # Versions are doubled so that a legacy in-place read ranks at `v + 1/2` in integers.
    rank: int
    is_read: bool
    at: datetime | None


def _inputs(
    entry: EntryState, summary: ConversationSummary | None, counter: CounterState | None
) -> list[_Input]:
    found = [_Input(2 * entry.version, False, None)]
    if entry.legacy_read_at is not None:
        found.append(_Input(2 * entry.version + 1, True, entry.legacy_read_at))
    horizons: list[tuple[int, datetime | None]] = []
    if counter is not None:
        horizons += [(counter.all_horizon, counter.all_horizon_at), *counter.earlier_all_horizons]
    if summary is not None:
        horizons += [(summary.horizon, summary.horizon_at), *summary.earlier_horizons]
    found.extend(
        _Input(2 * version, True, at)
        for version, at in horizons
        if version and entry.version <= version
    )
    if summary is not None and entry.version < summary.dropped_unread:
        # Which message it marked is gone with it: every older message treats it as its own,
        # which can only move a readAt later, never before a real markUnread.
        found.append(_Input(2 * summary.dropped_unread, False, None))
    found.extend(_Input(2 * m.version, m.is_read, m.at) for m in _marks(entry, summary))
    return found


def derive(
    entry: EntryState, summary: ConversationSummary | None, counter: CounterState | None
) -> ReadState:
    """The message's state is its newest applicable input's. `readAt` is the earliest time
    among the read inputs since the message was last unread: a later horizon over a message
    already read keeps the first `readAt`. `summary` is the recipient's summary of the
    message's conversation, `counter` the recipient's counter (None: not written yet).
    An unread mark no longer stored still counts, through the summary's `dropped_unread`.
    """
    inputs = _inputs(entry, summary, counter)
    # On a tie (one change writing two inputs) the later-listed, more specific input wins:
    # sorted() is stable.
    winner = sorted(inputs, key=lambda i: i.rank)[-1]
    if not winner.is_read:
        return UNREAD
    since = max(i.rank + 1 for i in inputs if not i.is_read)
    times = [i.at for i in inputs if i.is_read and i.rank >= since and i.at is not None]
    return ReadState(True, min(times) if times else None)


def _marks(entry: EntryState, summary: ConversationSummary | None) -> list[ReadMark]:
    found = [entry.spilled, summary.marks.get(entry.message_id) if summary else None]
    return [m for m in found if m is not None]


def effective_unread(summary: ConversationSummary | None, counter: CounterState | None) -> int:
    """The summary's unread count, unless a markAllRead came after its last write."""
    if summary is None:
        return 0
    all_horizon = counter.all_horizon if counter is not None else 0
    return summary.unread if summary.unread_version > all_horizon else 0


def compact(
    summary: ConversationSummary,
    counter: CounterState | None,
    *,
    unread: int,
    version: int,
    at: datetime,
) -> ConversationSummary:
    """The summary as a change at `version` writes it, with `unread` its new exact count.

    Marks below the newest horizon are outranked, so they go; a conversation with nothing
    unread becomes a horizon at `version` and keeps no marks. A client that marks what is on
    screen therefore keeps the marks empty.

    A dropped read mark takes its own time with it: that message reports a later horizon's
    time as `readAt` from then on. A dropped unread mark leaves its version behind
    (`dropped_unread`), so that no older read input can claim a `readAt` before it.
    """
    if unread < 0:
        raise ValueError("an unread count is never negative")
    all_horizon = counter.all_horizon if counter is not None else 0
    below = version + 1 if unread == 0 else max(summary.horizon, all_horizon)
    kept = {i: m for i, m in summary.marks.items() if m.version >= below}
    dropped = [m.version for i, m in summary.marks.items() if i not in kept and not m.is_read]
    compacted = replace(
        summary,
        unread=unread,
        unread_version=version,
        marks=kept,
        dropped_unread=max([summary.dropped_unread, *dropped]),
    )
    if unread == 0:
        return replace(
            compacted,
            horizon=version,
            horizon_at=at,
            earlier_horizons=pushed(summary.earlier_horizons, summary.horizon, summary.horizon_at),
        )
    return compacted


@dataclass(frozen=True, slots=True)
class MarkPlacement:
    """Where a new mark went. `entry` is not None when the mark spilled onto the entry, which
    must then be written."""

    summary: ConversationSummary
    entry: EntryState | None = None


def place_mark(
    summary: ConversationSummary,
    counter: CounterState | None,
    entry: EntryState,
    mark: ReadMark,
    *,
    unread: int,
) -> MarkPlacement:
    """Records `mark` (made by the change at `mark.version`) for the entry's message, with
    `unread` the conversation's count after it.

    A message's mark already in the summary is replaced in place; beyond MAX_MARKS the new
    mark spills onto the entry, the only write of an entry.
    """
    if not mark.is_read and unread == 0:
        raise ValueError("a message marked unread leaves its conversation with unread messages")
    compacted = compact(summary, counter, unread=unread, version=mark.version, at=mark.at)
    replaced = [compacted.marks.get(entry.message_id)]
    if entry.message_id not in compacted.marks and len(compacted.marks) >= MAX_MARKS:
        replaced.append(entry.spilled)
    forgotten = [m.version for m in replaced if m is not None and not m.is_read]
    compacted = replace(compacted, dropped_unread=max([compacted.dropped_unread, *forgotten]))
    if compacted.horizon == mark.version:
        # The change read the last unread message: the horizon covers this one as well.
        return MarkPlacement(compacted)
    marks = dict(compacted.marks)
    if entry.message_id not in marks and len(marks) >= MAX_MARKS:
        return MarkPlacement(compacted, replace(entry, spilled=mark))
    marks[entry.message_id] = mark
    return MarkPlacement(replace(compacted, marks=marks))


@dataclass(frozen=True, slots=True)
class ConversationPage:
    """A page of a user's conversation list, newest activity first: one summary per other
    user, each with its newest message (`last_message_id` is never None here). Under
    retention a summary's newest message may have expired: it then shows the newest one still
    live, and `positions` keeps where the list holds it (the expired one's id, the cursor)."""

    summaries: list[ConversationSummary]
    has_next_page: bool
    positions: Mapping[UserId, MessageId] = field(default_factory=dict)
