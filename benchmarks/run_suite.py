"""The benchmark suite: one command, a Markdown report, a JSON file and plots.

Every timing is taken side by side in the same run and reported as a ratio;
compile time and import time are measured separately, in fresh processes.

Cases
-----
1. per-epoch time against scikit-learn's ``SGDClassifier`` (dense float64 and
   float32, batch sizes 1 and 32, both orders) and against one NumPy pass
   over X (the memory-bandwidth floor) — ``bench_epoch.py``;
2. backward with the doubling convergence test against forward, for the
   same final composition (``K`` epochs): the price of judging convergence
   the backward way;
3. how the cost of an epoch grows with ``n_samples`` and with
   ``n_features`` (should be linear: the fitted log-log slope is reported);
4. the trajectory engines: affine composition (squared error) and coupling
   (log loss: the main job's problem, synthetic, a non-contracting case)
   against replay — ``bench_trajectory.py``;
5. GPU results, if ``bench_cuda.py --out`` left any in ``<out>/gpu`` or
   ``benchmarks/results``;
6. sparse CSR input against scikit-learn (both shuffled, and both in storage
   order; and averaged SGD, ``average=True`` on both sides) —
   ``bench_sparse.py``;
7. ten classes: the multinomial problem against one-vs-rest —
   ``bench_sparse.py``;
8. with ``--cold-compile``: the first dense and CSR fits and
   ``python -m sklearn_order compare``, cold and warm, each in fresh
   processes with an empty Numba cache — ``bench_compile.py``.

Run::

    python benchmarks/run_suite.py            # the full suite (several minutes)
    python benchmarks/run_suite.py --quick    # under a minute (CI smoke test)
    python benchmarks/run_suite.py --cold-compile   # adds case 8 (a few minutes)

Writes ``suite.md``, ``suite.json`` and ``suite_scaling.png`` into ``--out``
(default ``benchmarks/results``), each saying when, on what machine and by
which command; ``--readme README.md`` also rewrites the README's results (the
part between its markers) from the same run. The committed results::

    python benchmarks/run_suite.py --out docs/benchmarks --readme README.md
"""

import argparse
import json
import os
import re
import sys
import warnings
from pathlib import Path

import _harness
import numpy as np
from _data import make_data
from _harness import provenance, stamp

# the scripts' table renderers only: the suite's report is rendered from
# suite.json; every measurement of another script runs through run_script
from bench_cuda import report as cuda_report
from bench_epoch import epoch_table
from bench_sparse import multiclass_table, sparse_table
from bench_trajectory import coupling_table
from threadpoolctl import threadpool_limits

from sklearn_order import BackwardSGDClassifier

HERE = Path(__file__).parent

# ``import sklearn_order`` in a fresh process, timed (nothing else imported)
_IMPORT = """
from _harness import timed
import importlib
print(timed(importlib.import_module, "sklearn_order"))
"""


def import_seconds(repeats=3):
    """Time of ``import sklearn_order`` in a fresh process (best of ``repeats``)."""
    return min(float(_harness.run_python(_IMPORT)) for _ in range(repeats))


def backward_vs_forward(n_samples, n_features, repeats):
    """Cost of a backward fit with the doubling test vs forward, same K epochs.

    The backward fit with ``tol`` evaluates the backward iterate at 1, 2, 4, …
    epochs until two agree; its final composition has ``K = n_iter_`` epochs.
    Forward then runs the same ``K`` epochs (``tol=None``). The ratio is the
    price of the doubling test (at most about 2: 1 + 2 + … + K ≈ 2K).
    """
    X, y = make_data(n_samples, n_features, np.float64)
    params = dict(alpha=1e-2, eta0=0.05, batch_size=8, random_state=0)
    backward = BackwardSGDClassifier(order="backward", tol=1e-4, max_iter=512, **params)
    with warnings.catch_warnings():  # a warm-up fit on 100 rows need not converge
        warnings.simplefilter("ignore")
        backward.fit(X[:100], y[:100])  # load the kernels
    K = backward.fit(X, y).n_iter_
    forward = BackwardSGDClassifier(order="forward", tol=None, max_iter=K, **params)
    times = _harness.paired(
        {"backward": lambda: backward.fit(X, y), "forward": lambda: forward.fit(X, y)},
        repeats,
    )
    return {
        "epochs": int(K),
        "backward_seconds": float(np.median(times["backward"])),
        "forward_seconds": float(np.median(times["forward"])),
        "backward_over_forward": _harness.median_ratio(
            times["backward"], times["forward"]
        ),
    }


def scaling(sizes, features, repeats):
    """Seconds per epoch as n_samples and n_features grow; fitted log-log slopes."""

    def per_epoch(n, d):
        X, y = make_data(n, d, np.float64)
        model = BackwardSGDClassifier(
            order="forward", tol=None, max_iter=2, batch_size=8, random_state=0
        )
        model.fit(X[:100], y[:100])
        return _harness.best_of(repeats, model.fit, X, y)[0] / 2

    by_n = [(n, per_epoch(n, 50)) for n in sizes]
    by_d = [(d, per_epoch(sizes[-1] // 4, d)) for d in features]

    def slope(points):
        x, t = np.log([p[0] for p in points]), np.log([p[1] for p in points])
        return float(np.polyfit(x, t, 1)[0])

    return {
        "by_n_samples": by_n,
        "slope_n_samples": slope(by_n),
        "by_n_features": by_d,
        "slope_n_features": slope(by_d),
        "n_features_for_n_scaling": 50,
        "n_samples_for_d_scaling": sizes[-1] // 4,
    }


def gpu_results(out):
    """GPU results ``bench_cuda.py --out`` left in out/gpu or benchmarks/results."""
    paths = sorted((out / "gpu").glob("cuda*.json")) + sorted(
        (HERE / "results").glob("cuda*.json")
    )
    return [{"path": _relative(path), **json.loads(path.read_text())} for path in paths]


def _relative(path):
    """``path`` relative to the repository root where it lies under it."""
    path = Path(path).resolve()
    root = HERE.parent.resolve()
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


def write_plot(results, path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    scale = results["scaling"]
    figure, axes = plt.subplots(1, 2, figsize=(10, 4))
    for axis, key, label in (
        (axes[0], "by_n_samples", "n_samples (d = 50)"),
        (axes[1], "by_n_features", "n_features"),
    ):
        x, t = zip(*scale[key])
        axis.loglog(x, t, "o-", label="measured")
        axis.loglog(x, np.array(x) * t[0] / x[0], "k--", lw=0.8, label="linear")
        axis.set(xlabel=label, ylabel="seconds per epoch")
        axis.grid(alpha=0.3, which="both")
        axis.legend()
    axes[0].set_title(f"slope {scale['slope_n_samples']:.2f}")
    axes[1].set_title(f"slope {scale['slope_n_features']:.2f}")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return True


def sections(results):
    """The report's sections, each a list of Markdown lines, by name."""
    epoch, bf = results["epoch"], results["backward_vs_forward"]
    tr, scale, sp = results["trajectory"], results["scaling"], results["sparse"]
    done = {}
    done["compile"] = [
        f"Import time of `sklearn_order`: {results['import_seconds']:.2f} s. "
        f"First fit in a fresh process: {results['compile']['no cache']:.1f} s "
        f"compiling, {results['compile']['from cache']:.2f} s loading the cache "
        "(excluded from every time below).",
    ]
    if "cold_compile" in results:
        done["compile"] += [
            "",
            "Cold start, empty Numba cache, fresh processes (`bench_compile.py`; "
            "seconds): "
            + ", ".join(
                f"{key} {value:.2f}" for key, value in results["cold_compile"].items()
            )
            + ".",
        ]
    done["epoch"] = [
        f"## 1. Per-epoch time vs scikit-learn (dense, n={epoch['n_samples']:,}, "
        f"d={epoch['n_features']}, log_loss, L2, constant step)",
        "",
        epoch_table([tuple(r.values()) for r in epoch["rows"]]),
    ]
    done["backward_vs_forward"] = [
        "## 2. Backward with the doubling test vs forward, same final composition",
        "",
        f"K = {bf['epochs']} epochs: backward (evaluated at 1, 2, 4, … epochs) "
        f"{bf['backward_seconds']:.3f} s, forward {bf['forward_seconds']:.3f} s "
        "(medians): median of the paired ratios "
        f"**{bf['backward_over_forward']:.2f}** (at most about 2 expected).",
    ]
    done["scaling"] = [
        "## 3. Scaling (forward, batch 8, float64)",
        "",
        "| n_samples | s/epoch |",
        "|---|---|",
        *[f"| {n:,} | {t:.4f} |" for n, t in scale["by_n_samples"]],
        "",
        f"log-log slope in n_samples: **{scale['slope_n_samples']:.2f}**",
        "",
        "| n_features | s/epoch |",
        "|---|---|",
        *[f"| {d} | {t:.4f} |" for d, t in scale["by_n_features"]],
        "",
        f"log-log slope in n_features: **{scale['slope_n_features']:.2f}**"
        " (below 1 where a per-row cost independent of d still weighs)",
    ]
    done["affine"] = [
        f"## 4. Backward trajectory: affine vs replay (K={tr['n_steps']:,}, "
        f"d={tr['n_features']})",
        "",
        f"Squared error + L2: affine {tr['affine']:.4f} s, replay "
        f"{tr['replay']:.3f} s: affine is **{tr['replay'] / tr['affine']:.0f}×** "
        "faster (the quotient of the two times); largest relative difference "
        f"{tr['max_relative_difference']:.1e}.",
    ]
    done["coupling"] = [
        "Coupling against replay (log loss; `coupling_tol=0` is bitwise the replay's):",
        "",
        coupling_table(tr["coupling"]),
    ]
    done["gpu"] = ["## 5. GPU", ""] + (
        [
            line
            for g in results["gpu"]
            for line in (
                f"From `{g['path']}` (`benchmarks/bench_cuda.py`):",
                "",
                cuda_report(g),
                "",
            )
        ]
        if results["gpu"]
        else ["No GPU results found (`bench_cuda.py --out` writes them)."]
    )
    done["sparse"] = [
        f"## 6. Sparse CSR vs scikit-learn (n={sp['n_samples']:,}, "
        f"d={sp['n_features']:,}, {sp['nnz']} non-zeros per row, log_loss, L2)",
        "",
        sparse_table([tuple(r.values()) for r in sp["rows"]], sp["epochs"]),
    ]
    done["multiclass"] = [
        "## 7. Ten classes: multinomial vs one-vs-rest (same sparse data, one thread)",
        "",
        multiclass_table([tuple(r.values()) for r in results["multiclass"]]),
    ]
    return done


def report(results):
    """The suite's results as Markdown."""
    parts = sections(results)
    lines = [
        "# sklearn_order benchmark suite",
        "",
        provenance(results, results["quick"]),
        "Ratios below 1 mean sklearn_order is faster; a bold ratio is the median "
        "of the ratios of alternating pairs of runs (robust to a shared machine's "
        "load) and need not equal the quotient of the median times beside it, "
        "unless it says otherwise. Absolute times on shared machines are noise: "
        "read the ratios.",
        "",
    ]
    # each section starts with a comment naming it (invisible in rendered
    # Markdown), where the documentation's pages cut the report into parts
    for name in parts:
        lines += [f"<!-- section: {name} -->", ""] + parts[name] + [""]
    return "\n".join(lines + ["<!-- end -->", ""])


#: What the README shows of a run, in this order, between the markers below.
README_SECTIONS = ("compile", "epoch", "sparse", "multiclass", "affine", "coupling")
README_BEGIN = "<!-- written by benchmarks/run_suite.py --readme: do not edit -->"
README_END = "<!-- end of the part written by benchmarks/run_suite.py -->"


def readme_block(results, suite_md):
    """The README's benchmark results: some of the report's sections, and whence."""
    parts = sections(results)
    lines = [
        README_BEGIN,
        "",
        f"{provenance(results, results['quick'])} Every number: "
        f"[{suite_md}]({suite_md}) and the "
        "`suite.json` beside it. A bold ratio is the median of the ratios of "
        "alternating pairs of runs, unless it says otherwise.",
        "",
    ]
    for name in README_SECTIONS:
        lines += [re.sub(r"^## \d+\. ", "#### ", line) for line in parts[name]] + [""]
    return "\n".join(lines + [README_END])


def replace_readme_block(text, block):
    """``text`` with the part between the README markers replaced by ``block``."""
    start, end = text.index(README_BEGIN), text.index(README_END) + len(README_END)
    return text[:start] + block + text[end:]


def _options(values):
    """Command-line options from a dict: ``{"n_samples": 5} → ["--n-samples", "5"]``."""
    return [
        arg
        for name, value in values.items()
        for arg in (f"--{name.replace('_', '-')}", str(value))
    ]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="under a minute")
    parser.add_argument("--out", default=str(HERE / "results"))
    parser.add_argument(
        "--readme",
        metavar="README_MD",
        help="also rewrite the results part of this README (between its markers)",
    )
    parser.add_argument(
        "--from-json",
        metavar="SUITE_JSON",
        help="measure nothing: rewrite suite.md in --out (and --readme) from an "
        "earlier run's suite.json, e.g. after a change to the tables' layout",
    )
    parser.add_argument(
        "--cold-compile",
        action="store_true",
        help="also time first fits and `compare` from an empty Numba cache",
    )
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.from_json:
        write_reports(json.loads(Path(args.from_json).read_text()), out, args.readme)
        return 0
    quick = args.quick
    results = {
        "quick": quick,
        **stamp(),
        "import_seconds": import_seconds(),
    }
    # each part is a script, run through the harness in a fresh process
    epoch_args = {
        "n_samples": 20_000 if quick else 200_000,
        "n_features": 100,
        "epochs": 2 if quick else 3,
        "repeats": 1 if quick else 5,
    }
    epoch = _harness.run_script(
        "bench_epoch", _options(epoch_args) + ["--part", "epoch", "--part", "compile"]
    )
    results["compile"] = epoch["compile"]
    if args.cold_compile:
        cold = _harness.run_script(
            "bench_compile",
            ["--no-baseline", "--no-write", "--repeats", "1" if quick else "3"],
        )
        results["cold_compile"] = cold["results"]["this checkout"]
    results["epoch"] = {
        "n_samples": epoch_args["n_samples"],
        "n_features": epoch_args["n_features"],
        "rows": epoch["epoch"],
    }
    # single-threaded SGD on both sides: idle BLAS threads must not compete
    with threadpool_limits(limits=1):
        results["backward_vs_forward"] = backward_vs_forward(
            2_000 if quick else 20_000, 20, 1 if quick else 3
        )
        sizes = (10_000, 30_000, 100_000) if quick else (10_000, 100_000, 1_000_000)
        results["scaling"] = scaling(sizes, (10, 40, 160), 1 if quick else 3)
    sparse_args = {
        "n_samples": 5_000 if quick else 100_000,
        "n_features": 5_000 if quick else 100_000,
        "nnz": 50,
        "epochs": 8 if quick else 4,
        "repeats": 1 if quick else 5,
    }
    parts = ("sparse", "average", "multiclass")
    sparse = _harness.run_script(
        "bench_sparse",
        _options(sparse_args) + [arg for part in parts for arg in ("--part", part)],
    )
    results["sparse"] = {
        **{name: sparse_args[name] for name in ("n_samples", "n_features", "nnz")},
        "epochs": sparse_args["epochs"],
        "rows": sparse["sparse"] + sparse["average"],
    }
    results["multiclass"] = sparse["multiclass"]
    n_steps = 2_000 if quick else 10_000
    trajectory = _harness.run_script(
        "bench_trajectory",
        _options(
            {
                "n_steps": n_steps,
                "n_features": 20,
                "n_samples": 2_000,
                "batch_size": 1,
                "repeats": 1 if quick else 3,
                "affine_repeats": 1,
            }
        )
        + (["--quick"] if quick else []),
    )
    results["trajectory"] = {
        "n_steps": n_steps,
        "n_features": 20,
        **{
            key: trajectory[key]
            for key in ("affine", "replay", "max_relative_difference", "coupling")
        },
    }
    results["gpu"] = gpu_results(out)
    plotted = write_plot(results, out / "suite_scaling.png")
    write_reports(results, out, args.readme, data=results)
    print(
        f"wrote {out / 'suite.json'}"
        + (f", {out / 'suite_scaling.png'}" if plotted else "")
    )
    return 0


def write_reports(results, out, readme=None, data=None):
    """Write ``suite.md`` into ``out`` and, with ``readme``, the README's results.

    With ``data``, also ``suite.json`` (every number of the run).
    """
    text = report(results)
    _harness.write_results(text, data, out / "suite.md")
    if readme:
        readme = Path(readme)
        suite_md = os.path.relpath(out / "suite.md", readme.resolve().parent)
        readme.write_text(
            replace_readme_block(readme.read_text(), readme_block(results, suite_md))
        )
    print(text)
    print(f"wrote {out / 'suite.md'}" + (f" and {readme}" if readme else ""))


if __name__ == "__main__":
    sys.exit(main())
