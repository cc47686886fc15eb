"""The locked Strawberry carries the fixes for its published subscription and auth advisories
(legacy graphql-ws auth bypass, unbounded subscriptions per connection, alias limiter bypass
through fragments, subscription slot leak): 0.327.2 or later, in uv.lock and as pyproject's
floor."""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

REPO = Path(__file__).resolve().parents[2]
ADVISORIES_FIXED_IN = Version("0.327.2")


def test_locked_strawberry_has_the_advisory_fixes() -> None:
    lock = tomllib.loads((REPO / "uv.lock").read_text())
    [locked] = [p for p in lock["package"] if p["name"] == "strawberry-graphql"]
    assert Version(locked["version"]) >= ADVISORIES_FIXED_IN


def test_pyproject_never_allows_an_older_strawberry() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    [strawberry] = [
        Requirement(spec)
        for spec in project["dependencies"]
        if Requirement(spec).name == "strawberry-graphql"
    ]
    assert not strawberry.specifier.contains("0.327.1")
    assert strawberry.specifier.contains(str(ADVISORIES_FIXED_IN))
