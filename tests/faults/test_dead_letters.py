"""(e) Poison messages: a body that does not decode, a message with an empty id, and an
accepted message whose deliveries keep failing (a fault that lasts) each land in the dead-letter
queue after INBOXQL_MAX_RECEIVE_COUNT receives, while the worker keeps delivering the rest.
`server.py dlq list` shows them without consuming them; `server.py dlq redrive` sends them back,
and once the fault is gone the accepted one is delivered, exactly once."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime

from services.app import App
from services.delivery import DeliveryWorker
from services.domain import Message, MessageId, UserId
from services.local.stack import StackEndpoints
from services.message_codec import encode_message
from tests.conftest import new_user
from tests.faults.checker import History
from tests.faults.conftest import (
    QUIET_DEADLINE,
    REPO,
    fault_app,
    fault_settings,
    judge,
    process_env,
    queue_sizes,
    wait_quiet,
)
from tests.faults.dynamodb_faults import DynamoFaults
from tests.polling import eventually

MAX_RECEIVES = 2
GOOD = 30


async def server_command(env: dict[str, str], *args: str) -> str:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "server.py",
        *args,
        cwd=REPO,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    return out.decode()


async def dead_letters_reach(app: App, count: int) -> None:
    url = await app.probes.dead_letter_queue_url()
    sizes: tuple[int, int] | None = None

    async def reached() -> bool:
        nonlocal sizes
        sizes = await queue_sizes(app, url)
        return sizes == (count, 0)

    await eventually(
        reached,
        lambda: f"{count} dead letters, at {sizes}",
        timeout=QUIET_DEADLINE,
        interval=0.2,
    )


async def test_poison_messages_are_dead_lettered_listed_and_redriven(
    stack: StackEndpoints, session_tag: str
) -> None:
    history = History("poison_messages_dead_lettered")
    sender, recipient, bystander = new_user("dlq"), new_user("dlq"), new_user("dlq")
    settings = fault_settings(
        stack, session_tag, max_receive_count=MAX_RECEIVES, visibility_timeout_seconds=1
    )
    env = process_env(stack, settings)
    async with fault_app(stack, settings) as app:
        faults = DynamoFaults(app.clients.dynamodb)
        stop = asyncio.Event()
        worker = DeliveryWorker(app.consumer, app.store, app.hub, wait_seconds=1)
        # The fault is keyed by the message's id, known once it is sent: the worker starts only
        # after it is set, or it could deliver the message first.
        stuck = await app.sending.send_message(UserId(sender), recipient, "stuck until healed")
        history.accepted(recipient, "stuck until healed", stuck.id)
        faults.fail(stuck.id, "ProvisionedThroughputExceededException")  # until healed
        running = asyncio.create_task(worker.run(stop))
        try:
            await app.clients.sqs.send_message(
                QueueUrl=app.clients.queue_url, MessageBody="{not a message"
            )
            # An empty id is no valid key: the codec refuses it (DynamoDB would, every time).
            refused = Message(MessageId(""), UserId(sender), UserId(bystander), "x", _now())
            await app.clients.sqs.send_message(
                QueueUrl=app.clients.queue_url, MessageBody=encode_message(refused)
            )
            history.fault("poison_message", 3)
            for n in range(GOOD):
                message = await app.sending.send_message(UserId(sender), recipient, f"good-{n}")
                history.accepted(recipient, f"good-{n}", message.id)

            await dead_letters_reach(app, 3)
            await wait_quiet(app)
            assert not running.done(), "the worker stopped on a poison message"

            listing = await server_command(env, "dlq", "list")
            assert "3 dead-lettered message(s)" in listing, listing
            assert f"message {stuck.id} from {sender} to {recipient}" in listing, listing
            assert "undecodable body: '{not a message'" in listing, listing
            # Listing consumed nothing.
            await dead_letters_reach(app, 3)

            faults.heal()
            redrive = await server_command(env, "dlq", "redrive")
            assert "redrove 3 dead-lettered message(s)" in redrive, redrive
            # The two true poisons come back after MAX_RECEIVES more failures; `stuck` does not.
            await dead_letters_reach(app, 2)
            await wait_quiet(app)
            assert "message " + stuck.id not in await server_command(env, "dlq", "list")
            history.fault(
                "throttled_delivery_attempt",
                faults.injected["ProvisionedThroughputExceededException"],
            )
        finally:
            faults.close()
            stop.set()
            await running
        await judge(history, app.store, [recipient, bystander])


def _now() -> datetime:
    return datetime.now(UTC)
