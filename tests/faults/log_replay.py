"""Replaying a user's change log: what one logged change claims, applied to the unread set
the changes before it left (tests/faults/checker.py replays whole logs with it)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass


@dataclass(frozen=True)
class Logged:
    """One change of a user's log as read back: `received` is the message it added, `read`
    the ids it flipped read, `unread` those it flipped back to unread. A `horizon` flips every
    message received before it (at a lower version) that is unread, only those from
    `with_user` when it is set (markConversationRead), and lists no ids."""

    version: int
    count: int
    received: str | None = None
    read: tuple[str, ...] = ()
    unread: tuple[str, ...] = ()
    horizon: bool = False
    with_user: str | None = None
    # The message its sender deleted (deleteMessage): gone from the inbox, and from the count.
    deleted: str | None = None


def replay_change(
    user: str, change: Logged, unread: set[str], received: Counter[str], sender: dict[str, str]
) -> list[str]:
    """Apply one change to the replayed unread set; what it claims that the replay denies.
    Every change flips something: one that would flip nothing must not have been logged."""
    errors = []
    where = f"{user}: v{change.version}"
    if change.received is not None:
        received[change.received] += 1
        unread.add(change.received)
    if not set(change.read) <= unread:
        errors.append(f"{where} read {sorted(set(change.read) - unread)}")
    unread -= set(change.read)
    # Only a message received and read can become unread again.
    not_read = {i for i in change.unread if i in unread or not received[i]}
    if not_read:
        errors.append(f"{where} unread {sorted(not_read)}, which were not read")
    unread |= set(change.unread)
    if change.horizon:
        covered = {
            i for i in unread if change.with_user is None or sender.get(i) == change.with_user
        }
        if not covered:
            errors.append(f"{where} is a horizon that read nothing")
        unread -= covered
    return errors
