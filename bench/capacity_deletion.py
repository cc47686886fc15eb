"""deleteMessage's figures for the capacity profile: the deletion of a delivered unread message
(the newest of its conversation, so both summaries fall back to the one before), of a message
still queued (its delivery then refused), and a refused call (the same one read whatever the
reason)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from bench.metered_services import Metered
from services.domain import UserId, new_message_id

Measured = Callable[[str, int, Callable[[], Awaitable[Any]]], Awaitable[None]]


async def measure_deletions(measured: Measured, metered: Metered, tag: str) -> None:
    sender, recipient = UserId(f"bench-deleter-{tag}"), UserId(f"bench-deleted-{tag}")
    deletion, worker = metered.deletion, metered.worker
    with metered.meter.paused():
        older = await metered.sending.send_message(sender, recipient, "the one before")
        newest = await metered.sending.send_message(sender, recipient, "the one deleted")
        while await worker.run_once(wait_seconds=0):
            pass
        # Read once, as a recipient would have: the body is cached, and the deletion's
        # tombstone replaces it.
        await metered.inbox.load_messages([older.id, newest.id])

    async def delete_delivered() -> None:
        _expect(await deletion.delete_message(sender, newest.id), "the delivered message deleted")

    await measured("delete_message", 1, delete_delivered)
    with metered.meter.paused():
        queued = await metered.sending.send_message(sender, recipient, "taken back at once")

    async def delete_queued() -> None:
        _expect(await deletion.delete_message(sender, queued.id), "the queued message deleted")

    await measured("delete_message_queued", 1, delete_queued)

    async def refused_delivery() -> None:
        _expect(await worker.run_once(wait_seconds=0) == 1, "the deleted message received")

    await measured("delete_message_queued_delivery", 1, refused_delivery)
    unknown = new_message_id(datetime.now(UTC))

    async def refused() -> None:
        _expect(not await deletion.delete_message(sender, unknown), "an unknown id refused")

    await measured("delete_message_refused", 1, refused)


def _expect(held: bool, what: str) -> None:
    if not held:
        raise RuntimeError(f"the bench expected {what}")
