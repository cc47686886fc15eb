"""The embedded local stack: DynamoDB Local, an SQS emulator (fauxqs, or moto) and a Valkey
server as children, each run by a program from a wheel (services/local/tools.py), never by
whatever is on PATH.

Every child listens on its own free 127.0.0.1 port, logs to `data_dir/logs/`, and dies with
its parent even on SIGKILL (Linux PR_SET_PDEATHSIG). That signal fires when the *thread* that
spawned the child exits, so call `start()` from the main thread or one that outlives the stack.

`data_dir/stack.lock` is held for the stack's whole life whether or not it persists: the logs
and `stack.json` live in data_dir too, and two stacks sharing them would only confuse.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from services.local.dynamodb_local import (
    DynamoDBLocalUnavailable,
    dynamodb_local_command,
    ensure_dynamodb_local,
    java_for_dynamodb_local,
)
from services.local.npm_packages import PackageFetchError
from services.local.processes import (
    Child,
    die_with_parent,
    free_ports,
    http_answers,
    pid_alive,
    redis_answers,
)
from services.local.sqs_emulators import SqsEmulator, sqs_emulator_command
from services.local.tools import LocalToolMissing, LocalTools

log = logging.getLogger("inboxql.stack")

_STOP_GRACE_SECONDS = 10.0
_STATE_FILE = "stack.json"


@dataclass(frozen=True)
class StackEndpoints:
    dynamodb_url: str
    sqs_url: str
    redis_url: str
    dynamodb_persistent: bool

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> StackEndpoints:
        """Parse `to_json()` output; extra keys (stack.json's owner pid) are ignored."""
        data: Any = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("stack endpoints JSON must be an object")

        def text_field(key: str) -> str:
            value = data.get(key)
            if not isinstance(value, str):
                raise ValueError(f"stack endpoints JSON: {key!r} must be a string")
            return value

        persistent = data.get("dynamodb_persistent")
        if not isinstance(persistent, bool):
            raise ValueError("stack endpoints JSON: 'dynamodb_persistent' must be a boolean")
        return cls(
            text_field("dynamodb_url"), text_field("sqs_url"), text_field("redis_url"), persistent
        )


class LocalStackError(RuntimeError):
    """The local stack cannot start; the message says why, for a person to act on."""


class StackBusy(LocalStackError):
    """Another stack holds the data dir."""


def read_running_stack(data_dir: Path) -> StackEndpoints | None:
    """Endpoints of the stack running on data_dir, or None if none (or its owner died)."""
    try:
        text = (data_dir / _STATE_FILE).read_text()
        pid: object = json.loads(text).get("pid")
        if not isinstance(pid, int) or not pid_alive(pid):
            return None
        return StackEndpoints.from_json(text)
    except (OSError, ValueError, AttributeError):
        return None


class LocalStack:
    def __init__(
        self,
        data_dir: Path,
        cache_dir: Path,
        *,
        persist: bool = True,
        sqs: SqsEmulator = "fauxqs",
        tools: LocalTools | None = None,
        start_timeout: float = 60.0,
    ) -> None:
        # Absolute: the children run with the data dir as their working directory, so a
        # relative path (the default `.inboxql`) handed to them would point inside itself.
        self.data_dir = data_dir.resolve()
        self.cache_dir = cache_dir.resolve()
        self.persist = persist
        self.sqs = sqs
        self.tools = tools or LocalTools()
        self.start_timeout = start_timeout
        self._children: list[Child] = []
        self._lock_fd: int | None = None
        self._endpoints: StackEndpoints | None = None

    @property
    def pids(self) -> list[int]:
        """Pids of the running children; empty before start() and after stop()."""
        return list(self.pids_by_name.values())

    @property
    def pids_by_name(self) -> dict[str, int]:
        """Each running child's pid by its name (`dynamodb`, `redis`, the SQS emulator's)."""
        return {child.name: child.proc.pid for child in self._children}

    def __enter__(self) -> StackEndpoints:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> StackEndpoints:
        if self._endpoints is not None:
            return self._endpoints
        try:
            self._endpoints = self._start()
        except (LocalToolMissing, DynamoDBLocalUnavailable, PackageFetchError) as error:
            self.stop()
            raise LocalStackError(str(error)) from error
        except BaseException:
            self.stop()
            raise
        return self._endpoints

    def _start(self) -> StackEndpoints:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._lock()
        sqs_port, redis_port, dynamodb_port = free_ports(3)
        preexec = die_with_parent()
        redis_dir = self.data_dir / "redis"
        redis_dir.mkdir(exist_ok=True)
        redis_cmd = [self.tools.redis_server_binary(), "--port", str(redis_port),
                     "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                     "--daemonize", "no", "--dir", str(redis_dir)]  # fmt: skip
        self._spawn(
            "redis", redis_cmd, redis_port, redis_answers, preexec=preexec, detail="not persisted"
        )
        # On a cold cache both come from the npm registry: fetched side by side.
        with ThreadPoolExecutor(max_workers=2) as fetches:
            sqs_cmd = fetches.submit(
                sqs_emulator_command, self.sqs, sqs_port, self.cache_dir, self.tools
            )
            dynamodb_cmd = fetches.submit(self._dynamodb_command, dynamodb_port)
            sqs_argv, dynamodb_argv = sqs_cmd.result(), dynamodb_cmd.result()
        self._spawn(self.sqs, sqs_argv, sqs_port, http_answers("GET"), preexec=preexec,
                    detail="SQS, NOT persisted")  # fmt: skip
        db_path = self.data_dir / "dynamodb"
        detail = f"persisted in {db_path}" if self.persist else "in memory, NOT persisted"
        self._spawn("dynamodb", dynamodb_argv, dynamodb_port, http_answers("POST"),
                    preexec=preexec, detail=detail)  # fmt: skip
        self._wait_until_ready()
        endpoints = StackEndpoints(
            dynamodb_url=f"http://127.0.0.1:{dynamodb_port}",
            sqs_url=f"http://127.0.0.1:{sqs_port}",
            redis_url=f"redis://127.0.0.1:{redis_port}/0",
            dynamodb_persistent=self.persist,
        )
        state = dict(asdict(endpoints), pid=os.getpid())
        scratch = self.data_dir / f".{_STATE_FILE}.{os.getpid()}"
        scratch.write_text(json.dumps(state, sort_keys=True))
        os.replace(scratch, self.data_dir / _STATE_FILE)
        return endpoints

    def _lock(self) -> None:
        # os.open fds are not inherited, so no child can keep the lock alive after we die.
        fd = os.open(self.data_dir / "stack.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise StackBusy(
                f"another InboxQL server is running with data dir {self.data_dir} "
                f"(it holds {self.data_dir / 'stack.lock'}); stop it, or give this one another "
                "data dir with INBOXQL_DATA_DIR"
            ) from None
        self._lock_fd = fd

    def _dynamodb_command(self, port: int) -> list[str]:
        java = java_for_dynamodb_local(self.tools)
        jar_dir = ensure_dynamodb_local(self.cache_dir, self.tools)
        db_path = self.data_dir / "dynamodb" if self.persist else None
        if db_path is not None:
            db_path.mkdir(exist_ok=True)
        return dynamodb_local_command(java, jar_dir, port, db_path)

    def _spawn(
        self,
        name: str,
        command: list[str],
        port: int,
        answers: Callable[[int], bool],
        *,
        preexec: Callable[[], None] | None,
        detail: str,
    ) -> None:
        logs = self.data_dir / "logs"
        logs.mkdir(exist_ok=True)
        log_path = logs / f"{name}.log"
        log_file = log_path.open("wb")
        try:
            # Own process group: a terminal's Ctrl-C reaches only the server, which can then
            # drain requests against live children before stop() ends them. preexec only calls
            # an already-resolved prctl and getppid (no locks, imports or I/O), which is what
            # keeps it safe after fork in a threaded parent.
            proc = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT,
                cwd=self.data_dir, preexec_fn=preexec, process_group=0,  # noqa: PLW1509
            )  # fmt: skip
        except BaseException:
            log_file.close()
            raise
        self._children.append(Child(name, port, proc, log_path, log_file, answers, detail))

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        pending = list(self._children)
        while pending:
            for child in list(pending):
                code = child.proc.poll()
                if code is not None:
                    raise LocalStackError(
                        f"{child.name} (pid {child.proc.pid}) exited with code {code} before "
                        f"answering on port {child.port}; end of {child.log_path}:\n"
                        f"{child.log_tail()}"
                    )
                if child.answers(child.port):
                    pending.remove(child)
                    log.info("%s ready on 127.0.0.1:%d (pid %d, %s, log %s)", child.name,
                             child.port, child.proc.pid, child.detail, child.log_path)  # fmt: skip
            if pending and time.monotonic() > deadline:
                tails = "\n".join(f"--- {c.log_path}:\n{c.log_tail()}" for c in pending)
                names = ", ".join(c.name for c in pending)
                raise LocalStackError(
                    f"{names} did not answer within {self.start_timeout:.0f} s:\n{tails}"
                )
            if pending:
                time.sleep(0.1)

    def stop(self) -> None:
        children, self._children = self._children, []
        for child in children:
            if child.proc.poll() is None:
                child.proc.terminate()
        deadline = time.monotonic() + _STOP_GRACE_SECONDS
        for child in children:
            try:
                child.proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("%s (pid %d) ignored SIGTERM; killing it", child.name, child.proc.pid)
                child.proc.kill()
                child.proc.wait()
            child.log_file.close()
        if self._endpoints is not None:
            # Before unlocking, so a successor's fresh stack.json is never the one removed.
            (self.data_dir / _STATE_FILE).unlink(missing_ok=True)
            self._endpoints = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None
