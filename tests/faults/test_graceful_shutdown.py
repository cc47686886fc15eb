"""(h) SIGTERM to a server process (API and its delivery workers) while sends are in flight:
every send it acknowledged is delivered, by its own draining workers or by the next worker;
a send cut off by the shutdown may or may not have happened, but nothing is lost or doubled."""

from __future__ import annotations

import asyncio
import itertools
import signal
from pathlib import Path

import httpx

from services.domain import UserId
from services.local.stack import StackEndpoints
from services.tokens.verifiers import HmacTokenVerifier
from tests.conftest import TEST_JWT_SECRET, new_user
from tests.e2e.fleet import SEND
from tests.faults.checker import History
from tests.faults.conftest import (
    SpawnWorker,
    fault_app,
    fault_settings,
    judge,
    process_env,
    queue_sizes,
    server_process,
    wait_quiet,
)

LANES = 8
USERS = 5
ACCEPTED_BEFORE_SIGTERM = 150


async def test_sigterm_under_load_loses_no_acknowledged_send(
    stack: StackEndpoints, session_tag: str, spawn_worker: SpawnWorker, tmp_path: Path
) -> None:
    history = History("graceful_shutdown_under_load")
    users = [new_user("term") for _ in range(USERS)]
    tokens = {
        u: HmacTokenVerifier(TEST_JWT_SECRET).issue(UserId(u), ttl_seconds=3600) for u in users
    }
    settings = fault_settings(stack, session_tag)
    env = process_env(stack, settings)
    numbers = itertools.count()
    terminated = asyncio.Event()
    after_sigterm = {"accepted": 0, "failed": 0}

    async def lane(http: httpx.AsyncClient, k: int) -> None:
        """Send until the server stops answering."""
        while True:
            n = next(numbers)
            sender, recipient = users[n % USERS], users[(n + k) % USERS]
            body = f"term-{n}"
            try:
                response = await http.post(
                    "/graphql",
                    json={
                        "query": SEND,
                        "variables": {"input": {"recipientId": recipient, "body": body}},
                    },
                    headers={"Authorization": f"Bearer {tokens[sender]}"},
                )
                reply = response.json()
                message_id = reply["data"]["sendMessage"]["id"] if "errors" not in reply else None
            except (httpx.HTTPError, ValueError, TypeError, KeyError):
                message_id = None
            outcome = "accepted" if message_id else "failed"
            if message_id:
                history.accepted(recipient, body, message_id)
            else:
                history.indeterminate(recipient, body)
            if terminated.is_set():
                after_sigterm[outcome] += 1
            if message_id is None and terminated.is_set():
                return

    log = tmp_path / "server.log"
    async with fault_app(stack, settings) as app:
        async with (
            server_process(env, log) as server,
            httpx.AsyncClient(base_url=server.url, timeout=30) as http,
        ):
            lanes = [asyncio.create_task(lane(http, k)) for k in range(LANES)]
            while len(history.sent) < ACCEPTED_BEFORE_SIGTERM:
                assert not any(t.done() for t in lanes), [t.exception() for t in lanes if t.done()]
                await asyncio.sleep(0.05)  # pacing a poll on the sends' own progress
            server.process.send_signal(signal.SIGTERM)
            terminated.set()
            history.fault("sigterm_under_load")
            await asyncio.wait_for(asyncio.gather(*lanes), 60)
            assert await asyncio.to_thread(server.process.wait, 60) == 0
        left_behind = sum(await queue_sizes(app))
        # Whatever the stopping server did not deliver, the next worker does.
        worker = await spawn_worker(env)
        await wait_quiet(app)
        assert await worker.stop() == 0
        verdict = await judge(
            history,
            app.store,
            accepted_after_sigterm=after_sigterm["accepted"],
            failed_after_sigterm=after_sigterm["failed"],
            left_on_queue_by_stopped_server=left_behind,
        )
        assert verdict.sent >= ACCEPTED_BEFORE_SIGTERM
