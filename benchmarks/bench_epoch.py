"""Per-epoch time of sklearn_order against scikit-learn's SGD, side by side.

Fits our estimator and scikit-learn's on the same data in the same process
and reports the ratio of their per-epoch times (median over ``--repeats``
alternating pairs),
compile time excluded and reported separately, plus the time of one plain
NumPy pass over ``X`` (``X @ w``) as the memory-bandwidth floor.

Run::

    python benchmarks/bench_epoch.py            # n=200,000, d=100 (issue #2)
    python benchmarks/bench_epoch.py --quick    # small smoke run

Absolute times on shared machines are noise; read the ratios.
"""

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import textwrap
import time
import warnings

import numpy as np
from sklearn.linear_model import SGDClassifier
from threadpoolctl import threadpool_limits

from sklearn_order import BackwardSGDClassifier

COMMON = dict(
    loss="log_loss",
    penalty="l2",
    alpha=1e-4,
    learning_rate="constant",
    eta0=0.01,
    tol=None,
)


def make_data(n_samples, n_features, dtype, seed=0):
    """A standardized logistic problem with 10% label noise."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, n_features)).astype(dtype)
    w = rng.standard_normal(n_features) / np.sqrt(n_features)
    y = (X @ w + 0.3 * rng.standard_normal(n_samples) > 0).astype(np.int64)
    return X, y


def timed(fit):
    start = time.perf_counter()
    fit()
    return time.perf_counter() - start


def compile_seconds(make_X="np.random.default_rng(0).standard_normal((64, 8))"):
    """First-fit time in a fresh process with an empty Numba cache, minus a warm fit.

    ``make_X`` is the expression (NumPy as ``np``, SciPy's sparse module as
    ``sparse``) building the small training matrix: its storage and dtype
    choose the kernels compiled.
    """
    code = textwrap.dedent(
        f"""
        import time, numpy as np
        from scipy import sparse
        from sklearn_order import BackwardSGDClassifier
        X = {make_X}
        y = np.arange(X.shape[0]) % 2
        for label in ("cold", "warm"):
            start = time.perf_counter()
            BackwardSGDClassifier(tol=None, max_iter=1).fit(X, y)
            print(label, time.perf_counter() - start)
        """
    )
    results = {}
    with tempfile.TemporaryDirectory() as cache:
        for label in ("no cache", "from cache"):
            env = {**os.environ, "NUMBA_CACHE_DIR": cache}
            out = subprocess.run(
                [sys.executable, "-c", code],
                env=env,
                check=True,
                capture_output=True,
                text=True,
            ).stdout.split()
            results[label] = float(out[1]) - float(out[3])
    return results


def time_dtype(dtype, args):
    """Rows of the result table for one dtype.

    Each case alternates our fit and scikit-learn's ``repeats`` times and
    reports the median of the per-pair ratios, which is robust to the load
    changes of a shared machine.
    """
    X, y = make_data(args.n_samples, args.n_features, dtype)
    w = np.ones(args.n_features, dtype=dtype)
    # warm up: compile (or load) every kernel used below
    for order in ("forward", "backward"):
        BackwardSGDClassifier(order=order, max_iter=1, **COMMON).fit(X[:100], y[:100])
    floor = min(timed(lambda: X @ w) for _ in range(5))

    def sklearn_fit():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            SGDClassifier(
                max_iter=args.epochs, shuffle=True, random_state=0, **COMMON
            ).fit(X, y)

    rows = []
    for order in ("forward", "backward"):
        for batch_size in (1, 32):
            model = BackwardSGDClassifier(
                order=order,
                batch_size=batch_size,
                max_iter=args.epochs,
                random_state=0,
                **COMMON,
            )
            pairs = [
                (timed(lambda m=model: m.fit(X, y)), timed(sklearn_fit))
                for _ in range(args.repeats)
            ]
            ours, theirs = (np.median(t) / args.epochs for t in zip(*pairs))
            ratio = np.median([a / b for a, b in pairs])
            rows.append(
                (np.dtype(dtype).name, order, batch_size, ours, theirs, ratio, floor)
            )
    return rows


def epoch_table(rows):
    """The Markdown table of :func:`time_dtype`'s rows.

    The bold ratio is the median of the per-pair ratios, which need not equal
    the quotient of the two median times beside it.
    """
    lines = [
        "| dtype | order | batch | ours s/epoch | sklearn s/epoch (batch 1) "
        "| **ours / sklearn** (median of paired ratios) | ours / NumPy pass |",
        "|---|---|---|---|---|---|---|",
    ]
    for dtype, order, batch, ours, theirs, ratio, floor in rows:
        lines.append(
            f"| {dtype} | {order} | {batch} | {ours:.4f} | {theirs:.4f} "
            f"| **{ratio:.2f}** | {ours / floor:.1f} |"
        )
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=200_000)
    parser.add_argument("--n-features", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="n=20,000, 3 repeats")
    args = parser.parse_args()
    if args.quick:
        args.n_samples, args.repeats = 20_000, 3

    print(
        f"# Per-epoch time, log_loss, constant learning rate, "
        f"n={args.n_samples:,}, d={args.n_features}"
    )
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {args.epochs} epochs per fit, "
        f"median of {args.repeats} alternating pairs, BLAS limited to 1 thread\n"
    )
    # Both SGDs are single-threaded; idle BLAS threads spinning after the
    # NumPy floor would steal the core's sibling from whichever runs next.
    with threadpool_limits(limits=1):
        rows = time_dtype(np.float64, args) + time_dtype(np.float32, args)

    print(epoch_table(rows))
    compile_times = compile_seconds()
    print(
        f"\ncompile time of the first fit in a fresh process: "
        f"{compile_times['no cache']:.1f} s with an empty Numba cache, "
        f"{compile_times['from cache']:.2f} s loading from the cache "
        "(excluded from the per-epoch times above)"
    )


if __name__ == "__main__":
    main()
