"""`server.py` as a user runs it: the embedded local stack, the `token` and `worker` commands,
data that survives a restart, and no child process left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from services.local.processes import pid_alive
from tests.conftest import CACHE_DIR
from tests.e2e.conftest import REPO, free_port, wait_until_serving
from tests.polling import wait_until

DEADLINE = 30.0


def local_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INBOXQL_", "AWS_"))}
    env.pop("REDIS_URL", None)
    return env | {"INBOXQL_DATA_DIR": str(data_dir), "INBOXQL_CACHE_DIR": str(CACHE_DIR)}


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


@contextmanager
def running(args: list[str], data_dir: Path, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("ab") as sink:
        process = subprocess.Popen(
            [sys.executable, "server.py", *args],
            cwd=REPO,
            env=local_env(data_dir),
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)


def token(data_dir: Path, user: str) -> str:
    out = subprocess.run(
        [sys.executable, "server.py", "token", user],
        cwd=REPO,
        env=local_env(data_dir),
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def gql(url: str, token: str, query: str) -> dict[str, object]:
    response = httpx.post(
        f"{url}/graphql",
        json={"query": query},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    assert "errors" not in body, body
    data = body["data"]
    assert isinstance(data, dict)
    return data


def test_local_server_lifecycle(tmp_path: Path) -> None:
    data_dir, log = tmp_path / "data", tmp_path / "server.log"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    alice, bob = token(data_dir, "alice"), token(data_dir, "bob")
    assert alice != bob

    with running(["--port", str(port), "--no-worker"], data_dir, log) as server:
        wait_until_serving(url, server, log)
        children = children_of(server.pid)
        assert len(children) == 3, f"expected DynamoDB Local, fauxqs and Valkey: {children}"
        assert (data_dir / "stack.json").exists()
        assert_a_second_server_is_refused(port, data_dir, tmp_path / "other")

        page = httpx.get(f"{url}/graphql", headers={"Accept": "text/html"}, timeout=10)
        assert page.status_code == 200 and "Bearer ey" in page.text

        sent = gql(
            url,
            bob,
            'mutation { sendMessage(input: {recipientId: "alice", '
            'body: "survives restarts"}) { id } }',
        )
        message_id = sent["sendMessage"]["id"]  # type: ignore[index]
        # No worker in the server: the message waits in the queue until one attaches.
        assert gql(url, alice, "{ unreadCount }") == {"unreadCount": 0}
        with running(["worker"], data_dir, tmp_path / "worker.log") as worker:
            wait_until(
                lambda: gql(url, alice, "{ unreadCount }") == {"unreadCount": 1},
                "the attached worker to deliver",
                timeout=DEADLINE,
                interval=0.1,
            )
            assert worker.poll() is None
        assert worker.returncode == 0

        seeded = server_cli(["seed", "--users", "3", "--messages", "40"], data_dir)
        assert seeded.returncode == 0, seeded.stderr
        assert "seeding messages: 40/40 (100%" in seeded.stderr
        after_seed = gql(
            url,
            alice,
            "{ unreadCount messages(first: 100, unreadOnly: true) { edges { node { id } } } }",
        )
        unread_edges = after_seed["messages"]["edges"]  # type: ignore[index]
        assert after_seed["unreadCount"] == len(unread_edges) >= 1

        # A worker stopped right after it starts still delivers everything already queued
        # before it exits, and leaves nothing hidden in flight.
        carol = token(data_dir, "carol")
        before = gql(url, carol, "{ unreadCount }")["unreadCount"]
        assert isinstance(before, int)
        # Two senders: one would pass the default send limit (60 a minute) with bob's
        # earlier sends.
        senders = [bob, token(data_dir, "dave")]
        for n in range(60):
            gql(
                url,
                senders[n % 2],
                'mutation { sendMessage(input: {recipientId: "carol", '
                f'body: "queued {n}"}}) {{ id }} }}',
            )
        worker_log = tmp_path / "worker2.log"
        with running(["worker"], data_dir, worker_log) as worker:
            wait_until(
                lambda: "delivery worker running" in worker_log.read_text(),
                "the worker to start",
                timeout=DEADLINE,
                interval=0.1,
            )
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(timeout=60) == 0
        assert gql(url, carol, "{ unreadCount }") == {"unreadCount": before + 60}

        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=60) == 0
    wait_until(
        lambda: not any(pid_alive(pid) for pid in children),
        "the children to exit",
        timeout=DEADLINE,
        interval=0.1,
    )
    assert not (data_dir / "stack.json").exists()

    with running(["--port", str(port)], data_dir, log) as server:
        wait_until_serving(url, server, log)
        query = '{ unreadCount message(id: "' + str(message_id) + '") { body } }'
        inbox = gql(url, alice, query)
        assert inbox == {
            "unreadCount": after_seed["unreadCount"],
            "message": {"body": "survives restarts"},
        }
        children = children_of(server.pid)
    wait_until(
        lambda: not any(pid_alive(pid) for pid in children),
        "the children to exit",
        timeout=DEADLINE,
        interval=0.1,
    )


def assert_a_second_server_is_refused(port: int, data_dir: Path, other_dir: Path) -> None:
    """While a server runs on `port` and `data_dir`: another on the same data dir says why,
    without a traceback; another on the same port is refused before any local stack starts."""
    second = refused(["--port", str(free_port())], data_dir)
    assert "another InboxQL server is running with data dir" in second.stderr
    assert "INBOXQL_DATA_DIR" in second.stderr
    taken = refused(["--port", str(port)], other_dir)
    assert f"port {port} is already in use" in taken.stderr
    assert "--port" in taken.stderr
    assert not (other_dir / "logs").exists()


def server_cli(args: list[str], data_dir: Path) -> subprocess.CompletedProcess[str]:
    """`server.py ARGS` run to completion on `data_dir`, its output kept."""
    return subprocess.run(
        [sys.executable, "server.py", *args],
        cwd=REPO,
        env=local_env(data_dir),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def refused(args: list[str], data_dir: Path) -> subprocess.CompletedProcess[str]:
    """`server.py ARGS` that must refuse to start: exit 2, with a message and no traceback."""
    result = server_cli(args, data_dir)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    return result


def test_worker_without_a_running_stack_says_so(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "server.py", "worker"],
        check=False,
        cwd=REPO,
        env=local_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "no running local stack" in result.stderr
