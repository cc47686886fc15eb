"""Node scripts the e2e tests run against a real server (tests/e2e/clients/), with the npm
packages they import fetched once per machine, by the packaged npm, into the cache dir."""

from __future__ import annotations

import shutil
from pathlib import Path

from services.local.npm_packages import npm_install
from services.settings import Settings
from tests.conftest import CACHE_DIR

CLIENTS = Path(__file__).with_name("clients")
TOOLS = Settings.from_env().local_tools


def installed_script(script: str, packages: list[str], home_name: str) -> Path:
    """`clients/<script>` copied beside the node_modules/ holding `packages` (installed there
    unless the first is already), so that its imports resolve."""
    home = CACHE_DIR / home_name
    first = packages[0].rsplit("@", 1)[0]
    if not (home / "node_modules" / first).exists():
        npm_install(packages, home, TOOLS, timeout=300)
    shutil.copy(CLIENTS / script, home / script)
    return home / script
