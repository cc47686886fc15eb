"""SQS emulators for the SQS adapter suite: one served on its own (beside the session stack's),
and a check of which emulator answers at a URL, so that a test run labelled "fauxqs" is one."""

from __future__ import annotations

import contextlib
import http.client
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

from services.local.processes import die_with_parent, free_ports
from services.local.sqs_emulators import sqs_emulator_command
from services.local.tools import LocalTools
from services.settings import SqsEmulator

START_TIMEOUT_SECONDS = 60.0
STOP_GRACE_SECONDS = 10.0


class SqsEmulatorFailed(RuntimeError):
    """The emulator exited or never answered; the message holds the end of its log."""


def _get(port: int, path: str) -> http.client.HTTPResponse | None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        return response
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()


def emulator_at(url: str) -> SqsEmulator | None:
    """Which emulator serves `url`: fauxqs signs its answers `x-amz-id-2: fauxqs`, moto serves
    its dashboard at /moto-api/. None when neither answers that way."""
    port = urlsplit(url).port
    assert port is not None, url
    root = _get(port, "/")
    if root is not None and root.getheader("x-amz-id-2") == "fauxqs":
        return "fauxqs"
    dashboard = _get(port, "/moto-api/")
    if dashboard is not None and dashboard.status == 200:
        return "moto"
    return None


def _log_tail(path: Path, limit: int = 2000) -> str:
    try:
        return path.read_bytes()[-limit:].decode("utf-8", "replace").strip() or "(empty log)"
    except OSError:
        return "(no log)"


@contextlib.contextmanager
def serving(emulator: SqsEmulator, cache_dir: Path, log_dir: Path) -> Iterator[str]:
    """`emulator` as a child process on a free loopback port, for the block; yields its URL.
    Started as the local stack starts it (`sqs_emulator_command`), stopped (SIGTERM, then
    SIGKILL after a grace) when the block ends."""
    (port,) = free_ports(1)
    argv = sqs_emulator_command(emulator, port, cache_dir, LocalTools.from_env(os.environ))
    log_path = log_dir / f"{emulator}-{port}.log"
    with log_path.open("wb") as log_file:
        # preexec only calls an already-resolved prctl and getppid: safe after fork.
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent(),  # noqa: PLW1509
        )  # fmt: skip
        try:
            deadline = time.monotonic() + START_TIMEOUT_SECONDS
            while _get(port, "/") is None:
                code = proc.poll()
                if code is not None:
                    raise SqsEmulatorFailed(
                        f"{emulator} exited with code {code} before answering on port {port}; "
                        f"end of {log_path}:\n{_log_tail(log_path)}"
                    )
                if time.monotonic() > deadline:
                    raise SqsEmulatorFailed(
                        f"{emulator} did not answer on port {port} within "
                        f"{START_TIMEOUT_SECONDS:.0f} s; end of {log_path}:\n{_log_tail(log_path)}"
                    )
                time.sleep(0.05)  # pacing a readiness poll that the deadline bounds
            yield f"http://127.0.0.1:{port}"
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
