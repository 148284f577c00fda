"""The benchmark suite runs end to end (quick mode, as a smoke test), and the
README's results are those of the committed run."""

import importlib
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]
SUITE = ROOT / "benchmarks" / "run_suite.py"
COMMITTED = ROOT / "docs" / "benchmarks"


def test_quick_suite_writes_its_report(tmp_path):
    result = subprocess.run(
        [sys.executable, str(SUITE), "--quick", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    results = json.loads((tmp_path / "suite.json").read_text())
    assert len(results["epoch"]["rows"]) == 8
    for row in results["epoch"]["rows"]:
        assert row["ours"] > 0 and row["sklearn"] > 0 and row["ratio"] > 0
    assert results["backward_vs_forward"]["epochs"] >= 1
    assert 0.5 < results["scaling"]["slope_n_samples"] < 1.6
    assert results["trajectory"]["max_relative_difference"] < 1e-10
    for row in results["trajectory"]["coupling"]:
        if row["coupling_tol"] == 0:
            assert row["bitwise_equal"] and row["coupling_maps"] <= row["replay_maps"]
        else:
            assert row["max_distance"] <= row["error_bound"] <= row["coupling_tol"]
    orders = [row["order"] for row in results["sparse"]["rows"]]
    assert len(orders) == 7 and orders.count("forward+average") == 2
    for row in results["sparse"]["rows"] + results["multiclass"]:
        assert row["ratio"] > 0
    assert (tmp_path / "suite_scaling.png").stat().st_size > 10_000
    report = (tmp_path / "suite.md").read_text()
    assert "ours / sklearn" in report and "affine" in report
    assert "replay / coupling" in report
    assert "Sparse CSR" in report and "multinomial / ovr" in report


def test_readme_results_are_the_committed_suite_run(monkeypatch):
    """The README shows the committed run's numbers, as run_suite.py wrote them."""
    monkeypatch.syspath_prepend(str(SUITE.parent))
    run_suite = importlib.import_module("run_suite")
    results = json.loads((COMMITTED / "suite.json").read_text())
    assert not results["quick"]
    assert results["command"].endswith("--out docs/benchmarks --readme README.md")
    # suite.md and suite.json are one run's output
    provenance = run_suite.provenance(results, results["quick"])
    assert provenance in (COMMITTED / "suite.md").read_text()
    readme = (ROOT / "README.md").read_text()
    assert run_suite.readme_block(results, "docs/benchmarks/suite.md") in readme


def test_readme_memory_table_is_the_committed_run():
    """The README quotes bench_memory.py's committed table row for row."""
    rows = [
        line
        for line in (COMMITTED / "memory.md").read_text().splitlines()
        if line.startswith("|")
    ]
    assert len(rows) == 5
    readme = (ROOT / "README.md").read_text()
    assert all(row in readme for row in rows)


def test_committed_reports_are_their_results_rendered(monkeypatch, tmp_path):
    """suite.md, cuda.md and the study's results.md are what their generators
    write from the committed JSON: a change to a report's layout is
    regenerated (``--from-json``/``--report``), never edited by hand."""
    monkeypatch.syspath_prepend(str(SUITE.parent))
    run_suite = importlib.import_module("run_suite")
    bench_cuda = importlib.import_module("bench_cuda")
    study_report = importlib.import_module("study.report")
    order_study = importlib.import_module("order_study")

    suite = json.loads((COMMITTED / "suite.json").read_text())
    assert (COMMITTED / "suite.md").read_text() == run_suite.report(suite)

    gpu = COMMITTED / "gpu"
    cuda = json.loads((gpu / "cuda.json").read_text())
    rendered = bench_cuda.markdown(cuda, gpu / "cuda_tests.log")
    assert (gpu / "cuda.md").read_text() == rendered + "\n"
    # one line per distinct kernel resource use, not one per signature
    assert rendered.count("registers per thread") == 1

    study = ROOT / "docs" / "study"
    results = json.loads((study / "results.json").read_text(encoding="utf-8"))
    figures = order_study.figures_in(study, results)
    assert len(figures) == 5
    study_report.write_markdown(results, figures, tmp_path / "results.md")
    assert (tmp_path / "results.md").read_text(encoding="utf-8") == (
        study / "results.md"
    ).read_text(encoding="utf-8")
