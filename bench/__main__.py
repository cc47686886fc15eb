"""The benchmark suite: `uv run python -m bench [--quick] [--only N ...] [--json]
[--write-cpu-profile]`.

Starts one local stack (DynamoDB Local, fauxqs for SQS, a Redis-compatible server) in a
temporary folder, runs each benchmark (servers and load generators in their own processes),
prints every figure with its same-run baseline, ratio and PASS/MISS against its target, and
writes them as JSON to bench/results/last.json, and as a Markdown table to
bench/results/last.md (`--json` also prints the JSON last on stdout); the latency
distributions (the executed page, send->push) are drawn beside them as
bench/results/last-<chart>.svg. `--write-cpu-profile` also writes the
CPU figures it measured (ms CPU per operation) into services/cost/cpu_profile.json, which the
cost model reads.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from bench import api_layer, cost, query_path, send_pipeline, subscriptions
from bench.context import BenchContext
from bench.cpu import CPU_PROFILE, write_cpu_profile
from bench.figures import Figure, format_markdown, format_table
from bench.latency_chart import write_latency_chart
from services.local.stack import LocalStack

CACHE_DIR = Path.home() / ".cache" / "inboxql"
RESULTS = Path(__file__).resolve().parent / "results" / "last.json"
# In the order they run: cost first (no server), the subscription flood last.
BENCHMARKS: dict[int, tuple[str, Callable[[BenchContext], list[Figure]]]] = {
    5: ("cost per operation", cost.run),
    1: ("API layer", api_layer.run),
    2: ("query path", query_path.run),
    3: ("send pipeline", send_pipeline.run),
    4: ("subscriptions", subscriptions.run),
}


def run_benchmarks(
    context: BenchContext, chosen: Sequence[int]
) -> tuple[list[Figure], dict[str, str], dict[str, float]]:
    """Each chosen benchmark in turn; one that fails is reported and the rest still run."""
    began = time.monotonic()
    figures: list[Figure] = []
    failures: dict[str, str] = {}
    timings: dict[str, float] = {}
    for number in chosen:
        name, benchmark = BENCHMARKS[number]
        print(f"[{time.monotonic() - began:6.1f}s] target {number}: {name}", flush=True)
        started = time.monotonic()
        try:
            figures += benchmark(context)
        except Exception as error:
            failures[f"{number} {name}"] = repr(error)
            traceback.print_exc()
        timings[f"{number} {name}"] = round(time.monotonic() - started, 1)
    return figures, failures, timings


def write_results(
    out: Path,
    figures: Sequence[Figure],
    failures: dict[str, str],
    timings: dict[str, float],
    *,
    elapsed: float,
    quick: bool,
    only: Sequence[int] | None = None,
) -> dict[str, Any]:
    command = "uv run python -m bench" + (" --quick" if quick else "")
    if only:
        command += " --only " + " ".join(map(str, only))
    result = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": command,
        "seconds": round(elapsed, 1),
        "seconds_per_benchmark": timings,
        "figures": [figure.as_json() for figure in figures],
        "failures": failures,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    result["charts"] = write_latency_charts(out, figures)
    out.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2) + b"\n")
    out.with_suffix(".md").write_text(format_markdown(figures) + "\n")
    return result


def write_latency_charts(out: Path, figures: Sequence[Figure]) -> dict[str, str]:
    """One SVG per latency distribution beside `out` (last.json: last-<chart>.svg). Returns
    each chart's file name, or why it was not drawn (a failed send phase times nothing)."""
    charts: dict[str, str] = {}
    for figure in figures:
        if figure.latency is None:
            continue
        chart = figure.latency.chart
        if not figure.latency.samples.total:
            charts[chart] = "not drawn: no samples"
            continue
        path = out.with_name(f"{out.stem}-{chart}.svg")
        write_latency_chart(figure.latency, path)
        charts[chart] = path.name
    return charts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks it all runs")
    parser.add_argument("--only", type=int, nargs="+", choices=sorted(BENCHMARKS), help="targets")
    parser.add_argument("--json", action="store_true", help="print the JSON results too")
    parser.add_argument("--out", type=Path, default=RESULTS, help=f"JSON file ({RESULTS})")
    parser.add_argument("--logs", type=Path, help="keep the servers' logs here")
    parser.add_argument(
        "--write-cpu-profile",
        action="store_true",
        help="write the CPU figures into services/cost/cpu_profile.json (not with --quick)",
    )
    args = parser.parse_args(argv)
    chosen = [n for n in BENCHMARKS if args.only is None or n in args.only]
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="inboxql-bench-") as folder:
        data_dir = Path(folder)
        local = LocalStack(data_dir / "stack", CACHE_DIR, persist=False)
        with local as stack:
            if stack.dynamodb_url == stack.sqs_url:
                print("DynamoDB Local did not start (Java 17+ and npm are needed)", file=sys.stderr)
                return 1
            log_dir = args.logs or data_dir / "logs"
            log_dir.mkdir(parents=True, exist_ok=True)
            context = BenchContext(
                quick=args.quick, log_dir=log_dir, stack=stack, stack_pids=local.pids_by_name
            )
            figures, failures, timings = run_benchmarks(context, chosen)
    elapsed = time.monotonic() - began
    result = write_results(
        args.out, figures, failures, timings, elapsed=elapsed, quick=args.quick, only=args.only
    )
    print()
    print(format_table(figures))
    for name, reason in failures.items():
        print(f"FAILED {name}: {reason}")
    passed = sum(f.verdict == "PASS" for f in figures)
    missed = sum(f.verdict == "MISS" for f in figures)
    print(f"\n{passed} PASS, {missed} MISS, {len(failures)} failed, {elapsed:.0f} s")
    print(f"wrote {args.out}")
    for chart, written in result["charts"].items():
        print(
            f"wrote {args.out.with_name(written)}"
            if written.endswith(".svg")
            else f"{chart}: {written}"
        )
    if args.write_cpu_profile and not args.quick and not failures:
        only = " --only " + " ".join(map(str, args.only)) if args.only else ""
        command = f"uv run python -m bench{only}"
        written = write_cpu_profile(figures, CPU_PROFILE, command)
        print(f"wrote {', '.join(written) or 'nothing'} to {CPU_PROFILE}")
    if args.json:
        print(orjson.dumps(result).decode())
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
