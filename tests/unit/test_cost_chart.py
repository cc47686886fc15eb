"""`server.py cost --chart FILE.svg`: the picture of the report, run as a user runs it, and
what it says when matplotlib is missing or the file cannot be written."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from commands import run_cost
from services.cost.chart import write_cost_chart
from services.cost.line_items import SERVICES
from services.cost.report import cost_tiers

REPO = Path(__file__).resolve().parents[2]
SVG = "{http://www.w3.org/2000/svg}"
# server.py as `uv run server.py` runs it, but with matplotlib unimportable, as in a
# production install: None in sys.modules makes `import matplotlib` raise ImportError.
WITHOUT_MATPLOTLIB = (
    "import runpy, sys\n"
    "sys.modules['matplotlib'] = None\n"
    "sys.argv = ['server.py', *sys.argv[1:]]\n"
    "runpy.run_path('server.py', run_name='__main__')\n"
)


def run(*args: str, without_matplotlib: bool = False) -> subprocess.CompletedProcess[str]:
    prefix = ["-c", WITHOUT_MATPLOTLIB] if without_matplotlib else ["server.py"]
    return subprocess.run(
        [sys.executable, *prefix, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def texts(svg: Path) -> set[str]:
    root = ET.parse(svg).getroot()
    return {" ".join("".join(t.itertext()).split()) for t in root.iter(f"{SVG}text")}


def ids(svg: Path) -> set[str]:
    return {e.get("id", "") for e in ET.parse(svg).getroot().iter()}


def test_the_command_prints_the_report_and_draws_every_tier_service_and_seed(
    tmp_path: Path,
) -> None:
    chart = tmp_path / "cost.svg"
    done = run("cost", "--users", "1000", "10000", "1000000", "--chart", str(chart))
    assert done.returncode == 0, done.stderr
    assert "1,000,000 users" in done.stdout and "~$500.00" in done.stdout
    assert ET.parse(chart).getroot().tag == f"{SVG}svg"
    labels = texts(chart)
    assert {"1,000 users", "10,000 users", "1,000,000 users"} <= labels
    assert set(SERVICES) <= labels, set(SERVICES) - labels
    assert {"~$5", "~$50", "~$500"} <= labels
    assert "US dollars a month" in labels
    drawn = ids(chart)
    assert {"seed-1000", "seed-10000", "seed-1000000"} <= drawn
    # Every service costs something at a million users, so each has its segment there.
    assert sum(i.startswith("bill-1000000-") for i in drawn) == len(SERVICES)


def test_the_totals_on_the_bars_are_the_reports(tmp_path: Path) -> None:
    tiers = cost_tiers([1_000, 1_000_000], None, None)
    chart = tmp_path / "cost.svg"
    write_cost_chart(tiers, chart)
    labels = texts(chart)
    for tier in tiers:
        assert f"${tier.total:,.0f}" in labels


def test_the_same_figures_give_the_same_file(tmp_path: Path) -> None:
    tiers = cost_tiers([1_000, 10_000], None, None)
    first, second = tmp_path / "a.svg", tmp_path / "b.svg"
    write_cost_chart(tiers, first)
    write_cost_chart(tiers, second)
    assert first.read_bytes() == second.read_bytes()
    assert b"<dc:date>" not in first.read_bytes()


def test_the_chart_in_the_docs_is_the_models_today(tmp_path: Path) -> None:
    # docs/cost.md shows it: a change to the model or the prices must redraw it.
    drawn = tmp_path / "cost.svg"
    write_cost_chart(cost_tiers([1_000, 10_000, 1_000_000], None, None), drawn)
    committed = REPO / "docs" / "images" / "cost.svg"
    assert drawn.read_bytes() == committed.read_bytes(), (
        "docs/images/cost.svg is out of date: uv run server.py cost --chart docs/images/cost.svg"
    )


def test_a_tier_the_seed_gave_no_estimate_for_says_so(tmp_path: Path) -> None:
    chart = tmp_path / "cost.svg"
    write_cost_chart(cost_tiers([200, 1_000], None, None), chart)
    assert {"no estimate", "for this tier"} <= texts(chart)
    assert "seed-200" not in ids(chart) and "seed-1000" in ids(chart)


def test_without_matplotlib_it_says_how_to_get_it_and_fails(tmp_path: Path) -> None:
    chart = tmp_path / "cost.svg"
    done = run("cost", "--chart", str(chart), without_matplotlib=True)
    assert done.returncode == 3
    assert "uv sync --group charts" in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == "" and not chart.exists()


def test_without_matplotlib_the_report_alone_still_prints() -> None:
    # The library is imported only for a chart: production's `server.py cost` works.
    done = run("cost", "--users", "1000", without_matplotlib=True)
    assert done.returncode == 0, done.stderr
    assert "1,000 users" in done.stdout


def test_a_chart_in_a_missing_directory_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    chart = tmp_path / "no-such-dir" / "cost.svg"
    done = run("cost", "--chart", str(chart))
    assert done.returncode == 2
    assert f"cannot write the chart to {chart}: No such file or directory" in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""


def test_a_chart_must_be_an_svg_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    chart = tmp_path / "cost.png"
    assert run_cost([1_000], None, None, chart) == 2
    printed = capsys.readouterr()
    assert "ending in .svg" in printed.err and printed.out == ""
    assert not chart.exists()
