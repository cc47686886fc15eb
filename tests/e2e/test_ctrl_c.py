"""Ctrl-C is how a developer stops `uv run server.py`: a clean stop, exit status 0, and no
traceback."""

from __future__ import annotations

import signal
import uuid
from pathlib import Path

from services.local.stack import StackEndpoints
from tests.conftest import stack_settings
from tests.e2e.conftest import provision, serving

STOP_SECONDS = 30


def test_ctrl_c_stops_the_server_cleanly(stack: StackEndpoints, tmp_path: Path) -> None:
    settings = stack_settings(stack, f"ctrl-c-{uuid.uuid4().hex[:8]}")
    provision(stack, settings)
    log = tmp_path / "server.log"
    with serving(stack, settings, log) as server:
        server.process.send_signal(signal.SIGINT)
        assert server.process.wait(timeout=STOP_SECONDS) == 0
    output = log.read_text()
    assert "Application shutdown complete" in output
    assert "Traceback" not in output, output[-2000:]
