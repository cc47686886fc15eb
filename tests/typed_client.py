"""examples/typed-client in a scratch copy of the repository's layout: its npm packages from the
registry by the packaged npm, once per lock file (`npm ci` into a cache dir named by the
manifests' hash), then GraphQL Code Generator and `tsc`, run by the packaged node."""

from __future__ import annotations

import functools
import hashlib
import shutil
import subprocess
from pathlib import Path

from services.local.npm_packages import npm_ci, publish, scratch_dir
from services.settings import Settings
from tests.conftest import CACHE_DIR

REPO = Path(__file__).resolve().parents[1]
SCHEMA = REPO / "schema.graphql"
EXAMPLE = REPO / "examples" / "typed-client"
OPERATIONS = REPO / "examples" / "operations"
MANIFESTS = ("package.json", "package-lock.json")
TOOLS = Settings.from_env().local_tools


def run(command: list[str], cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        cwd=cwd,
        env=TOOLS.child_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _is_installed(directory: Path) -> bool:
    # npm ci writes its hidden lock file last; the cache dir is published whole by one rename.
    return (directory / "node_modules" / ".package-lock.json").is_file()


@functools.cache
def node_modules() -> Path:
    """The example's node_modules, installed by `npm ci` from its lock file: a changed lock
    installs afresh, an unchanged one is reused."""
    digest = hashlib.sha256(b"".join((EXAMPLE / name).read_bytes() for name in MANIFESTS))
    target = CACHE_DIR / f"typed-client-{digest.hexdigest()[:16]}"
    if not _is_installed(target):
        with scratch_dir(CACHE_DIR) as scratch:
            ready = scratch / "typed-client"
            ready.mkdir()
            for name in MANIFESTS:
                shutil.copy(EXAMPLE / name, ready / name)
            # No package this example needs runs an install script (TypeScript's compiler
            # comes as a prebuilt optional dependency).
            npm_ci(ready, TOOLS)
            publish(ready, target, _is_installed)
    return target / "node_modules"


def workspace(root: Path, schema: str) -> Path:
    """The repository's layout as codegen.yml expects it (../../schema.graphql,
    ../operations/), with `schema` as the schema, around a copy of the example."""
    (root / "schema.graphql").write_text(schema)
    shutil.copytree(OPERATIONS, root / "examples" / "operations")
    client = root / "examples" / "typed-client"
    shutil.copytree(EXAMPLE, client, ignore=shutil.ignore_patterns("node_modules", "gql"))
    (client / "node_modules").symlink_to(node_modules(), target_is_directory=True)
    return client


def _bin(name: str) -> list[str]:
    # The packaged node runs the script itself: `.bin/` shims start whichever node is on PATH.
    return [TOOLS.node_binary(), str((node_modules() / ".bin" / name).resolve())]


def codegen(client: Path) -> subprocess.CompletedProcess[str]:
    return run([*_bin("graphql-codegen"), "--config", "codegen.yml"], client, timeout=180)


def tsc(client: Path) -> subprocess.CompletedProcess[str]:
    return run([*_bin("tsc"), "--noEmit", "-p", "."], client, timeout=180)


def output(done: subprocess.CompletedProcess[str]) -> str:
    return done.stdout[-3000:] + done.stderr[-3000:]
