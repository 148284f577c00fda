"""Smoke test of the iteration-order study (``benchmarks/order_study.py --quick``)."""

import json
import math
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "order_study.py"
METHODS = ("forward", "backward", "forward_averaged", "forward_invscaling")
METRICS = ("distance", "jitter", "epoch_move", "score")


def _finite(value):
    return isinstance(value, int | float) and math.isfinite(value)


def test_quick_study_writes_its_outputs(tmp_path):
    completed = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert (tmp_path / "results.md").is_file()
    assert (tmp_path / "results.json").is_file()
    assert list(tmp_path.glob("*.png"))

    results = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    problems = results["problems"]
    assert {entry["kind"] for entry in problems.values()} == {"ridge", "logistic"}
    for name, entry in problems.items():
        assert entry["optimum_gradient_norm"] < 1e-8, name
        assert set(entry["methods"]) == set(METHODS), name
        for method, cells in entry["methods"].items():
            assert [c["eta0"] for c in cells] == entry["eta_grid"]
            for cell in cells:
                where = f"{name} {method} eta0={cell['eta0']}"
                assert 0 <= cell["n_diverged"] <= cell["n_seeds"], where
                for metric in METRICS:
                    if cell["n_diverged"] < cell["n_seeds"]:
                        assert _finite(cell[metric]["mean"]), where
                        assert _finite(cell[metric]["std"]), where
                    else:
                        assert cell[metric]["mean"] is None, where
                    for value, stats in zip(
                        cell["per_seed"][metric], cell["per_seed"]["distance"]
                    ):
                        assert (value is None) == (stats is None), where
                        assert value is None or _finite(value), where
    # The smoke configuration reaches past the ridge stability edge.
    ridge = [e for e in problems.values() if e["kind"] == "ridge"]
    assert any(c["n_diverged"] for e in ridge for c in e["methods"]["forward"])
    assert "## Summary" in (tmp_path / "results.md").read_text(encoding="utf-8")
