"""A worker told to stop (SIGTERM) while other processes keep sending still stops: its drain of
what is queued is bounded, and what it leaves on the queue is delivered by the next worker."""

from __future__ import annotations

import asyncio
import itertools
import signal
import time

from services.delivery import DRAIN_SECONDS
from services.domain import UserId
from services.local.stack import StackEndpoints
from tests.conftest import new_user
from tests.faults.checker import History
from tests.faults.conftest import (
    SpawnWorker,
    fault_app,
    fault_settings,
    judge,
    process_env,
    wait_quiet,
)


async def test_a_worker_stops_within_its_drain_bound_while_sends_keep_coming(
    stack: StackEndpoints, session_tag: str, spawn_worker: SpawnWorker
) -> None:
    history = History("worker_stop_under_inflow")
    sender, users = new_user("inflow"), [new_user("inflow") for _ in range(3)]
    settings = fault_settings(stack, session_tag)
    env = process_env(stack, settings)
    async with fault_app(stack, settings) as app:
        stopping, under_way = asyncio.Event(), asyncio.Event()
        numbers = itertools.count()

        async def keep_sending() -> None:
            while not stopping.is_set():
                n = next(numbers)
                recipient = users[n % len(users)]
                message = await app.sending.send_message(UserId(sender), recipient, f"in-{n}")
                history.accepted(recipient, f"in-{n}", message.id)
                if len(history.sent) >= 50:
                    under_way.set()

        producers = [asyncio.create_task(keep_sending()) for _ in range(2)]
        try:
            worker = await spawn_worker(env)
            await asyncio.wait_for(under_way.wait(), 60)
            worker.process.send_signal(signal.SIGTERM)
            history.fault("sigterm_while_sends_continue")
            started = time.monotonic()
            # One poll, the bounded drain, and the batch in hand; generous for a busy CPU.
            assert await worker.exited(within=DRAIN_SECONDS + 30) == 0
            took = time.monotonic() - started
        finally:
            stopping.set()
            await asyncio.gather(*producers)
        heir = await spawn_worker(env)
        await wait_quiet(app)
        assert await heir.stop() == 0
        await judge(history, app.store, users, worker_stopped_after_s=round(took, 1))
