"""examples/typed-client: GraphQL Code Generator types every operation in examples/operations from
schema.graphql, and `tsc --noEmit` checks the client against them, so a schema change that breaks
clients fails here. Its npm packages come from the registry by the packaged npm, once per lock
file (`npm ci` into a cache dir named by the lock's hash), never from this repository."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest

from services.local.npm_packages import publish, scratch_dir
from services.settings import Settings
from tests.conftest import CACHE_DIR

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "typed-client"
OPERATIONS = REPO / "examples" / "operations"
MANIFESTS = ("package.json", "package-lock.json")
TOOLS = Settings.from_env().local_tools


def _run(command: list[str], cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
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


@pytest.fixture(scope="session")
def node_modules() -> Path:
    """The example's node_modules, installed by `npm ci` from its lock file into a cache dir
    keyed by the manifests' hash: a changed lock installs afresh, an unchanged one is reused."""
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
            flags = ["--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"]
            done = _run([*TOOLS.npm_command(), "ci", *flags], ready, timeout=600)
            assert done.returncode == 0, done.stderr[-3000:]
            publish(ready, target, _is_installed)
    return target / "node_modules"


def _bin(node_modules: Path, name: str) -> list[str]:
    # The packaged node runs the script itself: `.bin/` shims start whichever node is on PATH.
    return [TOOLS.node_binary(), str((node_modules / ".bin" / name).resolve())]


def _workspace(root: Path, node_modules: Path, schema: str) -> Path:
    """The repository's layout as codegen.yml expects it (../../schema.graphql,
    ../operations/), with `schema` as the schema, around a copy of the example."""
    (root / "schema.graphql").write_text(schema)
    shutil.copytree(OPERATIONS, root / "examples" / "operations")
    client = root / "examples" / "typed-client"
    shutil.copytree(EXAMPLE, client, ignore=shutil.ignore_patterns("node_modules", "gql"))
    (client / "node_modules").symlink_to(node_modules, target_is_directory=True)
    return client


def _codegen(client: Path, node_modules: Path) -> subprocess.CompletedProcess[str]:
    command = [*_bin(node_modules, "graphql-codegen"), "--config", "codegen.yml"]
    return _run(command, client, timeout=180)


def _tsc(client: Path, node_modules: Path) -> subprocess.CompletedProcess[str]:
    return _run([*_bin(node_modules, "tsc"), "--noEmit", "-p", "."], client, timeout=180)


def test_codegen_types_every_operation_and_the_client_type_checks(
    tmp_path: Path, node_modules: Path
) -> None:
    client = _workspace(tmp_path, node_modules, (REPO / "schema.graphql").read_text())
    generated = _codegen(client, node_modules)
    assert generated.returncode == 0, generated.stdout[-3000:] + generated.stderr[-3000:]
    types = (client / "gql" / "graphql.ts").read_text()
    for operation in sorted(path.stem for path in OPERATIONS.glob("*.graphql")):
        assert f"export const {operation}Document = " in types, operation
    checked = _tsc(client, node_modules)
    assert checked.returncode == 0, checked.stdout[-3000:]


def test_a_renamed_field_fails_codegen(tmp_path: Path, node_modules: Path) -> None:
    schema = (REPO / "schema.graphql").read_text()
    broken = schema.replace("  endCursor: String\n", "  lastCursor: String\n")
    assert broken != schema, "PageInfo.endCursor is no longer in schema.graphql"
    generated = _codegen(_workspace(tmp_path, node_modules, broken), node_modules)
    assert generated.returncode != 0
    assert 'Cannot query field "endCursor"' in generated.stdout + generated.stderr


def test_a_changed_field_type_passes_codegen_and_fails_tsc(
    tmp_path: Path, node_modules: Path
) -> None:
    # The operations still validate; only the client's use of the result no longer fits.
    schema = (REPO / "schema.graphql").read_text()
    query = "type Query {\n  me: User!\n  unreadCount: Int!\n"
    broken = schema.replace(query, query.replace("unreadCount: Int!", "unreadCount: String!"))
    assert broken != schema, "Query.unreadCount is no longer where this test expects it"
    client = _workspace(tmp_path, node_modules, broken)
    generated = _codegen(client, node_modules)
    assert generated.returncode == 0, generated.stdout[-3000:] + generated.stderr[-3000:]
    checked = _tsc(client, node_modules)
    assert checked.returncode != 0
    assert "client.ts" in checked.stdout and "not assignable to type 'number'" in checked.stdout
