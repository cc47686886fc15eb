"""What the fault runs share: their own queues on the session's stack (short visibility timeout,
few receives before the dead-letter queue), worker processes to kill, and waiting for quiet."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from services.app import App
from services.bootstrap import bootstrap
from services.local.stack import StackEndpoints
from services.ports import MessageStore
from services.settings import Settings
from tests.conftest import external_env, stack_endpoints, stack_settings
from tests.e2e.conftest import free_port, wait_until_serving
from tests.e2e.fleet import visible_and_in_flight
from tests.faults.checker import History, Inbox, Verdict, check
from tests.faults.inbox_readers import read_inbox_store
from tests.polling import eventually

REPO = Path(__file__).resolve().parents[2]
QUIET_DEADLINE = 90.0
VISIBILITY_TIMEOUT = 2
MAX_RECEIVE_COUNT = 3


def fault_settings(stack: StackEndpoints, tag: str, **overrides: object) -> Settings:
    """The session's table, and queues of this run's own: no other test's worker takes its
    messages, and its timeouts can be short."""
    unique = uuid.uuid4().hex[:10]
    defaults: dict[str, object] = {
        "queue_name": f"faults-{unique}",
        "dead_letter_queue_name": f"faults-dlq-{unique}",
        "visibility_timeout_seconds": VISIBILITY_TIMEOUT,
        "max_receive_count": MAX_RECEIVE_COUNT,
        "long_poll_seconds": 1,
        # Fault runs send hundreds of messages per user: the per-user send limit is not theirs.
        "send_rate_limit": 0,
        # They also poll one user's inbox hard; tests/security tests the read limit.
        "read_rate_limit": 0,
    }
    return stack_settings(stack, tag, **(defaults | overrides))


def process_env(stack: StackEndpoints, settings: Settings) -> dict[str, str]:
    """For a subprocess (worker, server, CLI) on `settings`' table and queues."""
    return (
        dict(os.environ)
        | external_env(stack, settings)
        | {
            "INBOXQL_LONG_POLL_SECONDS": str(settings.long_poll_seconds),
            "INBOXQL_MAX_RECEIVE_COUNT": str(settings.max_receive_count),
            "INBOXQL_VISIBILITY_TIMEOUT": str(settings.visibility_timeout_seconds),
            "INBOXQL_GRAPHIQL": "false",
            "INBOXQL_DEMO": "false",
            "INBOXQL_SEND_RATE_LIMIT": "0",
            "INBOXQL_READ_RATE_LIMIT": "0",
        }
    )


@asynccontextmanager
async def fault_app(stack: StackEndpoints, settings: Settings) -> AsyncIterator[App]:
    """The real adapters on `settings`, queues created, no worker: tests run their own."""
    async with bootstrap(settings, stack_endpoints(stack), workers=0, provision=True) as app:
        yield app


@dataclass
class WorkerProcess:
    """`python -m tests.faults.worker_process`: stdout is read here, the log goes to a file."""

    process: asyncio.subprocess.Process
    log: Path

    async def expect(self, prefix: str, within: float = 60.0) -> str:
        """The next stdout line starting with `prefix`; fails if the process ends first."""
        assert self.process.stdout is not None
        deadline = time.monotonic() + within
        while True:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"no {prefix!r} from the worker:\n{self.log_tail()}"
            try:
                line = await asyncio.wait_for(self.process.stdout.readline(), remaining)
            except TimeoutError:
                continue
            assert line, f"worker ended before {prefix!r}:\n{self.log_tail()}"
            text = line.decode().strip()
            if text.startswith(prefix):
                return text

    async def exited(self, within: float = 60.0) -> int:
        return await asyncio.wait_for(self.process.wait(), within)

    def kill(self) -> None:
        if self.process.returncode is None:
            self.process.kill()

    async def stop(self) -> int:
        """SIGTERM: the worker drains what it holds and exits."""
        if self.process.returncode is None:
            self.process.terminate()
        return await self.exited()

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


SpawnWorker = Callable[..., Awaitable[WorkerProcess]]


@pytest.fixture
async def spawn_worker(tmp_path: Path) -> AsyncIterator[SpawnWorker]:
    """A factory of worker processes; any still alive at the end are killed."""
    started: list[WorkerProcess] = []

    async def spawn(env: dict[str, str], *flags: str) -> WorkerProcess:
        log = tmp_path / f"worker-{len(started) + 1}.log"
        with log.open("wb") as sink:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "tests.faults.worker_process",
                *flags,
                cwd=REPO,
                env=env,
                stdout=asyncio.subprocess.PIPE,
                stderr=sink,
            )
        worker = WorkerProcess(process, log)
        started.append(worker)
        await worker.expect("ready")
        return worker

    yield spawn
    for worker in started:
        worker.kill()
        await worker.exited()


@dataclass
class ServerProcess:
    url: str
    process: subprocess.Popen[bytes]
    log: Path


def _start_server(port: int, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as sink:
        return subprocess.Popen(
            [sys.executable, "server.py", "--port", str(port)],
            cwd=REPO,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )


@asynccontextmanager
async def server_process(env: dict[str, str], log: Path) -> AsyncIterator[ServerProcess]:
    """`server.py` serving the API with its delivery workers, ready. Every wait leaves the event
    loop free (a test may run a proxy on it). Stopped with SIGTERM on the way out."""
    port = free_port()
    process = _start_server(port, env, log)
    url = f"http://127.0.0.1:{port}"
    try:
        await asyncio.to_thread(wait_until_serving, url, process, log)
        yield ServerProcess(url, process, log)
    finally:
        if process.poll() is None:
            process.terminate()
        await asyncio.to_thread(process.wait, 60)


async def queue_sizes(app: App, queue_url: str | None = None) -> tuple[int, int]:
    """(visible, in flight); moto's "approximate" figures are exact."""
    return await visible_and_in_flight(app.clients.sqs, queue_url or app.clients.queue_url)


async def wait_quiet(app: App, within: float = QUIET_DEADLINE) -> None:
    """Until the delivery queue holds nothing, visible or in flight: every message is either
    delivered and deleted, or dead-lettered."""
    sizes: tuple[int, int] | None = None

    async def quiet() -> bool:
        nonlocal sizes
        sizes = await queue_sizes(app)
        return sizes == (0, 0)

    await eventually(quiet, lambda: f"a quiet queue, at {sizes}", timeout=within, interval=0.2)


async def judge(
    history: History, store: MessageStore, users: Iterable[str] | None = None, **extra: object
) -> Verdict:
    """Read every involved inbox from the store, check, write the figures, demand all zeros."""
    inboxes: list[Inbox] = [
        await read_inbox_store(store, user) for user in (users or history.users)
    ]
    verdict = check(history, inboxes, **extra)
    verdict.write()
    verdict.assert_ok()
    return verdict


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in this folder carries the `fault` marker."""
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.fault)
