"""GraphiQL's JavaScript and CSS, fetched once from the npm registry into the cache dir and
served by InboxQL itself, so the IDE works with no internet access. When the fetch cannot
happen, the page falls back to a CDN (with a warning)."""

from __future__ import annotations

import logging
import tarfile
from pathlib import Path

from services.npm_packages import PackageFetchError, npm_pack, publish, scratch_dir

log = logging.getLogger("inboxql.graphiql")

GRAPHIQL_VERSION = "3.8.3"
REACT_VERSION = "18.2.0"
# served file name -> (npm package spec, path inside the package tarball)
ASSETS: dict[str, tuple[str, str]] = {
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
}
CDN_BASE = "https://unpkg.com"


def cdn_url(name: str) -> str:
    spec, member = ASSETS[name]
    return f"{CDN_BASE}/{spec}/{member.removeprefix('package/')}"


def _is_complete(directory: Path) -> bool:
    return all((directory / name).is_file() for name in ASSETS)


def ensure_graphiql_assets(cache_dir: Path) -> Path | None:
    """The directory holding every file in ASSETS, or None when they cannot be fetched."""
    target = cache_dir / f"graphiql-{GRAPHIQL_VERSION}-react-{REACT_VERSION}"
    if _is_complete(target):
        return target
    try:
        with scratch_dir(cache_dir) as scratch:
            ready = scratch / "assets"
            ready.mkdir()
            for spec in sorted({spec for spec, _ in ASSETS.values()}):
                tarball = npm_pack(spec, scratch, timeout=120)
                with tarfile.open(tarball) as tar:
                    for name, (wanted_spec, member) in ASSETS.items():
                        if wanted_spec != spec:
                            continue
                        source = tar.extractfile(member)
                        if source is None:
                            raise PackageFetchError(f"{spec} has no file {member}")
                        (ready / name).write_bytes(source.read())
            return publish(ready, target, _is_complete)
    except (PackageFetchError, OSError, tarfile.TarError, KeyError) as error:
        log.warning(
            "GraphiQL assets unavailable (%s); the IDE page will load them from a CDN", error
        )
        return None
