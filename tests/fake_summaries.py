"""Conversation summaries for `tests.fakes.FakeMessageStore`: what DynamoMessageStore writes to
`USER#<u>` / `SUM#<other>` and reads from the `activity` index, kept in memory."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import replace

from services.domain import InboxEntry, Message, MessageId, UserId
from services.read_state import ConversationPage, ConversationSummary


class FakeSummaries:
    def __init__(self) -> None:
        self.by_owner: dict[UserId, dict[UserId, ConversationSummary]] = {}

    def get(self, owner: UserId, other: UserId) -> ConversationSummary | None:
        return self.by_owner.get(owner, {}).get(other)

    def put(self, owner: UserId, summary: ConversationSummary) -> None:
        self.by_owner.setdefault(owner, {})[summary.other_id] = summary

    def received(self, message: Message, version: int) -> None:
        """The recipient's side, in the delivery's transaction: +1 unread, and the message
        becomes the newest unless a newer one already is (a late message moves nothing)."""
        owner, other = message.recipient_id, message.sender_id
        summary = self.get(owner, other) or ConversationSummary(other)
        summary = replace(summary, unread=summary.unread + 1, unread_version=version)
        if summary.last_message_id is None or summary.last_message_id < message.id:
            summary = replace(
                summary, last_message_id=message.id, last_sent_by_owner=owner == other
            )
        self.put(owner, summary)

    def sent(self, message: Message) -> None:
        """The sender's follow-up after the transaction: monotonic, so repeatable; never for
        the message the sender deleted last (`dm`), which a late follow-up would bring back."""
        owner, other = message.sender_id, message.recipient_id
        if owner == other:
            return
        summary = self.get(owner, other) or ConversationSummary(other)
        if summary.deleted_id == message.id:
            return
        if summary.last_message_id is None or summary.last_message_id < message.id:
            self.put(owner, replace(summary, last_message_id=message.id, last_sent_by_owner=True))

    def read(self, owner: UserId, flipped: Iterable[InboxEntry], version: int) -> None:
        """Entries flipped read in one transaction: each sender's summary loses that many; a
        conversation that predates summaries has none and gets none, and a count that holds
        fewer than were flipped (older messages predate it) stops at 0."""
        for sender, count in Counter(entry.sender_id for entry in flipped).items():
            summary = self.get(owner, sender)
            if summary is not None:
                unread = max(0, summary.unread - count)
                self.put(owner, replace(summary, unread=unread, unread_version=version))

    def unread(self, owner: UserId, flipped: Iterable[InboxEntry], version: int) -> None:
        """Entries flipped back to unread in one transaction: each sender's summary gains that
        many."""
        for sender, count in Counter(entry.sender_id for entry in flipped).items():
            summary = self.get(owner, sender)
            if summary is not None:
                unread = summary.unread + count
                self.put(owner, replace(summary, unread=unread, unread_version=version))

    def page(self, owner: UserId, *, limit: int, before: MessageId | None) -> ConversationPage:
        listed = sorted(
            (
                summary
                for summary in self.by_owner.get(owner, {}).values()
                if summary.last_message_id is not None
                and (before is None or summary.last_message_id < before)
            ),
            key=lambda summary: summary.last_message_id or "",
            reverse=True,
        )
        return ConversationPage(listed[:limit], len(listed) > limit)
