"""Kernel A/B: this checkout's epoch speed against a baseline's, in one process.

The baseline package (by default the ``main`` branch of this repository,
exported with ``git archive``) is imported under another name next to the
package of this checkout. For each case of ``bench_epoch.py`` (dense) and
``bench_sparse.py`` (CSR), the two and scikit-learn's ``SGDClassifier`` are
fitted in turn, ``--repeats`` times; the table gives each package's median
ratio against scikit-learn and the median per-repeat ratio new/baseline
(1.00: the same speed; above 1: the new kernel is slower).

Run::

    python benchmarks/bench_kernel_ab.py            # writes docs/benchmarks/kernel_ab.*
    python benchmarks/bench_kernel_ab.py --quick    # small smoke run, no files

Absolute times on shared machines are noise; read the ratios.
"""

import argparse
import importlib
import os
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
from bench_compile import export_package, run_metadata, write_results
from bench_epoch import COMMON, make_data, timed
from bench_sparse import make_sparse_data
from sklearn.linear_model import SGDClassifier
from threadpoolctl import threadpool_limits

import sklearn_order

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BASELINE_NAME = "sklearn_order_baseline"


def import_baseline(ref, directory):
    """Import ``ref``'s ``sklearn_order`` under the name :data:`BASELINE_NAME`."""
    export_package(ref, directory)
    os.rename(Path(directory) / "sklearn_order", Path(directory) / BASELINE_NAME)
    sys.path.insert(0, str(directory))
    return importlib.import_module(BASELINE_NAME)


def cases(args):
    """``(name, X, y, order, batch_size, average)`` of the dense and CSR cases.

    The averaged cases (``average=True`` on both sides, scikit-learn
    included) come last, so that the numbers of the others stay put.
    """
    X, y = make_data(args.n_samples, args.n_features, np.float64)
    S, z = make_sparse_data(args.n_samples, args.sparse_features, args.nnz)
    return [
        ("dense float64", X, y, "forward", 1, False),
        ("dense float64", X, y, "backward", 1, False),
        ("dense float64", X, y, "forward", 32, False),
        ("dense float32", X.astype(np.float32), y, "forward", 1, False),
        ("csr float64", S, z, "forward", 1, False),
        ("csr float64", S, z, "backward", 1, False),
        ("csr float64", S, z, "forward", 32, False),
        ("csr float32", S.astype(np.float32), z, "forward", 1, False),
        ("dense float64 average", X, y, "forward", 1, True),
        ("csr float64 average", S, z, "forward", 1, True),
        ("csr float64 average", S, z, "forward", 32, True),
    ]


def compare(packages, case, epochs, repeats):
    """Median ratios against scikit-learn and new/baseline, alternating fits."""
    name, X, y, order, batch_size, average = case
    models = {
        label: package.BackwardSGDClassifier(
            order=order,
            batch_size=batch_size,
            max_iter=epochs,
            average=average,
            random_state=0,
            **COMMON,
        )
        for label, package in packages.items()
    }
    for model in models.values():  # compile or load the kernels
        model.set_params(max_iter=1).fit(X[:200], y[:200])
        model.set_params(max_iter=epochs)

    def sklearn_fit():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            SGDClassifier(
                max_iter=epochs,
                shuffle=True,
                average=average,
                random_state=0,
                **COMMON,
            ).fit(X, y)

    samples = []
    for _ in range(repeats):
        times = {label: timed(lambda m=m: m.fit(X, y)) for label, m in models.items()}
        times["sklearn"] = timed(sklearn_fit)
        samples.append(times)
    ratio = {
        label: float(np.median([s[label] / s["sklearn"] for s in samples]))
        for label in models
    }
    change = float(np.median([s["new"] / s["baseline"] for s in samples]))
    return {
        "case": name,
        "order": order,
        "batch_size": batch_size,
        "new_vs_sklearn": ratio["new"],
        "baseline_vs_sklearn": ratio["baseline"],
        "new_vs_baseline": change,
    }


def markdown(results, meta):
    lines = [
        "# Kernel A/B: epoch speed against the previous kernel",
        "",
        f"Written by `{meta['command']}` on {meta['date']}, {meta['machine']}.",
        f"Baseline: `{meta['baseline']}`; {meta['repeats']} alternating repeats of "
        f"{meta['epochs']}-epoch fits; dense {meta['n_samples']}×{meta['n_features']},"
        f" CSR {meta['n_samples']}×{meta['sparse_features']} with {meta['nnz']} "
        "non-zeros per row. Ratios are medians (time ÷ time); new ÷ baseline "
        "above 1.05 would be a regression beyond the 5% budget.",
        "",
        "| case | order | batch | new ÷ sklearn | baseline ÷ sklearn "
        "| new ÷ baseline |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['case']} | {r['order']} | {r['batch_size']} | "
            f"{r['new_vs_sklearn']:.3f} | {r['baseline_vs_sklearn']:.3f} | "
            f"{r['new_vs_baseline']:.3f} |"
        )
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="main", help="git ref of the baseline")
    parser.add_argument("--n-samples", type=int, default=100_000)
    parser.add_argument("--n-features", type=int, default=100)
    parser.add_argument("--sparse-features", type=int, default=100_000)
    parser.add_argument("--nnz", type=int, default=50)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="n=5,000, 2 repeats")
    parser.add_argument(
        "--case",
        type=int,
        action="append",
        help="run only this case (its row number in the table, from 0); repeatable",
    )
    parser.add_argument(
        "--name", default="kernel_ab", help="results file name (without extension)"
    )
    parser.add_argument("--out", default=str(ROOT / "docs" / "benchmarks"))
    args = parser.parse_args()
    if args.quick:
        args.n_samples, args.sparse_features, args.repeats = 5_000, 5_000, 2
    with tempfile.TemporaryDirectory() as directory, threadpool_limits(1):
        packages = {
            "new": sklearn_order,
            "baseline": import_baseline(args.baseline, directory),
        }
        results = []
        for number, case in enumerate(cases(args)):
            if args.case and number not in args.case:
                continue
            results.append(compare(packages, case, args.epochs, args.repeats))
            print(results[-1], flush=True)
    meta = run_metadata("python " + " ".join(sys.argv))
    meta["baseline"] = args.baseline
    for name in ("n_samples", "n_features", "sparse_features", "nnz", "epochs"):
        meta[name] = getattr(args, name)
    meta["repeats"] = args.repeats
    table = markdown(results, meta)
    print(table)
    if not args.quick:
        write_results(args.out, args.name, table, meta, results)


if __name__ == "__main__":
    main()
