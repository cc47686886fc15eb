"""Browser files that ship in npm packages (GraphiQL, React, the graphql-ws client), fetched once
from the npm registry into the cache dir and served by InboxQL itself, so its pages work with no
internet access. When a fetch cannot happen, pages fall back to a CDN (with a warning)."""

from __future__ import annotations

import logging
import tarfile
from dataclasses import dataclass
from pathlib import Path

from services.local.npm_packages import PackageFetchError, npm_pack, publish, scratch_dir
from services.local.tools import LocalTools

log = logging.getLogger("inboxql.assets")

CDN_BASE = "https://unpkg.com"


@dataclass(frozen=True)
class AssetBundle:
    """Files to serve, each taken from one npm package: served name -> (spec, tarball path)."""

    name: str
    files: dict[str, tuple[str, str]]

    def cdn_url(self, file: str) -> str:
        spec, member = self.files[file]
        return f"{CDN_BASE}/{spec}/{member.removeprefix('package/')}"

    def is_complete(self, directory: Path) -> bool:
        return all((directory / file).is_file() for file in self.files)


GRAPHIQL_VERSION = "3.8.3"
REACT_VERSION = "18.2.0"
GRAPHIQL = AssetBundle(
    name=f"graphiql-{GRAPHIQL_VERSION}-react-{REACT_VERSION}",
    files={
        "graphiql.min.js": (f"graphiql@{GRAPHIQL_VERSION}", "package/graphiql.min.js"),
        "graphiql.min.css": (f"graphiql@{GRAPHIQL_VERSION}", "package/graphiql.min.css"),
        "react.production.min.js": (
            f"react@{REACT_VERSION}",
            "package/umd/react.production.min.js",
        ),
        "react-dom.production.min.js": (
            f"react-dom@{REACT_VERSION}",
            "package/umd/react-dom.production.min.js",
        ),
    },
)


def ensure_bundle(cache_dir: Path, bundle: AssetBundle, tools: LocalTools) -> Path | None:
    """The directory holding every file of `bundle`, or None when they cannot be fetched."""
    target = cache_dir / bundle.name
    if bundle.is_complete(target):
        return target
    try:
        with scratch_dir(cache_dir) as scratch:
            ready = scratch / "assets"
            ready.mkdir()
            for spec in sorted({spec for spec, _ in bundle.files.values()}):
                tarball = npm_pack(spec, scratch, tools, timeout=120)
                with tarfile.open(tarball) as tar:
                    for file, (wanted, member) in bundle.files.items():
                        if wanted != spec:
                            continue
                        source = tar.extractfile(member)
                        if source is None:
                            raise PackageFetchError(f"{spec} has no file {member}")
                        (ready / file).write_bytes(source.read())
            return publish(ready, target, bundle.is_complete)
    except (PackageFetchError, OSError, tarfile.TarError, KeyError) as error:
        log.warning("%s unavailable (%s); pages will load it from a CDN", bundle.name, error)
        return None
