"""Per-epoch time of sklearn_order against scikit-learn's SGD, side by side.

Fits our estimator and scikit-learn's on the same data in the same process
and reports the ratio of their per-epoch times (median over ``--repeats``
alternating pairs),
compile time excluded and reported separately, plus the time of one plain
NumPy pass over ``X`` (``X @ w``) as the memory-bandwidth floor.

It also times one epoch of our kernel and of scikit-learn's against
:func:`minimal_dense_epoch`, the least an SGD epoch over the same rows in the
same order must do: how far each is from the floor of random row access.

Run::

    python benchmarks/bench_epoch.py            # n=200,000, d=100 (issue #2)
    python benchmarks/bench_epoch.py --quick    # small smoke run
    python benchmarks/bench_epoch.py --n-samples 100000 --n-features 400 \
        --out docs/benchmarks/epoch_d400.md    # benchopt's dense problem

Absolute times on shared machines are noise; read the ratios.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import textwrap
import time
import warnings

import numba
import numpy as np
from provenance import provenance, stamp
from sklearn.linear_model import SGDClassifier
from threadpoolctl import threadpool_limits

from sklearn_order import BackwardSGDClassifier
from sklearn_order._jit import _prefetch
from sklearn_order._training import build_problems
from sklearn_order.kernels.storage import dense_row_dot
from sklearn_order.sampling import SAMPLINGS, fill_epoch_order

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


@numba.njit(error_model="numpy")
def minimal_dense_epoch(X, y, w, order, eta, alpha):
    """The least an SGD epoch over dense rows must do, as a floor for our kernel.

    Forward, batch 1, log loss on ``±1`` targets, L2 decay fused into the
    weight update, intercept, each row's cache lines prefetched four rows
    ahead, our kernel's dot product (eight partial sums): the kernel's memory
    accesses and arithmetic, without its generality (losses, schedules,
    batches, sampling schemes, failure checks). Returns the intercept.
    """
    n, d = X.shape
    b = 0.0
    decay = 1.0 - eta * alpha
    for q in range(order.shape[0]):
        if q + 4 < order.shape[0]:
            ahead = order[q + 4]
            for j in range(0, d, 8):
                _prefetch(X, (ahead, j))
        i = order[q]
        z = y[i] * (dense_row_dot(X, i, w, 0) + b)
        g = eta * -y[i] / (1.0 + np.exp(z))
        for j in range(d):
            w[j] = decay * w[j] - g * X[i, j]
        b -= g
    return b


def kernel_epoch(X, signs, sampling):
    """One forward epoch of our kernel on ``X`` (batch 1, :data:`COMMON`), and its rows.

    Returns
    -------
    kernel : callable
        Runs the epoch from zero coefficients, through the fit's own kernel
        without the estimator around it.
    order : ndarray of int64
        The epoch's row order, for a loop that should visit the same rows.
    """
    estimator = BackwardSGDClassifier(
        order="forward", sampling=sampling, random_state=0, **COMMON
    )
    problem = build_problems(estimator, X, [signs], [np.ones(len(signs))], seed=0)[0]
    order = np.empty(len(signs), dtype=np.int64)
    fill_epoch_order(SAMPLINGS[sampling], 0, 0, order)

    def kernel():
        problem.run_epochs(
            np.zeros(X.shape[1]),
            np.zeros(1),
            first_epoch=0,
            n_epochs=1,
            reverse=False,
            t_start=0,
            eta=COMMON["eta0"],
        )

    return kernel, order


def floor_rows(args):
    """An epoch of our kernel and of scikit-learn's against the minimal loop.

    The same float64 rows; ours and :func:`minimal_dense_epoch` visit them in
    the same order (``"reshuffle"``: random rows, ``"cyclic"``: storage
    order), scikit-learn in its own reshuffled order. scikit-learn runs only
    whole fits: its epoch is ``(t_k − t_1) / (k − 1)`` for fits of ``k =
    --epochs`` and 1 epochs, so that its input checks are not counted. Rows:
    ``(sampling, kernel, minimal, sklearn, kernel / minimal, sklearn /
    minimal)``, medians of alternating repeats.
    """
    X, y = make_data(args.n_samples, args.n_features, np.float64)
    signs = np.where(y == 1, 1.0, -1.0)
    epochs = max(2, args.epochs)

    def sklearn_fit(n_epochs):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            SGDClassifier(max_iter=n_epochs, random_state=0, **COMMON).fit(X, y)

    def sklearn_epoch():
        return (timed(lambda: sklearn_fit(epochs)) - timed(lambda: sklearn_fit(1))) / (
            epochs - 1
        )

    rows = []
    for sampling in ("reshuffle", "cyclic"):
        kernel, order = kernel_epoch(X, signs, sampling)

        def minimal(o=order):
            minimal_dense_epoch(
                X, signs, np.zeros(X.shape[1]), o, COMMON["eta0"], COMMON["alpha"]
            )

        kernel(), minimal()  # compile or load
        times = [
            (timed(kernel), timed(minimal), sklearn_epoch())
            for _ in range(args.repeats)
        ]
        ours, floor, theirs = (float(np.median(t)) for t in zip(*times))
        rows.append(
            (
                sampling,
                ours,
                floor,
                theirs,
                float(np.median([a / m for a, m, _ in times])),
                float(np.median([t / m for _, m, t in times])),
            )
        )
    return rows


def floor_table(rows):
    """The Markdown table of :func:`floor_rows`' rows."""
    lines = [
        "| our sampling | our kernel s/epoch | minimal loop s/epoch "
        "| scikit-learn s/epoch | **kernel / minimal** | **scikit-learn / minimal** |",
        "|---|---|---|---|---|---|",
    ]
    for sampling, ours, floor, theirs, ratio, sklearn_ratio in rows:
        lines.append(
            f"| {sampling} | {ours:.4f} | {floor:.4f} | {theirs:.4f} "
            f"| **{ratio:.2f}** | **{sklearn_ratio:.2f}** |"
        )
    return "\n".join(lines)


def epoch_table(rows):
    """The Markdown table of :func:`time_dtype`'s rows, ratios first, and its legend.

    The bold ratio is the median of the per-pair ratios, which need not equal
    the quotient of the two median times beside it.
    """
    lines = [
        "| **ours / sklearn** | ours / NumPy | dtype | order | batch | ours s "
        "| sklearn s |",
        "|---|---|---|---|---|---|---|",
    ]
    for dtype, order, batch, ours, theirs, ratio, floor in rows:
        lines.append(
            f"| **{ratio:.2f}** | {ours / floor:.1f} | {dtype} | {order} | {batch} "
            f"| {ours:.4f} | {theirs:.4f} |"
        )
    lines += [
        "",
        "**ours / sklearn**: median of the paired ratios of our time per epoch to "
        "scikit-learn's (`SGDClassifier`, batch 1). **ours / NumPy**: our time "
        "over one NumPy pass over `X`. **ours s**, **sklearn s**: median seconds "
        "per epoch.",
    ]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=200_000)
    parser.add_argument("--n-features", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="n=20,000, 3 repeats")
    parser.add_argument("--out", help="also write the report to this Markdown file")
    args = parser.parse_args()
    if args.quick:
        args.n_samples, args.repeats = 20_000, 3
    run = stamp()

    # Both SGDs are single-threaded; idle BLAS threads spinning after the
    # NumPy floor would steal the core's sibling from whichever runs next.
    with threadpool_limits(limits=1):
        rows = time_dtype(np.float64, args) + time_dtype(np.float32, args)
        floor = floor_rows(args)
    compile_times = compile_seconds()
    report = "\n".join(
        [
            f"# Per-epoch time, log_loss, constant learning rate, "
            f"n={args.n_samples:,}, d={args.n_features}",
            "",
            provenance(run, args.quick)
            + f" {args.epochs} epochs per fit, median of {args.repeats} "
            "alternating pairs, BLAS limited to 1 thread.",
            "",
            epoch_table(rows),
            "",
            "## One epoch against a minimal loop (float64, forward, batch 1)",
            "",
            floor_table(floor),
            "",
            "The minimal loop (`minimal_dense_epoch`) does the same memory "
            "accesses and arithmetic with none of the kernel's generality: the "
            "floor of this design. scikit-learn reshuffles in its own order; its "
            "epoch is the difference of two fits' times, input checks excluded.",
            "",
            f"Compile time of the first fit in a fresh process: "
            f"{compile_times['no cache']:.1f} s with an empty Numba cache, "
            f"{compile_times['from cache']:.2f} s loading from the cache "
            "(excluded from the per-epoch times above).",
        ]
    )
    print(report)
    if args.out:
        with open(args.out, "w") as out:
            out.write(report + "\n")


if __name__ == "__main__":
    main()
