"""Child processes of a benchmark run: the server under load, and the load generators, each in
its own process so that neither measures the other's CPU."""

from __future__ import annotations

import contextlib
import os
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench.cpu import cpu_turn

REPO = Path(__file__).resolve().parents[1]
READY_SECONDS = 90.0
CHILD_SECONDS = 300.0


def raise_file_limit() -> int:
    """Every WebSocket is a descriptor: take the hard limit, as a process for 10k sockets must."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class ServerProcess:
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def rss_kib(self) -> int:
        """Resident set size now, from /proc."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS in /proc status")

    def local_addresses(self) -> set[str]:
        """The `ip:port` of every IPv4 TCP socket this process holds, from /proc: what Redis's
        CLIENT LIST shows as `addr` for the process's own connections."""
        inodes = set()
        for fd in Path(f"/proc/{self.process.pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[len("socket:[") : -1])
        addresses = set()
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[9] in inodes:
                ip_hex, port_hex = fields[1].split(":")
                ip = ".".join(str(int(ip_hex[i : i + 2], 16)) for i in (6, 4, 2, 0))
                addresses.add(f"{ip}:{int(port_hex, 16)}")
        return addresses


@contextmanager
def serving(
    mode: str,
    log_dir: Path,
    *,
    env: Mapping[str, str] | None = None,
    workers: int = 2,
    profile: Path | None = None,
    options: Sequence[str] = (),
) -> Iterator[ServerProcess]:
    port = free_port()
    log = log_dir / f"server-{mode}-{port}.log"
    command = [sys.executable, "-m", "bench.serve", "--port", str(port)]
    if profile is not None:
        command += ["--profile", str(profile)]
    command += [*options, "--workers", str(workers), mode]
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command,
            cwd=REPO,
            env={**os.environ, **(env or {})},
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    server = ServerProcess(port, process, log)
    try:
        _wait_until_serving(server)
        yield server
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL if it has not gone within 30 s."""
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def _wait_until_serving(server: ServerProcess) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"bench server exited:\n{server.log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{server.url}/raw", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)  # pacing a readiness poll bounded by the deadline
    raise RuntimeError(f"bench server did not answer:\n{server.log.read_text()[-3000:]}")


def run_module(module: str, args: list[str], env: Mapping[str, str] | None = None) -> Any:
    """Run `python -m module args` to completion; its stdout's last line is JSON."""
    done = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=REPO,
        env={**os.environ, **(env or {})},
        capture_output=True,
        timeout=CHILD_SECONDS,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{module} failed ({done.returncode}):\n{done.stderr.decode()[-3000:]}")
    return orjson.loads(done.stdout.strip().splitlines()[-1])


@contextmanager
def running_module(
    module: str, args: list[str], env: Mapping[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """`python -m module args` in the background, talking JSON lines on stdin/stdout."""
    process = subprocess.Popen(
        [sys.executable, "-m", module, *args],
        cwd=REPO,
        env={**os.environ, **(env or {})},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            _stop(process)
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                stream.close()


def http_load(
    port: int,
    *,
    path: str,
    body: Any = None,
    bodies: Sequence[Any] = (),
    token: str | None = None,
    concurrency: int,
    seconds: float,
    server_pid: int | None = None,
) -> dict[str, Any]:
    """One turn of load. With `server_pid`, also that process's CPU over the whole turn per
    answer it gave (`cpu_ms_per_request`): warm-up and tail included on both sides."""
    args = ["--port", str(port), "--path", path, "--concurrency", str(concurrency)]
    args += ["--seconds", str(seconds), "--warmup", str(min(1.0, seconds / 3))]
    for each in [body] if body is not None else bodies:
        args += ["--body", orjson.dumps(each).decode()]
    if token:
        args += ["--token", token]
    if server_pid is None:
        result: dict[str, Any] = run_module("bench.http_load", args)
        return result
    with cpu_turn(server_pid) as turn:
        result = run_module("bench.http_load", args)
    result["cpu_seconds"] = turn.seconds
    result["cpu_ms_per_request"] = turn.per_operation_ms(result["completed"])
    return result
