"""`server.py` commands that need no stack, run as a user runs them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from schema import build_schema
from services.settings import SETTINGS_HELP

REPO = Path(__file__).resolve().parents[2]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "server.py", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_help_lists_every_command_and_setting() -> None:
    done = run("--help")
    assert done.returncode == 0
    for command in ("serve", "worker", "token", "seed", "schema", "cost"):
        assert command in done.stdout
    for name, _, _ in SETTINGS_HELP:
        assert name in done.stdout


def test_schema_prints_the_sdl() -> None:
    done = run("schema")
    assert done.returncode == 0
    assert done.stdout == build_schema().as_str() + "\n"


def test_cost_prints_each_tier_beside_the_seed() -> None:
    done = run("cost", "--users", "1000", "1000000")
    assert done.returncode == 0, done.stderr
    assert "1,000 users" in done.stdout and "1,000,000 users" in done.stdout
    assert done.stdout.count("total") >= 2
    assert "~$5.00" in done.stdout and "~$500.00" in done.stdout
