"""bench/latency_docs.py: the latency pictures the docs embed, kept with the samples they were
drawn from, so that they can be drawn again and checked without a new run."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from bench.figures import Figure
from bench.latency import LatencyDistribution, LatencyHistogram
from bench.latency_docs import IMAGES, RECORD, draw, main, record_of

REPO = Path(__file__).resolve().parents[2]
EMBEDDING = ("performance.md", "scaling.md")


def results(*figures: Figure) -> dict[str, object]:
    """As bench/__main__.py's write_results writes last.json, in what matters here."""
    return {
        "when": "2026-12-07T19:15:26+00:00",
        "command": "uv run python -m bench --only 1 4",
        "figures": [figure.as_json() for figure in figures],
    }


def timed() -> Figure:
    latency = LatencyDistribution(
        "t9-timed",
        "fixed samples",
        LatencyHistogram.of([0.01, 0.02, 0.02, 0.05]),
        LatencyHistogram.of([0.005, 0.006]),
        "the bare thing",
    )
    return Figure(9, "p99 of something", 50.0, "ms", latency=latency)


def test_the_docs_keep_a_runs_date_command_and_distributions() -> None:
    record = record_of(results(Figure(9, "untimed", 1.0, "req/s"), timed()))
    assert record["when"] == "2026-12-07T19:15:26+00:00"
    assert record["command"] == "uv run python -m bench --only 1 4"
    assert [d["chart"] for d in record["latency"]] == ["t9-timed"]
    kept = LatencyDistribution.from_json(record["latency"][0])
    assert kept == timed().latency


def test_a_run_without_distributions_is_refused() -> None:
    with pytest.raises(ValueError, match="no latency distribution"):
        record_of(results(Figure(5, "write units", 3.0, "WCU")))


def test_a_run_is_kept_and_drawn_then_drawn_again_alike(tmp_path: Path) -> None:
    last = tmp_path / "last.json"
    last.write_bytes(orjson.dumps(results(timed())))
    assert main([str(last), "--into", str(tmp_path)]) == 0
    chart = tmp_path / "bench-t9-timed.svg"
    first = chart.read_bytes()
    assert orjson.loads((tmp_path / RECORD).read_bytes()) == record_of(results(timed()))
    chart.unlink()
    assert main(["--into", str(tmp_path)]) == 0
    assert chart.read_bytes() == first


def test_the_pictures_in_the_docs_are_their_samples_drawn_today(tmp_path: Path) -> None:
    record = orjson.loads((IMAGES / RECORD).read_bytes())
    drawn = draw(record, tmp_path)
    assert len(drawn) == 4
    docs = "".join((REPO / "docs" / name).read_text() for name in EMBEDDING)
    for path in drawn:
        committed = IMAGES / path.name
        assert path.read_bytes() == committed.read_bytes(), (
            f"docs/images/{path.name} is out of date: uv run python -m bench.latency_docs"
        )
        assert f"](images/{path.name})" in docs, f"{path.name} is embedded in no doc"
