"""The Chromium the browser tests drive: the headless shell packed in npm `@sparticuz/chromium`,
fetched and unpacked into the cache dir at first use, so that a machine with only Python and uv
runs the browser tests. A system Chromium is used only when `INBOXQL_CHROMIUM` names it; what is
on PATH never is.

The package is built for AWS Lambda: its Chromium wants NSS and expat from the system, which a bare
machine may lack, so the copies the package ships for Amazon Linux 2023 are unpacked too and put
on LD_LIBRARY_PATH for the browser alone. Its fontconfig file names /tmp/fonts, so a small one of
ours points at the unpacked fonts instead.
"""

from __future__ import annotations

import logging
import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from services.local.npm_packages import PackageFetchError, npm_install, publish, scratch_dir
from services.local.tools import LocalToolMissing, LocalTools

log = logging.getLogger("inboxql.tests")

SPARTICUZ_CHROMIUM_VERSION = "153.0.0"
CHROMIUM_SETTING = "INBOXQL_CHROMIUM"
_PACKAGE = "@sparticuz/chromium"

# The package's own code does the unpacking (brotli and tar, with its tar-fs dependency): it
# writes into os.tmpdir(), which TMPDIR points at our folder. The Amazon Linux libraries are
# inflated explicitly because executablePath() does so only when it detects Lambda.
_UNPACK_SCRIPT = """
import chromium, { inflate } from "@sparticuz/chromium";
import { join } from "node:path";
const bin = process.argv[1];
await chromium.executablePath(bin);
await inflate(join(bin, "al2023.tar.br"));
"""

# The fonts relative to this file's folder: the tree still works after publish() renames it.
_FONTCONFIG = """<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig>
  <dir prefix="relative">fonts/fonts</dir>
  <cachedir prefix="xdg">fontconfig</cachedir>
</fontconfig>
"""


class ChromiumUnavailable(RuntimeError):
    """No Chromium for the browser tests; the message says why."""


@dataclass(frozen=True)
class ChromiumBinary:
    """A Chromium executable and the environment it needs on top of the usual one."""

    executable: Path
    extra_env: Mapping[str, str]

    def launch_env(self, base: Mapping[str, str] | None = None) -> dict[str, str | float | bool]:
        """The whole environment to start it with (Playwright's `env` replaces, not extends),
        typed as Playwright's launch() takes it."""
        base = os.environ if base is None else base
        env: dict[str, str | float | bool] = {**base, **self.extra_env}
        ours, inherited = self.extra_env.get("LD_LIBRARY_PATH"), base.get("LD_LIBRARY_PATH")
        if ours and inherited:
            # Ours first, so the bundled NSS wins over an older one the caller points at.
            env["LD_LIBRARY_PATH"] = os.pathsep.join([ours, inherited])
        return env


def _unpacked(install: Path) -> Path:
    return install / "unpacked"


def _is_complete(install: Path) -> bool:
    unpacked = _unpacked(install)
    return (
        os.access(unpacked / "chromium", os.X_OK)
        and (unpacked / "al2023" / "lib" / "libnss3.so").is_file()
        and (unpacked / "fonts.conf").is_file()
    )


def _binary(install: Path) -> ChromiumBinary:
    unpacked = _unpacked(install)
    return ChromiumBinary(
        executable=unpacked / "chromium",
        extra_env={
            "LD_LIBRARY_PATH": str(unpacked / "al2023" / "lib"),
            "FONTCONFIG_FILE": str(unpacked / "fonts.conf"),
            # The font cache's folder (the config's xdg cachedir), kept out of the working dir.
            "XDG_CACHE_HOME": str(unpacked / "cache"),
        },
    )


def _unpack(install: Path, tools: LocalTools) -> None:
    unpacked = _unpacked(install)
    unpacked.mkdir()
    bin_dir = install / "node_modules" / "@sparticuz" / "chromium" / "bin"
    try:
        done = subprocess.run(
            [tools.node_binary(), "--input-type=module", "-e", _UNPACK_SCRIPT, str(bin_dir)],
            cwd=install,  # where node resolves the package's bare specifier from
            env=tools.child_env() | {"TMPDIR": str(unpacked)},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as error:
        raise ChromiumUnavailable(f"unpacking {_PACKAGE} failed: {error}") from error
    if done.returncode != 0:
        raise ChromiumUnavailable(
            f"unpacking {_PACKAGE} exited {done.returncode} (it needs node >= 22.17): "
            f"{done.stderr.strip()[-2000:]}"
        )
    (unpacked / "fonts.conf").write_text(_FONTCONFIG)
    if not _is_complete(install):
        raise ChromiumUnavailable(f"unpacking {_PACKAGE} did not leave the expected files")


def _system_chromium(setting: str) -> ChromiumBinary:
    path = Path(setting)
    if not os.access(path, os.X_OK):
        raise ChromiumUnavailable(f"{CHROMIUM_SETTING}={setting} is not an executable file")
    return ChromiumBinary(executable=path, extra_env={})


def chromium_for_tests(
    cache_dir: Path,
    tools: LocalTools | None = None,
    env: Mapping[str, str] | None = None,
) -> ChromiumBinary:
    """The Chromium named by INBOXQL_CHROMIUM, else npm's, fetched and unpacked once per
    cache_dir (~67 MB download, ~290 MB on disk) and reused from there."""
    env = os.environ if env is None else env
    if setting := env.get(CHROMIUM_SETTING):
        return _system_chromium(setting)
    target = cache_dir / f"sparticuz-chromium-{SPARTICUZ_CHROMIUM_VERSION}"
    if _is_complete(target):
        return _binary(target)
    tools = LocalTools.from_env(env) if tools is None else tools
    with scratch_dir(cache_dir) as scratch:
        log.info("fetching %s@%s (~67 MB) into %s", _PACKAGE, SPARTICUZ_CHROMIUM_VERSION, target)
        ready = scratch / "sparticuz-chromium"
        try:
            npm_install([f"{_PACKAGE}@{SPARTICUZ_CHROMIUM_VERSION}"], ready, tools, timeout=600)
            _unpack(ready, tools)
        except (PackageFetchError, LocalToolMissing) as error:
            raise ChromiumUnavailable(
                f"{error}; or name a system Chromium with {CHROMIUM_SETTING}"
            ) from error
        return _binary(publish(ready, target, _is_complete))
