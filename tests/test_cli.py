"""The command-line main job, end to end, as a user runs it."""

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
from sklearn.datasets import dump_svmlight_file, make_classification, make_regression

from sklearn_order import _cache, cli
from sklearn_order._cache import COMPILE_NOTICE, announce_compile

FAST = ["--seeds", "2", "--max-iter", "16", "--quiet"]


def _run(args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "sklearn_order", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )


def _table_rows(stdout):
    return [line for line in stdout.splitlines() if line.startswith("| ")][1:]


def _check_outputs(result, out, seeds=2):
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # no progress bar off a terminal, no warnings
    assert (out / "compare.png").stat().st_size > 10_000
    results = json.loads((out / "compare.json").read_text())
    rows = _table_rows(result.stdout)
    assert len(rows) == len(results["configurations"])
    for row, config in zip(rows, results["configurations"]):
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        assert cells[0] == config["label"]
        mean, std = (float(v) for v in cells[1].split("±"))
        assert mean == pytest.approx(config["test_score_mean"], abs=5e-5)
        assert std == pytest.approx(config["test_score_std"], abs=5e-5)
        assert float(cells[3]) == pytest.approx(config["jitter_mean"], rel=1e-2)
        assert len(config["runs"]) == seeds
        assert np.all(np.isfinite(config["objective_per_epoch"]))
    assert (out / "compare.md").read_text().strip() == "\n".join(
        result.stdout.split("\n\n")[1].splitlines()
    ).strip()
    return results


def test_svmlight_classification(tmp_path):
    X, y = make_classification(n_samples=120, n_features=5, random_state=0)
    dump_svmlight_file(X, y, str(tmp_path / "data.svm"))
    out = tmp_path / "out"
    result = _run(["compare", "--data", "data.svm", "--out", "out", *FAST], tmp_path)
    results = _check_outputs(result, out)
    assert results["task"] == "classification"
    labels = [c["label"] for c in results["configurations"]]
    assert labels == [
        "forward/reshuffle",
        "backward/reshuffle",
        "forward+average/reshuffle",
    ]
    # the backward iterate stops moving; the forward one does not
    forward, backward, averaged = results["configurations"]
    assert backward["jitter_mean"] < forward["jitter_mean"]
    assert averaged["jitter_mean"] < forward["jitter_mean"]


def test_csv_regression_with_chosen_configurations(tmp_path):
    X, y = make_regression(n_samples=100, n_features=3, noise=1.0, random_state=0)
    lines = ["a,b,c,price"] + [",".join(map(str, [*row, t])) for row, t in zip(X, y)]
    (tmp_path / "houses.csv").write_text("\n".join(lines) + "\n")
    result = _run(
        [
            "compare",
            "--data",
            "houses.csv",
            "--target",
            "price",
            "--configs",
            "forward:cyclic,backward:flipflop,backward:grab",
            "--out",
            "out",
            *FAST,
        ],
        tmp_path,
    )
    results = _check_outputs(result, tmp_path / "out")
    assert results["task"] == "regression"
    assert results["n_features"] == 3
    assert [c["label"] for c in results["configurations"]] == [
        "forward/cyclic",
        "backward/flipflop",
        "backward/grab",
    ]


def test_default_run_needs_no_arguments(tmp_path):
    result = _run([], tmp_path)
    _check_outputs(result, tmp_path / "sklearn_order_compare", seeds=5)
    assert "breast cancer" in result.stdout


@pytest.mark.parametrize(
    "args, files, message",
    [
        (["--data", "missing.csv"], {}, "no such file: missing.csv"),
        (["--data", "bad.svm"], {"bad.svm": "this is not\nsvmlight\n"}, "cannot read"),
        (
            ["--data", "d.csv", "--target", "nope"],
            {"d.csv": "x,y\n1,2\n3,4\n"},
            "no column 'nope'",
        ),
        (["--data", "d.csv"], {"d.csv": "x,y\n1,2\n"}, "needs --target"),
        (
            ["--data", "empty.csv", "--target", "y"],
            {"empty.csv": "x,y\n"},
            "holds no rows",
        ),
        (
            ["--data", "d.csv", "--target", "y"],
            {"d.csv": "x,y\nfoo,1\nbar,0\n"},
            "column 'x'",
        ),
        (["--configs", "sideways:reshuffle"], {}, "unknown order 'sideways'"),
        (["--seeds", "0"], {}, "--seeds must be at least 1"),
    ],
)
def test_bad_input_is_one_clear_line_and_a_non_zero_exit(
    tmp_path, args, files, message
):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    result = _run(["compare", *args, "--quiet"], tmp_path)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert message in result.stderr


def test_console_script_is_installed():
    script = shutil.which("sklearn-order")
    if script is None:
        pytest.skip("the package was not installed with its console script")
    result = subprocess.run([script, "--version"], capture_output=True, text=True)
    assert result.returncode == 0
    assert result.stdout.startswith("sklearn-order ")


@pytest.mark.parametrize(
    "terminal, quiet, shown", [(True, False, 1), (True, True, 0), (False, False, 0)]
)
def test_a_first_compile_is_announced_once_with_the_progress(
    tmp_path, monkeypatch, capsys, caplog, terminal, quiet, shown
):
    def compiling_compare(*args):
        # what a cold cache does: every kernel compiled announces it
        announce_compile()
        announce_compile()
        raise cli.CommandError("stopped after compiling")

    monkeypatch.setattr(_cache, "_reported", set())  # nothing announced yet
    monkeypatch.setattr(cli, "compare", compiling_compare)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: terminal)
    status = cli.main(["compare", "--out", str(tmp_path)] + ["--quiet"] * quiet)
    assert status == 2
    stderr = capsys.readouterr().err
    assert stderr.count(COMPILE_NOTICE) == shown, stderr
    assert "stopped after compiling" in stderr
    assert not caplog.records  # shown like the progress bar, or not at all
