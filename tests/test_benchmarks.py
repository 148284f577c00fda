"""The benchmark suite runs end to end (quick mode, as a smoke test), and the
README's results are those of the committed run."""

import importlib
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import sparse

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


# --------------------------------------------------------------------------
# The harness (benchmarks/_harness.py)
# --------------------------------------------------------------------------

BENCHMARKS = ROOT / "benchmarks"


@pytest.fixture
def harness(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    return importlib.import_module("_harness")


class FakeClock:
    """A ``time.perf_counter`` that advances only when a fake fit says so."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_paired_alternates_and_takes_the_median_of_the_ratios(harness, monkeypatch):
    clock, calls = FakeClock(), []
    monkeypatch.setattr(harness.time, "perf_counter", clock)
    # per round, "a" takes 2, 4, 6 s and "b" 1, 1, 4 s: ratios 2, 4, 1.5
    durations = {"a": iter([2.0, 4.0, 6.0]), "b": iter([1.0, 1.0, 4.0])}

    def run(label):
        calls.append(label)
        clock.now += next(durations[label])

    times = harness.paired({"a": lambda: run("a"), "b": lambda: run("b")}, 3)
    assert calls == ["a", "b"] * 3
    assert list(times["a"]) == [2.0, 4.0, 6.0] and list(times["b"]) == [1.0, 1.0, 4.0]
    assert harness.median_ratio(times["a"], times["b"]) == 2.0


def test_per_epoch_is_the_difference_of_two_fits(harness, monkeypatch):
    clock, fits = FakeClock(), []
    monkeypatch.setattr(harness.time, "perf_counter", clock)

    def fit(label, fixed, epoch):
        def run(max_iter):
            fits.append((label, max_iter))
            clock.now += fixed + epoch * max_iter
            return max_iter

        return run

    epoch, fixed = harness.per_epoch(fit("x", 0.5, 0.25), epochs=5)
    assert (epoch, fixed) == (0.25, 0.5)
    fits.clear()
    samples = harness.paired_per_epoch(
        {"ours": fit("ours", 0.5, 0.25), "theirs": fit("theirs", 1.0, 0.5)},
        epochs=3,
        repeats=2,
    )
    # each round: both short fits, then both long fits
    assert fits == [("ours", 1), ("theirs", 1), ("ours", 3), ("theirs", 3)] * 2
    for label, fixed, epoch in (("ours", 0.5, 0.25), ("theirs", 1.0, 0.5)):
        for sample in samples[label]:
            assert sample["epoch"] == pytest.approx(epoch)
            assert sample["fixed"] == pytest.approx(fixed)
            assert sample["short"] == pytest.approx(fixed + epoch)
            assert sample["result"] == 3
    with pytest.raises(ValueError, match="must exceed"):
        harness.per_epoch(fit("x", 0, 0), epochs=1)


def test_per_epoch_reads_the_clock_it_is_given(harness, monkeypatch):
    wall, cpu = FakeClock(), FakeClock()
    monkeypatch.setattr(harness.time, "perf_counter", wall)
    monkeypatch.setattr(harness.time, "process_time", cpu)

    def fit(max_iter):  # waits for its core as long as it runs
        cpu.now += 0.5 + 0.25 * max_iter
        wall.now += 2 * (0.5 + 0.25 * max_iter)

    for clock, epoch in (("wall", 0.5), ("cpu", 0.25)):
        (sample,) = harness.paired_per_epoch({"f": fit}, 3, 1, clock=clock)["f"]
        assert sample["epoch"] == pytest.approx(epoch)


def test_ab_schedule_is_a_seeded_shuffle(harness):
    schedule = harness.ab_schedule(harness.SIDES, 7, seed=0)
    assert sorted(schedule) == sorted(list(harness.SIDES) * 7)
    assert schedule == harness.ab_schedule(harness.SIDES, 7, seed=0)
    assert schedule != harness.ab_schedule(harness.SIDES, 7, seed=1)
    # shuffled, not run side after side
    assert schedule != [side for side in harness.SIDES for _ in range(7)]


def test_ab_schedule_runs_every_side_once_per_block(harness):
    sides = list(harness.SIDES)
    schedule = harness.ab_schedule(sides, 7, seed=0)
    blocks = [schedule[k : k + len(sides)] for k in range(0, len(schedule), 3)]
    assert len(blocks) == 7 and all(sorted(b) == sorted(sides) for b in blocks)
    assert len({tuple(b) for b in blocks}) > 1  # each block shuffled anew


def test_ab_summary_compares_the_sides_block_by_block(harness):
    # a machine whose speed changes from block to block by up to 30%: the
    # paired ratios see through it, a ratio of unpaired medians would not
    rng = np.random.default_rng(1)
    speed = 1.0 + 0.3 * rng.random(9)
    samples = {
        "A": [{"case": s} for s in speed],
        "A'": [{"case": s * (1 + 0.002 * rng.standard_normal())} for s in speed],
        "B": [{"case": 1.03 * s} for s in speed],
    }
    (row,) = harness.ab_summary(samples)
    assert row["B/A low"] == pytest.approx(1.03) == row["B/A high"]
    assert row["A'/A spread"] < 0.005


def test_reference_epochs_is_a_stable_loop_over_dense_and_csr_rows(harness):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 4))
    for data in (X, X.astype(np.float32), sparse.csr_matrix(X * (X > 0))):
        run = harness.reference_epochs(data)
        once = run(1).copy()
        assert np.all(np.isfinite(once)) and np.any(once != 0.0)
        assert np.all(np.isfinite(run(200)))  # steps below 2 / ‖x‖²: no blow-up
        assert not np.array_equal(run(1), once)


def test_ab_summary_reports_the_aa_control_beside_the_ab(harness):
    rng = np.random.default_rng(0)
    a = 1.0 + 0.01 * rng.standard_normal(7)
    samples = {
        "A": [{"case": t} for t in a],
        "A'": [{"case": t} for t in 1.0 + 0.01 * rng.standard_normal(7)],
        "B": [{"case": t} for t in 1.2 * (1.0 + 0.01 * rng.standard_normal(7))],
    }
    (row,) = harness.ab_summary(samples)
    assert row["case"] == "case" and row["processes"] == 7
    assert row["A"] == pytest.approx(np.median(a))
    assert 1.15 < row["B/A low"] <= row["B/A"] <= row["B/A high"] < 1.25
    assert 0.97 < row["A'/A low"] <= row["A'/A"] <= row["A'/A high"] < 1.03
    assert row["A'/A spread"] < 0.03
    assert harness.ab_summary(samples) == [row]  # seeded bootstrap
    table = harness.ab_table([row])
    assert "A′ ÷ A" in table and f"**{row['B/A']:.3f}**" in table


def test_stamp_says_when_where_how_and_which_commit(harness):
    run = harness.stamp("python benchmarks/x.py --quick")
    assert run["command"] == "python benchmarks/x.py --quick"
    assert run["date"].endswith("UTC") and len(run["load"].split()) == 3
    assert run["commit"] != "unknown" and run["machine"]["cores"] >= 1
    line = harness.provenance(run, quick=True)
    assert line.endswith(
        f"quick run of `{run['command']}` at commit `{run['commit']}`."
    )


def test_write_results_writes_the_report_and_its_numbers_beside_it(harness, tmp_path):
    data = {"n": np.int64(3), "x": np.float32(0.5), "bad": float("nan"), "a": (1, 2)}
    written = harness.write_results("# Title", data, tmp_path / "sub" / "r.md")
    assert written == [tmp_path / "sub" / "r.md", tmp_path / "sub" / "r.json"]
    assert (tmp_path / "sub" / "r.md").read_text() == "# Title\n"
    loaded = json.loads((tmp_path / "sub" / "r.json").read_text())
    assert loaded == {"n": 3, "x": 0.5, "bad": None, "a": [1, 2]}
    assert harness.write_results(None, data) == []


# where the child's ``import sklearn_order`` would come from (not imported: fast)
CHILD = """
import importlib.util, json, sys
package = sys.argv[1] if len(sys.argv) > 1 and sys.argv[1] != "--prime" else None
package = package or importlib.util.find_spec("sklearn_order").origin
print(json.dumps({"package": package, "times": {"c": 1.0}}))
"""


def test_ab_run_measures_each_side_in_fresh_processes_of_its_own_copy(
    harness, tmp_path
):
    child = tmp_path / "child.py"
    child.write_text(CHILD)
    log = []
    samples = harness.ab_run(
        child, [], {"A": "HEAD", "A'": "HEAD", "B": harness.WORKTREE}, 2, log=log.append
    )
    assert {side: len(times) for side, times in samples.items()} == {
        "A": 2,
        "A'": 2,
        "B": 2,
    }
    assert sum("compiling side" in line for line in log) == 3
    assert [line.split("side ")[1][:2].rstrip(":") for line in log[3:]] == [
        side for side in harness.ab_schedule(list(samples), 2, seed=0)
    ]
    # a child that imported another package than its side's copy is refused
    with pytest.raises(RuntimeError, match="imported"):
        harness.ab_run(child, [str(ROOT / "x.py")], {"A": harness.WORKTREE}, 1)


def test_every_script_takes_its_clock_and_provenance_from_the_harness():
    scripts = sorted(BENCHMARKS.glob("*.py")) + sorted(BENCHMARKS.glob("study/*.py"))
    # the harness's jobs: clocks, machine, date, provenance, result files
    banned = re.compile(
        r"perf_counter|process_time|platform\.|datetime|"
        r"provenance import|run_metadata|json\.dumps\(.*indent"
    )
    for script in scripts:
        if script.name in ("_harness.py", "__init__.py", "_data.py"):
            continue
        text = script.read_text(encoding="utf-8")
        assert not banned.findall(text), f"{script.name}: {banned.findall(text)}"
        if script.parent == BENCHMARKS:  # the commands (study/ is a library)
            assert "import _harness" in text, f"{script.name} has no harness"


def test_kernel_ab_report_has_both_measures_and_renders_again(harness, tmp_path):
    bench = importlib.import_module("bench_kernel_ab")
    samples = {
        side: [{"c": t, "c" + bench.RELATIVE: t / 2} for t in (1.0, 1.1, 0.9)]
        for side in harness.SIDES
    }
    meta = harness.stamp("python benchmarks/bench_kernel_ab.py")
    meta.update(a="A", b="B", quick=False, processes=3, repeats=1, seed=0)
    meta.update(n_samples=10, n_features=2, sparse_features=2, nnz=1, epochs=2)
    meta["clock"] = "cpu"
    rows = harness.ab_summary(samples)
    report = bench.markdown(rows, meta)
    assert "| c | 1.0000 |" in report and "| c | 0.500 |" in report  # s, ÷ reference
    path = tmp_path / "ab.json"
    path.write_text(json.dumps({"meta": meta, "results": rows}))
    assert bench.main(["--render", str(path)]) == 0
    assert (tmp_path / "ab.md").read_text() == report + "\n"


def test_code_placement_measures_each_fresh_import_of_the_package(tmp_path):
    # a subprocess: fresh_import drops the package's modules, which this
    # process's other tests still use
    script = BENCHMARKS / "bench_code_placement.py"
    out = tmp_path / "placement.json"
    done = subprocess.run(
        [sys.executable, str(script), "--quick", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    results = json.loads(out.read_text())["results"]
    assert [row["case"] for row in results] == [
        "dense float64 b=1",
        "dense float64 b=1 average",
        "dense float64 b=32",
        "dense float32 b=1",
    ]
    for row in results:
        seconds = np.array(row["seconds"])
        assert seconds.shape == (2, 2) and (seconds > 0).all()  # rounds × imports
        assert row["spread"] == pytest.approx(max(row["medians"]) / min(row["medians"]))


_FRESH_IMPORT = """
import sys
sys.path.insert(0, sys.argv[1])
import _harness
first = _harness.fresh_import()
kernel = first.kernels.cpu.apply_steps
second = _harness.fresh_import()
assert second is not first and second.kernels.cpu.apply_steps is not kernel
assert sys.modules["sklearn_order"] is second
assert second.__file__ == first.__file__
print("ok")
"""


def test_fresh_import_gives_the_package_new_compiled_functions():
    done = subprocess.run(
        [sys.executable, "-c", _FRESH_IMPORT, str(BENCHMARKS)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.stdout.strip() == "ok", done.stderr


_PROBE_SOURCE = """
def first(x):
    return x + 1.0


def renamed(x):
    return x + 1.0


def other(x):
    return x * 3.0
"""


def test_kernel_code_diff_sees_instructions_not_names(monkeypatch, tmp_path):
    """Two functions with the same code and different names have one digest."""
    import numba

    monkeypatch.syspath_prepend(str(BENCHMARKS))
    diff = importlib.import_module("kernel_code_diff")
    path = tmp_path / "kcd_probe.py"
    path.write_text(_PROBE_SOURCE)
    monkeypatch.syspath_prepend(str(tmp_path))
    probe = importlib.import_module("kcd_probe")
    for name in ("first", "renamed", "other"):
        dispatcher = numba.njit(getattr(probe, name))
        dispatcher(1.0)
        monkeypatch.setattr(probe, name, dispatcher)
    functions = diff.compiled_functions("kcd_probe")
    digests = {name.split("(")[0]: value["digest"] for name, value in functions.items()}
    assert set(digests) == {"kcd_probe.first", "kcd_probe.renamed", "kcd_probe.other"}
    assert digests["kcd_probe.first"] == digests["kcd_probe.renamed"]
    assert digests["kcd_probe.first"] != digests["kcd_probe.other"]

    a = {"f(x)": {"digest": "1"}, "g(x)": {"digest": "2"}, "h(x)": {"digest": "3"}}
    b = {"f(x)": {"digest": "1"}, "g(x)": {"digest": "9"}, "k(x)": {"digest": "4"}}
    assert diff.compare(a, b) == [
        ("f(x)", "identical"),
        ("g(x)", "differs"),
        ("h(x)", "only in A"),
        ("k(x)", "only in B"),
    ]


def test_instruction_counts_are_read_from_callgrind_and_reported_per_row(
    monkeypatch,
):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    bench = importlib.import_module("bench_instructions")
    stderr = (
        "==1== Events    : Ir\n==1== Collected : 1234567\n==1== I   refs: 1,234,567"
    )
    assert bench._COLLECTED.findall(stderr) == ["1234567"]
    row = {
        "storage": "dense float64",
        "sampling": "cyclic",
        "kernel": 3000.0,
        "minimal": 2000.0,
        "order": 20.0,
        "kernel / minimal": 1.5,
        "kernel without its order / minimal": 1.49,
        "kernel compiled in the process": 2900.0,
    }
    run = {
        "date": "2026-12-07 00:00 UTC",
        "command": "python benchmarks/bench_instructions.py",
        "machine": {"cpu": "x", "machine": "y", "cores": 2, "python": "3.11"},
        "commit": "abc",
    }
    report = bench.markdown(run, [row], 10_000, quick=False)
    assert (
        "| dense float64 | cyclic | 3000 | 2000 | 20 | **1.50** | 1.49 | 2900 |"
        in report
    )
