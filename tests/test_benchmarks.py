"""The benchmark suite runs end to end (quick mode, as a smoke test)."""

import json
import subprocess
import sys
from pathlib import Path

SUITE = Path(__file__).parents[1] / "benchmarks" / "run_suite.py"


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
    assert len(results["sparse"]["rows"]) == 5
    for row in results["sparse"]["rows"] + results["multiclass"]:
        assert row["ratio"] > 0
    assert (tmp_path / "suite_scaling.png").stat().st_size > 10_000
    report = (tmp_path / "suite.md").read_text()
    assert "ours / sklearn" in report and "affine" in report
    assert "replay / coupling" in report
    assert "Sparse CSR" in report and "multinomial / ovr" in report
