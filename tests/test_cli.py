"""The command-line main job, end to end, as a user runs it."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.datasets import dump_svmlight_file, make_classification, make_regression

from sklearn_order import _cache, cli
from sklearn_order._cache import COMPILE_NOTICE, announce_compile
from sklearn_order.orders import doubling_schedule
from sklearn_order.sampling import SAMPLINGS

FAST = ["--seeds", "2", "--max-iter", "16", "--quiet"]


# the subprocesses import the sklearn_order under test, installed or not
ENV = {
    **os.environ,
    "PYTHONPATH": os.pathsep.join(
        [str(Path(cli.__file__).parents[1]), os.environ.get("PYTHONPATH", "")]
    ),
}


def _run(args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "sklearn_order", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=ENV,
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
        assert np.all(np.isfinite(config["objective"]))
    # compare.md is the printed report (run, table and notes), before the
    # list of files written
    printed = result.stdout.rsplit("\n\nwrote ", 1)[0]
    assert (out / "compare.md").read_text().strip() == printed.strip()
    assert f"run {results['date']} on {results['machine']}" in printed
    assert "doubling test's last evaluated epoch count" in printed
    for row, config in zip(rows, results["configurations"]):
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        assert float(cells[6].replace(",", "")) == pytest.approx(
            config["maps_applied_mean"], abs=0.5
        )
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


def _wide_svmlight(path, n_samples, n_features, per_row=10):
    """A LIBSVM file of ``per_row`` random features per row, the last one used."""
    from scipy import sparse

    rng = np.random.default_rng(0)
    columns = rng.integers(0, n_features, size=(n_samples, per_row))
    columns[0, 0] = n_features - 1
    columns[1, 0] = 0  # read as zero-based, as written
    X = sparse.csr_matrix(
        (
            rng.normal(size=n_samples * per_row),
            columns.ravel(),
            np.arange(0, n_samples * per_row + 1, per_row),
        ),
        shape=(n_samples, n_features),
    )
    y = (X @ rng.normal(size=n_features) > 0).astype(int)
    dump_svmlight_file(X, y, str(path))


def test_a_file_of_two_million_features_runs_end_to_end(tmp_path, monkeypatch, capsys):
    # news20 has 1.35 M features: no fixed width limit, a memory estimate
    _wide_svmlight(tmp_path / "wide.svm", 10_000, 2_000_000)
    run = ["--data", "wide.svm", "--configs", "backward:reshuffle", "--max-iter", "3"]
    # refused only beyond the memory available, with the estimate and the flag
    estimate = cli.memory_estimate(
        *cli.load_data(str(tmp_path / "wide.svm"), "auto", None, None)[:3],
        cli.build_parser().parse_args(["compare", *run, "--seeds", "50"]),
    )
    monkeypatch.setattr(cli, "_available_memory", lambda: sum(estimate.values()) - 1)
    code, out, err = _main(
        ["compare", *run, "--seeds", "50", "--quiet"], tmp_path, monkeypatch, capsys
    )
    assert code == 2 and out == ""
    assert "the run needs about" in err and "lower --seeds" in err
    assert "2,000,001 numbers" in err  # each kept θ
    # with what this machine has, and two seeds, it runs
    result = _run(
        ["compare", *run, "--seeds", "2", "--quiet", "--out", "out", "--save-theta"],
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    results = json.loads((tmp_path / "out" / "compare.json").read_text())
    assert results["n_features"] == 2_000_000
    # compare.json holds summaries of θ, not θ: a few kB whatever the width
    assert (tmp_path / "out" / "compare.json").stat().st_size < 50_000
    (config,) = results["configurations"]
    assert len(config["step_norms"]) == len(config["step_norm_steps"])
    assert np.isfinite(config["step_norms"]).all()
    thetas = np.load(tmp_path / "out" / "compare_theta.npz")
    assert thetas.files == ["backward:reshuffle"]
    theta = thetas["backward:reshuffle"]
    assert theta.shape == (2, 2_000_001)
    norms = [run["theta_norm"] for run in config["runs"]]
    assert_allclose(np.linalg.norm(theta, axis=1), norms)
    assert [run["theta_nonzero"] for run in config["runs"]] == [
        np.count_nonzero(t) for t in theta
    ]
    assert (tmp_path / "out" / "compare.png").stat().st_size > 10_000


def test_theta_is_written_only_on_request(tmp_path):
    result = _run(["compare", "--out", "out", *FAST], tmp_path)
    results = _check_outputs(result, tmp_path / "out")
    assert not (tmp_path / "out" / "compare_theta.npz").exists()
    for config in results["configurations"]:
        for run in config["runs"]:
            assert "theta" not in run
            assert run["theta_norm"] > 0


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


def _main(args, cwd, monkeypatch, capsys):
    """Run the command line in this process: (exit code, stdout, stderr)."""
    monkeypatch.chdir(cwd)
    try:
        code = cli.main(args)
    except SystemExit as stop:  # argparse's usage errors and --help
        code = stop.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _csv_case(text, message, target="y"):
    """A bad-input case: a CSV file d.csv with ``text``, and the message."""
    return ["--data", "d.csv", "--target", target], {"d.csv": text}, message


BLANK_TARGET = "a,b,price\n1,2,3.5\n2,3,\n3,4,5.25\n4,5,1.5\n"
# two rows per class (a stratified split), one feature index far out
HUGE_INDEX = f"1 1:0.5 3:1\n0 2:1 {2**40}:1\n1 1:1\n0 2:0.5\n"
WIDE_INDEX = "1 1:0.5 3:1\n0 2:1 300000000:1\n1 1:1\n0 2:0.5\n"
#: Memory the bad-input tests see as available (the refusals of too wide a
#: file then do not depend on the machine's).
AVAILABLE = 16 * 2**30


@pytest.mark.parametrize(
    "args, files, message",
    [
        (["--data", "missing.csv"], {}, "--data missing.csv: no such file"),
        (["--data", "folder"], {"folder/x.csv": "x,y\n1,2\n"}, "is a folder"),
        (["--data", "bad.svm"], {"bad.svm": "this is not\nsvmlight\n"}, "cannot read"),
        _csv_case(
            "x,y\n1,2\n3,4\n",
            "no column 'nope' for --target",
            target="nope",
        ),
        (["--data", "d.csv"], {"d.csv": "x,y\n1,2\n"}, "needs --target"),
        (["--data", "e.csv", "--target", "y"], {"e.csv": "x,y\n"}, "holds no rows"),
        (["--data", "e.csv", "--target", "y"], {"e.csv": ""}, "e.csv is empty"),
        _csv_case(
            "x,y\nfoo,1\nbar,0\n",
            "column 'x' is not numeric (data row 1 holds 'foo')",
        ),
        # a blank target cell: refused, not read as class labels
        _csv_case(
            BLANK_TARGET,
            "1 missing cells (blank or NaN) in 1 rows, the first in column "
            "'price' of data row 2; fill them, or pass --dropna",
            target="price",
        ),
        _csv_case(
            "age,y\n30,1\n,0\n41,1\n,0\n",
            "2 missing cells (blank or NaN) in 2 rows, the first in column 'age' "
            "of data row 2",
        ),
        _csv_case(
            "age,y\n30,1\nNaN,0\n41,1\n",
            "1 missing cells (blank or NaN) in 1 rows, the first in column 'age'",
        ),
        _csv_case(
            "age,y\n30,1\ninf,0\n41,1\n",
            "column 'age' holds an infinite value in data row 2",
        ),
        _csv_case(
            "y,x,x\n1,2,3\n0,3,4\n",
            "names column 'x' more than once (columns 2, 3)",
        ),
        _csv_case(
            "y,,x\n1,2,3\n0,3,4\n",
            "column 2 of the header has no name",
        ),
        _csv_case(
            "x,y\n1,2,3\n4,5,6\n",
            "some rows hold more cells than the header names (2)",
        ),
        (
            ["--data", "huge.svm"],
            {"huge.svm": HUGE_INDEX},
            f"line 2 holds feature index {2**40}, too large for the LIBSVM reader",
        ),
        (
            ["--data", "wide.svm"],
            {"wide.svm": WIDE_INDEX},
            "more than the 16 GiB available; lower --seeds or --configs",
        ),
        (
            ["--data", "d.csv", "--target", "y", "--task", "classification"],
            {"d.csv": "x,y\n1,a\n2,a\n3,b\n"},
            "class 'b' of the target has a single row",
        ),
        (["--batch-size", "0"], {}, "argument --batch-size: must be an integer >= 1"),
        (
            ["--eta0", "-0.1"],
            {},
            "argument --eta0: must be a number > 0 or 'auto', got '-0.1'",
        ),
        (
            ["--eta0", "0"],
            {},
            "argument --eta0: must be a number > 0 or 'auto', got '0'",
        ),
        (
            ["--eta0", "fast"],
            {},
            "argument --eta0: must be a number > 0 or 'auto', got 'fast'",
        ),
        (["--alpha", "-1"], {}, "argument --alpha: must be a number >= 0"),
        (["--tol", "0"], {}, "argument --tol: must be a number > 0"),
        (["--max-iter", "0"], {}, "argument --max-iter: must be an integer >= 1"),
        (["--seeds", "0"], {}, "argument --seeds: must be an integer >= 1"),
        (["--test-size", "1.5"], {}, "argument --test-size: must be a fraction"),
        (["--configs", "sideways:reshuffle"], {}, "unknown order 'sideways'"),
        (["--configs", "forward:sideways"], {}, "unknown sampling 'sideways'"),
        (["--out", "taken"], {"taken": "a file"}, "--out taken: cannot write there"),
    ],
)
def test_bad_input_is_one_clear_line_and_exit_code_2(
    tmp_path, monkeypatch, capsys, args, files, message
):
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    monkeypatch.setattr(cli, "_available_memory", lambda: AVAILABLE)
    code, out, err = _main(["compare", *args, "--quiet"], tmp_path, monkeypatch, capsys)
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("sklearn-order: error: ")
    assert message in lines[0]


def test_bad_input_from_the_shell_is_one_line_without_traceback(tmp_path):
    result = _run(["compare", "--batch-size", "0"], tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "sklearn-order: error: argument --batch-size: must be an integer >= 1, "
        "got '0'; for example 8 (see sklearn-order compare --help)"
    ]


def _unwritable_folder(tmp_path):
    folder = tmp_path / "read_only"
    folder.mkdir()
    folder.chmod(0o555)
    if os.access(folder, os.W_OK):  # root writes anyway: take a folder it cannot
        folder = Path("/sys")
        try:
            (folder / "sklearn_order_probe").touch()
        except OSError:
            return folder
        pytest.skip("no folder here is read-only to this user")
    return folder


def test_read_only_out_folder_is_refused_before_the_run(tmp_path, monkeypatch, capsys):
    folder = _unwritable_folder(tmp_path)
    start = time.perf_counter()
    code, out, err = _main(
        ["compare", "--out", str(folder), "--quiet"], tmp_path, monkeypatch, capsys
    )
    assert code == 2
    assert out == ""  # refused before any fit
    assert err.strip().splitlines() == [
        f"sklearn-order: error: --out {folder}: cannot write there "
        "(Permission denied); choose another folder"
    ]
    assert time.perf_counter() - start < 5


def _compare_csv(lines, target, args, cwd, monkeypatch, capsys, encoding="utf-8"):
    """Write ``lines`` to d.csv, run a short comparison: (results, stdout)."""
    (cwd / "d.csv").write_text("\n".join(lines) + "\n", encoding=encoding)
    code, out, err = _main(
        ["--data", "d.csv", "--target", target, *args, "--out", "o", *FAST],
        cwd,
        monkeypatch,
        capsys,
    )
    assert code == 0, err
    return json.loads((cwd / "o" / "compare.json").read_text()), out


def test_missing_values_can_be_dropped(tmp_path, monkeypatch, capsys):
    X, y = make_regression(n_samples=60, n_features=2, noise=1.0, random_state=0)
    lines = ["a,b,price"] + [f"{a},{b},{t}" for (a, b), t in zip(X, y)]
    lines[5] = "," + lines[5].split(",", 1)[1]  # a blank feature
    lines[9] = lines[9].rsplit(",", 1)[0] + ",NaN"  # NaN target
    results, out = _compare_csv(
        lines, "price", ["--dropna"], tmp_path, monkeypatch, capsys
    )
    assert results["task"] == "regression"
    assert results["n_train"] + results["n_test"] == 58
    assert "(2 rows with missing cells dropped)" in out


def test_byte_order_mark_and_label_target(tmp_path, monkeypatch, capsys):
    X, y = make_classification(
        n_samples=80, n_features=3, n_informative=2, n_redundant=0, random_state=0
    )
    names = np.array(["cat", "dog"])[y]
    lines = ["kind,a,b,c"] + [f"{n},{a},{b},{c}" for n, (a, b, c) in zip(names, X)]
    results, _ = _compare_csv(
        lines, "kind", [], tmp_path, monkeypatch, capsys, encoding="utf-8-sig"
    )
    assert results["task"] == "classification"
    assert results["n_features"] == 3


def _write_regression_csv(path):
    """80 rows of 3 features and a target column ``t``."""
    X, y = make_regression(n_samples=80, n_features=3, noise=1.0, random_state=0)
    lines = ["a,b,c,t"] + [",".join(map(str, [*row, t])) for row, t in zip(X, y)]
    path.write_text("\n".join(lines) + "\n")


def test_divergence_is_one_line_naming_the_step_flag(tmp_path, monkeypatch, capsys):
    _write_regression_csv(tmp_path / "d.csv")
    code, out, err = _main(
        ["--data", "d.csv", "--target", "t", "--eta0", "50", *FAST],
        tmp_path,
        monkeypatch,
        capsys,
    )
    assert code == 1
    assert out == ""
    assert err.strip().splitlines() == [
        "sklearn-order: error: SGD diverged with --eta0 50.0: lower --eta0 "
        "(or raise --alpha), or use --eta0 auto"
    ]


def test_eta0_auto_is_accepted_and_the_help_says_why_the_default_differs(
    tmp_path, monkeypatch, capsys
):
    """The library's default step is a valid ``--eta0`` (before: refused as
    "must be a number > 0, got 'auto'")."""
    _write_regression_csv(tmp_path / "d.csv")
    code, out, err = _main(
        ["--data", "d.csv", "--target", "t", "--eta0", "auto", *FAST],
        tmp_path,
        monkeypatch,
        capsys,
    )
    assert code == 0, err
    results = json.loads(
        (tmp_path / "sklearn_order_compare" / "compare.json").read_text()
    )
    assert results["parameters"]["eta0"] == "auto"
    code, out, _ = _main(["compare", "--help"], tmp_path, monkeypatch, capsys)
    assert code == 0
    help_text = " ".join(out.split())
    assert "constant step size, or 'auto'" in help_text
    assert "The default here is a fixed 0.05, so that every configuration" in help_text


def test_a_weight_decay_error_is_not_reported_as_a_step_to_lower_or_alpha_to_raise(
    tmp_path, monkeypatch, capsys
):
    """``eta0 · alpha ≥ 1`` is a DivergenceError now; raising --alpha would
    not help, so the command prints the library's own message."""
    _write_regression_csv(tmp_path / "d.csv")
    code, out, err = _main(
        ["--data", "d.csv", "--target", "t", "--eta0", "2", "--alpha", "1", *FAST],
        tmp_path,
        monkeypatch,
        capsys,
    )
    assert code == 1
    assert "eta0 * alpha * (1 - l1_ratio) = 2 >= 1" in err
    assert "raise --alpha" not in err


def test_help_lists_the_choices_in_plain_text(monkeypatch, capsys, tmp_path):
    code, out, _ = _main(["compare", "--help"], tmp_path, monkeypatch, capsys)
    assert code == 0
    assert "`" not in out
    for name in [*SAMPLINGS, "forward+average", "backward", "compare.md", "--dropna"]:
        assert name in out
    assert "Missing values (blank or NaN cells) are refused" in out


def test_fit_times_compare_configurations_not_listing_order(tmp_path):
    # forward listed first used to pay the kernels' compilation or loading;
    # backward applies ~70 times its maps here, so it must take longer
    result = _run(
        [
            "--configs",
            "forward:reshuffle,backward:reshuffle",
            "--seeds",
            "3",
            "--out",
            "out",
            "--quiet",
        ],
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    results = json.loads((tmp_path / "out" / "compare.json").read_text())
    forward, backward = results["configurations"]
    assert forward["fit_seconds_mean"] < backward["fit_seconds_mean"]
    m = results["maps_per_epoch"]
    for run in forward["runs"]:
        assert run["maps_applied"] == run["n_iter"] * m
    for run in backward["runs"]:  # converged at a doubled count: 1 + 2 + … + n
        assert run["n_iter"] in doubling_schedule(1000)
        assert run["maps_applied"] == (2 * run["n_iter"] - 1) * m


def _large_csv(path, n_samples):
    X, y = make_classification(
        n_samples=n_samples, n_features=10, n_informative=6, random_state=0
    )
    data = np.column_stack([X, y])
    header = ",".join([*(f"x{j}" for j in range(10)), "label"])
    np.savetxt(path, data, fmt="%.6g", delimiter=",", header=header, comments="")


def test_large_file_costs_a_bounded_multiple_of_its_fits(tmp_path):
    # the jitter and the curves once replayed every backward iterate: O(K²)
    # maps, hundreds of times the fits on a file like this one
    _large_csv(tmp_path / "large.csv", 60_000)
    result = _run(
        ["--data", "large.csv", "--target", "label", "--seeds", "2", "--out", "out"],
        tmp_path,
    )
    results = _check_outputs(result, tmp_path / "out")
    runs = [run for c in results["configurations"] for run in c["runs"]]
    fits = sum(run["fit_seconds"] for run in runs)
    diagnostics = results["run_seconds"] - results["warm_up_seconds"] - fits
    assert diagnostics < 15 * fits


@pytest.mark.parametrize("delay", [0.5, 4.0])
def test_ctrl_c_stops_the_run_within_a_second(tmp_path, delay):
    _large_csv(tmp_path / "large.csv", 60_000)
    # 100,000 seeds: hours of fits on any machine, so the signal always finds
    # the run under way (a run sized by time ended before it on a fast one)
    process = subprocess.Popen(
        [sys.executable, "-m", "sklearn_order", "compare", "--data", "large.csv"]
        + ["--target", "label", "--seeds", "100000", "--out", "out", "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=ENV,
    )
    while not (tmp_path / "out").is_dir():  # made once the command starts
        assert process.poll() is None
        time.sleep(0.02)
    time.sleep(delay)
    assert process.poll() is None, "the run ended before the interruption"
    process.send_signal(signal.SIGINT)
    start = time.perf_counter()
    _, err = process.communicate(timeout=30)
    assert time.perf_counter() - start < 1.0
    assert process.returncode == 130
    assert err.strip().splitlines() == ["sklearn-order: interrupted"]


def test_console_script_is_installed():
    script = shutil.which("sklearn-order")
    if script is None:
        pytest.skip("the package was not installed with its console script")
    result = subprocess.run(
        [script, "--version"], capture_output=True, text=True, env=ENV
    )
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
