"""(b) A worker process SIGKILLed after its DynamoDB writes and before its SQS delete: the
redelivery, after the visibility timeout, finds everything stored and changes nothing."""

from __future__ import annotations

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
    queue_sizes,
    wait_quiet,
)
from tests.faults.inbox_readers import read_inbox_store

MESSAGES = 8


async def test_a_worker_killed_between_write_and_delete_changes_nothing_on_redelivery(
    stack: StackEndpoints, session_tag: str, spawn_worker: SpawnWorker
) -> None:
    history = History("worker_sigkill_before_delete")
    sender, users = new_user("kill"), [new_user("kill") for _ in range(2)]
    settings = fault_settings(stack, session_tag)
    env = process_env(stack, settings)
    async with fault_app(stack, settings) as app:
        for n in range(MESSAGES):
            recipient = users[n % 2]
            message = await app.sending.send_message(UserId(sender), recipient, f"kill-{n}")
            history.accepted(recipient, f"kill-{n}", message.id)

        doomed = await spawn_worker(env, "--block-at-ack")
        line = await doomed.expect("acknowledging")
        held = int(line.split()[1])
        # The batch is in DynamoDB, counted, and still on the queue: now the worker dies.
        stored_before = {u: await read_inbox_store(app.store, u) for u in users}
        assert sum(len(inbox.entries) for inbox in stored_before.values()) >= held
        assert sum(await queue_sizes(app)) == MESSAGES
        doomed.kill()
        assert await doomed.exited() == -9
        history.fault("sigkill_before_delete")

        heir = await spawn_worker(env)
        await wait_quiet(app)
        assert await heir.stop() == 0
        log = heir.log.read_text()
        # The heir really received the dead worker's batch again, and stored none of it anew.
        assert log.count("was already stored") >= held, heir.log_tail()
        verdict = await judge(history, app.store, redelivered_after_kill=held)
        assert verdict.sent == MESSAGES
