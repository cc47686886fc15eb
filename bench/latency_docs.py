"""The latency pictures in the docs.

    uv run python -m bench.latency_docs bench/results/last.json
        keeps that run's latency distributions (and its date and command) in
        docs/images/bench-latency.json and draws each as docs/images/bench-<chart>.svg, the
        files docs/performance.md and docs/scaling.md embed;
    uv run python -m bench.latency_docs
        draws them again from docs/images/bench-latency.json (after a change to the drawing).

The samples stay beside the pictures so that a redraw needs no new run: a test checks that the
committed SVGs are what the committed samples draw today.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson

from bench.latency import LatencyDistribution
from bench.latency_chart import write_latency_chart

IMAGES = Path(__file__).resolve().parents[1] / "docs" / "images"
RECORD = "bench-latency.json"


def record_of(results: Mapping[str, Any]) -> dict[str, Any]:
    """What the docs keep of a bench run's results: when, how, and each distribution."""
    distributions = [f["latency"] for f in results["figures"] if "latency" in f]
    if not distributions:
        raise ValueError("the results hold no latency distribution (targets 1 to 4 draw them)")
    return {"when": results["when"], "command": results["command"], "latency": distributions}


def draw(record: Mapping[str, Any], into: Path) -> list[Path]:
    """Each distribution of `record` as `into`/bench-<chart>.svg."""
    written = []
    for found in record["latency"]:
        distribution = LatencyDistribution.from_json(found)
        path = into / f"bench-{distribution.chart}.svg"
        write_latency_chart(distribution, path)
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.latency_docs", description=__doc__)
    parser.add_argument("results", type=Path, nargs="?", help="a bench run's last.json")
    parser.add_argument("--into", type=Path, default=IMAGES, help=f"folder ({IMAGES})")
    args = parser.parse_args(argv)
    if args.results is None:
        record = orjson.loads((args.into / RECORD).read_bytes())
    else:
        record = record_of(orjson.loads(args.results.read_bytes()))
        (args.into / RECORD).write_bytes(orjson.dumps(record, option=orjson.OPT_INDENT_2) + b"\n")
    for path in draw(record, args.into):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
