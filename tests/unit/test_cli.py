"""`server.py` commands that need no stack, run as a user runs them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from commands import read_settings
from schema import build_schema
from services.settings import SETTINGS_HELP, SettingsError

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


def test_the_stack_flag_sets_the_defaults_that_follow_the_stack() -> None:
    # `--stack external` alone must not keep local mode's demo page (which hands out tokens
    # for any user) or its GraphiQL; and it asks for a JWT secret as INBOXQL_STACK does.
    environ = {"INBOXQL_JWT_SECRET": "s" * 32}
    external = read_settings("external", environ)
    assert (external.stack, external.demo, external.graphiql) == ("external", False, False)
    local = read_settings(None, environ)
    assert (local.stack, local.demo, local.graphiql) == ("local", True, True)
    with pytest.raises(SettingsError, match="INBOXQL_JWT_SECRET"):
        read_settings("external", {})
