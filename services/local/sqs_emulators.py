"""The local SQS endpoint: fauxqs (npm, run by the packaged node) by default, or moto's server.

fauxqs keeps up with the delivery pipeline (over 1,000 msg/s on one batched loop, flat as the
queue grows), where moto's server walks the whole queue on every receive. The SQS adapter suite
(tests/integration/test_sqs_queue.py) runs against each: fauxqs passes all of it, moto differs
from AWS in four batch and content cases (strict xfails there). INBOXQL_SQS_EMULATOR picks one.
"""

from __future__ import annotations

import importlib.util
import logging
import sys
from pathlib import Path
from typing import Literal

from services.local.npm_packages import npm_install, publish, scratch_dir
from services.local.tools import LocalToolMissing, LocalTools

log = logging.getLogger("inboxql.stack")

SqsEmulator = Literal["fauxqs", "moto"]

FAUXQS_VERSION = "2.4.1"
_FAUXQS_LAUNCHER = Path(__file__).with_name("fauxqs_server.mjs")


def _fauxqs_is_complete(directory: Path) -> bool:
    return (directory / "node_modules" / "fauxqs" / "dist" / "app.js").is_file()


def ensure_fauxqs(cache_dir: Path, tools: LocalTools) -> Path:
    """A folder with fauxqs installed in its node_modules/, installed once per cache_dir."""
    target = cache_dir / f"fauxqs-{FAUXQS_VERSION}"
    if _fauxqs_is_complete(target):
        return target
    with scratch_dir(cache_dir) as scratch:
        log.info(
            "fetching fauxqs@%s (~45 MB with its dependencies) into %s", FAUXQS_VERSION, target
        )
        ready = scratch / "fauxqs"
        npm_install([f"fauxqs@{FAUXQS_VERSION}"], ready, tools, timeout=600)
        return publish(ready, target, _fauxqs_is_complete)


def sqs_emulator_command(
    emulator: SqsEmulator, port: int, cache_dir: Path, tools: LocalTools
) -> list[str]:
    """The argv that serves `emulator` on 127.0.0.1:`port`."""
    if emulator == "moto":
        if importlib.util.find_spec("moto") is None:
            raise LocalToolMissing(
                "INBOXQL_SQS_EMULATOR=moto needs moto, which the `local` dependency group "
                "provides: run `uv sync` (without --no-dev)"
            )
        return [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    install = ensure_fauxqs(cache_dir, tools)
    return [tools.node_binary(), str(_FAUXQS_LAUNCHER), str(install), str(port)]
