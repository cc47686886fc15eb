"""Realistic demo data, written straight through the store (the same exact transactions as
delivery), so a developer can feel pagination and counts at size."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from datetime import datetime, timedelta

from services.domain import Message, MessageId, UserId, new_message_id, utc_now
from services.ports import MessageStore

DEMO_USERS = ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi")
OPENERS = (
    "Hey",
    "Quick question",
    "FYI",
    "Reminder",
    "Good news",
    "Heads up",
    "Thanks again",
    "Following up",
    "About tomorrow",
    "Lunch?",
)
TOPICS = (
    "the quarterly report",
    "the deploy on Friday",
    "your pull request",
    "the design review",
    "the customer call",
    "the offsite",
    "the new dashboard",
    "the on-call rota",
    "the budget sheet",
    "the release notes",
)
ENDINGS = (
    "Let me know what you think.",
    "No rush.",
    "Can you take a look?",
    "See you then!",
    "Thoughts?",
    "Ping me when you're free.",
    "All good on my side.",
    "Talk soon.",
)
CONCURRENCY = 16
READ_SHARE = 0.6


def demo_users(count: int) -> list[UserId]:
    named = [UserId(name) for name in DEMO_USERS[:count]]
    return named + [UserId(f"user{n:04d}") for n in range(len(named), count)]


def demo_body(rng: random.Random) -> str:
    return f"{rng.choice(OPENERS)}: about {rng.choice(TOPICS)}. {rng.choice(ENDINGS)}"


async def seed(
    store: MessageStore,
    *,
    users: int,
    messages: int,
    progress: Callable[[int], None],
    rng: random.Random | None = None,
    now: datetime | None = None,
) -> None:
    """Deliver `messages` messages between `users` users, spread over the last 30 days, and
    mark about 60% of them read. `progress(n)` is called as messages are written."""
    rng = rng or random.Random()
    people = demo_users(users)
    end = now or utc_now()
    span_ms = 30 * 24 * 3600 * 1000
    offsets = sorted(rng.randrange(span_ms) for _ in range(messages))
    queue: asyncio.Queue[int] = asyncio.Queue()
    for offset in offsets:
        queue.put_nowait(offset)
    done = 0

    async def writer() -> None:
        nonlocal done
        while not queue.empty():
            offset = queue.get_nowait()
            sender, recipient = rng.sample(people, 2)
            at = end - timedelta(milliseconds=span_ms - offset)
            at = at.replace(microsecond=at.microsecond // 1000 * 1000)
            message = Message(new_message_id(at), sender, recipient, demo_body(rng), at)
            await store.deliver(message)
            if rng.random() < READ_SHARE:
                read_at = min(at + timedelta(minutes=rng.randrange(1, 600)), end)
                await store.mark_read(recipient, [MessageId(message.id)], read_at)
            done += 1
            progress(done)

    await asyncio.gather(*(writer() for _ in range(min(CONCURRENCY, max(messages, 1)))))
