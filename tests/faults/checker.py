"""The invariant checker every fault run ends with, in the spirit of Jepsen's total-queue and
counter checkers.

A run records what the system promised (`History`), then, once the system is quiet, reads every
involved inbox completely (`Inbox`, see `tests.faults.inbox_readers`) and calls `check`:

    history = History("my_test")
    history.accepted(recipient, body, message_id)   # sendMessage answered with an id
    history.indeterminate(recipient, body)          # sendMessage failed: may or may not exist
    history.fault("sigkill")                        # count each fault injected, by kind
    ...
    verdict = check(history, [inbox_of_alice, inbox_of_bob, ...])
    verdict.write()        # test-artifacts/faults/<name>.json, quoted by docs/reliability.md
    verdict.assert_ok()    # lost, duplicated, unexpected and count drift must all be 0

Every body in a run must be unique: a message is recognised by its id, and a failed send (whose
id the client never learned) by its body. `lost` are accepted messages absent from their
recipient's inbox; `unexpected` are inbox entries that no send accepted and no indeterminate send
explains (wrong inbox included); `duplicated` are extra copies (one id listed twice, or one body
stored under two ids); `drift` is, per user, unreadCount minus the unread entries really there.

Where the inbox was read with its change log (`Inbox.log`), the log is checked too: its
versions run 1, 2, ... up to the counter's with no gap and no repeat, replaying it from empty
must give every change's logged count and end on exactly the unread entries there, and every
entry must have been received in it exactly once. Each broken rule is a `log_errors` line.

Where the reader also read the user's conversation list (`Inbox.conversations`),
`conversation_drift` is, per (user, other user), the conversation's unreadCount minus the
unread entries from that user really there: so the counts add up to unreadCount as well.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.faults.log_replay import Logged, replay_change

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "faults"


@dataclass(frozen=True)
class Sent:
    id: str
    recipient: str
    body: str


@dataclass(frozen=True)
class Seen:
    """One entry of an inbox as read back."""

    id: str
    recipient: str
    body: str
    is_read: bool
    sender: str = ""


@dataclass(frozen=True)
class Inbox:
    """A user's whole inbox and the unreadCount read with it, while the system is quiet; its
    whole change log and the counter's version, when the reader can see them."""

    user: str
    unread_count: int
    entries: tuple[Seen, ...]
    log: tuple[Logged, ...] | None = None
    version: int | None = None
    # The conversation list's unreadCount per other user, when it was read.
    conversations: dict[str, int] | None = None


@dataclass
class History:
    """What a run asked of the system and what it was told."""

    name: str
    sent: list[Sent] = field(default_factory=list)
    uncertain: list[tuple[str, str]] = field(default_factory=list)
    faults: Counter[str] = field(default_factory=Counter)
    # Accepted messages their senders deleted (`deleted: true`): never to be seen again.
    deleted: set[str] = field(default_factory=set)

    def accepted(self, recipient: str, body: str, message_id: str) -> None:
        self.sent.append(Sent(message_id, recipient, body))

    def indeterminate(self, recipient: str, body: str) -> None:
        """A send that failed or timed out: like Jepsen's :info, it may or may not have taken
        effect, so its message may appear (once) or not at all."""
        self.uncertain.append((recipient, body))

    def deleted_by_sender(self, message_id: str) -> None:
        self.deleted.add(message_id)

    def fault(self, kind: str, times: int = 1) -> None:
        self.faults[kind] += times

    @property
    def users(self) -> list[str]:
        return sorted({sent.recipient for sent in self.sent} | {r for r, _ in self.uncertain})


@dataclass
class Verdict:
    name: str
    sent: int
    indeterminate: int
    faults: dict[str, int]
    lost: list[str]
    duplicated: list[str]
    unexpected: list[str]
    drift: dict[str, int]
    extra: dict[str, Any] = field(default_factory=dict)
    log_errors: list[str] = field(default_factory=list)
    logs_checked: int = 0
    conversation_drift: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not (
            self.lost
            or self.duplicated
            or self.unexpected
            or self.drift
            or self.log_errors
            or self.conversation_drift
        )

    def figures(self) -> dict[str, Any]:
        return {
            "test": self.name,
            "messages_sent": self.sent,
            "indeterminate_sends": self.indeterminate,
            "faults_injected": sum(self.faults.values()),
            "faults": dict(sorted(self.faults.items())),
            "lost": len(self.lost),
            "duplicated": len(self.duplicated),
            "unexpected": len(self.unexpected),
            "count_drift": sum(abs(d) for d in self.drift.values()),
            "drift_by_user": self.drift,
            "logs_checked": self.logs_checked,
            "log_errors": len(self.log_errors),
            "conversation_count_drift": sum(abs(d) for d in self.conversation_drift.values()),
            "conversation_drift": self.conversation_drift,
            "examples": {
                "log_errors": self.log_errors[:5],
                "lost": self.lost[:5],
                "duplicated": self.duplicated[:5],
                "unexpected": self.unexpected[:5],
            },
            **self.extra,
        }

    def write(self, folder: Path = ARTIFACTS) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{self.name}.json"
        path.write_text(json.dumps(self.figures(), indent=2, sort_keys=True) + "\n")
        return path

    def assert_ok(self) -> None:
        assert self.ok, f"invariants broken: {json.dumps(self.figures(), indent=2)}"


def check(history: History, inboxes: Iterable[Inbox], **extra: Any) -> Verdict:
    """Compare what was accepted with what every inbox holds. `inboxes` must cover every user
    the run sent to (`history.users`); reading them is the caller's, once the system is quiet."""
    read = {inbox.user: inbox for inbox in inboxes}
    missing = set(history.users) - set(read)
    assert not missing, f"the checker needs every involved inbox; not read: {sorted(missing)}"

    accepted = {sent.id: sent for sent in history.sent}
    uncertain = set(history.uncertain)
    lost, duplicated, unexpected = [], [], []
    drift: dict[str, int] = {}
    conversation_drift: dict[str, int] = {}
    found_ids: set[tuple[str, str]] = set()
    for user, inbox in read.items():
        copies = Counter(entry.id for entry in inbox.entries)
        duplicated += [f"{user}: id {i} listed {n} times" for i, n in copies.items() if n > 1]
        ids_of_body: dict[str, set[str]] = {}
        for entry in inbox.entries:
            ids_of_body.setdefault(entry.body, set()).add(entry.id)
            found_ids.add((user, entry.id))
            sent = accepted.get(entry.id)
            if entry.id in history.deleted:
                unexpected.append(f"{user}: {entry.id} listed after its sender deleted it")
            elif sent is None:
                if (user, entry.body) not in uncertain:
                    unexpected.append(f"{user}: {entry.id} {entry.body!r}")
            elif sent.recipient != user or sent.body != entry.body:
                unexpected.append(f"{user}: {entry.id} is {sent.recipient}'s {sent.body!r}")
        duplicated += [
            f"{user}: body {body!r} stored as {sorted(ids)}"
            for body, ids in ids_of_body.items()
            if len(ids) > 1
        ]
        unread = sum(not entry.is_read for entry in inbox.entries)
        if inbox.unread_count != unread:
            drift[user] = inbox.unread_count - unread
        if inbox.conversations is not None:
            conversation_drift.update(_conversation_drift(inbox))
    lost = [
        f"{sent.recipient}: {sent.id} {sent.body!r}"
        for sent in history.sent
        if (sent.recipient, sent.id) not in found_ids and sent.id not in history.deleted
    ]
    log_errors = [error for inbox in read.values() for error in check_log(inbox)]
    return Verdict(
        name=history.name,
        sent=len(history.sent),
        indeterminate=len(history.uncertain),
        faults=dict(history.faults),
        lost=lost,
        duplicated=duplicated,
        unexpected=unexpected,
        drift=drift,
        extra=extra,
        log_errors=log_errors,
        logs_checked=sum(inbox.log is not None for inbox in read.values()),
        conversation_drift=conversation_drift,
    )


def check_log(inbox: Inbox) -> list[str]:
    """What is wrong with the inbox's change log, replayed from empty against its entries."""
    if inbox.log is None:
        return []
    user, errors = inbox.user, []
    versions = [change.version for change in inbox.log]
    if versions != list(range(1, len(versions) + 1)) or inbox.version != len(versions):
        errors.append(f"{user}: log versions {versions[:3]}..{versions[-3:]} for {inbox.version}")
    sender = {entry.id: entry.sender for entry in inbox.entries}
    unread: set[str] = set()
    received: Counter[str] = Counter()
    gone: set[str] = set()
    for change in inbox.log:
        errors += replay_change(user, change, unread, received, sender)
        if change.deleted is not None:
            if not received[change.deleted] or change.deleted in gone:
                errors.append(f"{user}: v{change.version} deleted {change.deleted}, not there")
            gone.add(change.deleted)
            unread.discard(change.deleted)
        if change.count != len(unread):
            errors.append(f"{user}: v{change.version} logged {change.count}, replay {len(unread)}")
    there = {entry.id for entry in inbox.entries if not entry.is_read}
    if unread != there:
        errors.append(
            f"{user}: unread in the log only {sorted(unread - there)[:5]}, "
            f"in the inbox only {sorted(there - unread)[:5]}"
        )
    entries = Counter(entry.id for entry in inbox.entries)
    errors += [
        f"{user}: {i} received {received[i]} times in the log" for i in entries if received[i] != 1
    ]
    errors += [
        f"{user}: {i} received in the log, not in the inbox"
        for i in received
        if i not in entries and i not in gone
    ]
    errors += [f"{user}: {i} deleted in the log, still in the inbox" for i in gone & set(entries)]
    return errors


def _conversation_drift(inbox: Inbox) -> dict[str, int]:
    listed = inbox.conversations or {}
    unread = Counter(entry.sender for entry in inbox.entries if not entry.is_read)
    return {
        f"{inbox.user}/{other}": listed.get(other, 0) - unread[other]
        for other in set(listed) | set(unread)
        if listed.get(other, 0) != unread[other]
    }
