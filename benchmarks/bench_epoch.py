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
import sys
import warnings

import _harness
import numba
import numpy as np
from _data import COMMON, make_data
from sklearn.linear_model import SGDClassifier
from threadpoolctl import threadpool_limits

from sklearn_order import BackwardSGDClassifier
from sklearn_order._jit import _prefetch
from sklearn_order._spec import FitSpec
from sklearn_order._training import build_problems
from sklearn_order.kernels.storage import dense_row_dot
from sklearn_order.sampling import SAMPLINGS, fill_epoch_order

#: The fields of a row of :func:`time_dtype` (the JSON's ``epoch`` rows).
EPOCH_FIELDS = ("dtype", "order", "batch", "ours", "sklearn", "ratio", "numpy_pass")
#: The fields of a row of :func:`floor_rows` (the JSON's ``floor`` rows).
FLOOR_FIELDS = (
    "sampling",
    "kernel",
    "minimal",
    "sklearn",
    "kernel_over_minimal",
    "sklearn_over_minimal",
)


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
    floor, _ = _harness.best_of(5, lambda: X @ w)

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
            times = _harness.paired(
                {"ours": lambda m=model: m.fit(X, y), "sklearn": sklearn_fit},
                args.repeats,
            )
            ours, theirs = (
                float(np.median(times[label])) / args.epochs
                for label in ("ours", "sklearn")
            )
            ratio = _harness.median_ratio(times["ours"], times["sklearn"])
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
    problem = build_problems(
        FitSpec.from_estimator(estimator), X, [signs], [np.ones(len(signs))], seed=0
    )[0]
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
        return _harness.per_epoch(sklearn_fit, epochs)[0]

    rows = []
    for sampling in ("reshuffle", "cyclic"):
        kernel, order = kernel_epoch(X, signs, sampling)

        def minimal(o=order):
            minimal_dense_epoch(
                X, signs, np.zeros(X.shape[1]), o, COMMON["eta0"], COMMON["alpha"]
            )

        kernel(), minimal()  # compile or load
        times = _harness.alternate(
            {
                "kernel": lambda k=kernel: _harness.timed(k),
                "minimal": lambda m=minimal: _harness.timed(m),
                "sklearn": sklearn_epoch,
            },
            args.repeats,
        )
        ours, floor, theirs = (
            float(np.median(times[label])) for label in ("kernel", "minimal", "sklearn")
        )
        rows.append(
            (
                sampling,
                ours,
                floor,
                theirs,
                _harness.median_ratio(times["kernel"], times["minimal"]),
                _harness.median_ratio(times["sklearn"], times["minimal"]),
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


#: The parts of the benchmark, in the order they run (``--part``).
PARTS = ("epoch", "floor", "compile")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=200_000)
    parser.add_argument("--n-features", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="n=20,000, 3 repeats")
    parser.add_argument(
        "--part",
        choices=PARTS,
        action="append",
        help="run only this part (repeatable; default: all)",
    )
    parser.add_argument("--out", help="also write the report to this Markdown file")
    _harness.script_arguments(parser)
    args = parser.parse_args(argv)
    parts = args.part or PARTS
    if args.quick:
        args.n_samples, args.repeats = 20_000, 3
    run = _harness.stamp()
    data = {
        "meta": run,
        "n_samples": args.n_samples,
        "n_features": args.n_features,
        "epochs": args.epochs,
        "repeats": args.repeats,
    }
    # Both SGDs are single-threaded; idle BLAS threads spinning after the
    # NumPy floor would steal the core's sibling from whichever runs next.
    with threadpool_limits(limits=1):
        if "epoch" in parts:
            rows = time_dtype(np.float64, args) + time_dtype(np.float32, args)
            data["epoch"] = [dict(zip(EPOCH_FIELDS, row)) for row in rows]
        if "floor" in parts:
            floor = floor_rows(args)
            data["floor"] = [dict(zip(FLOOR_FIELDS, row)) for row in floor]
    if "compile" in parts:
        data["compile"] = _harness.compile_seconds()
    lines = [
        f"# Per-epoch time, log_loss, constant learning rate, "
        f"n={args.n_samples:,}, d={args.n_features}",
        "",
        _harness.provenance(run, args.quick)
        + f" {args.epochs} epochs per fit, median of {args.repeats} "
        "alternating pairs, BLAS limited to 1 thread.",
    ]
    if "epoch" in parts:
        lines += ["", epoch_table(rows)]
    if "floor" in parts:
        lines += [
            "",
            "## One epoch against a minimal loop (float64, forward, batch 1)",
            "",
            floor_table(floor),
            "",
            "The minimal loop (`minimal_dense_epoch`) does the same memory "
            "accesses and arithmetic with none of the kernel's generality: the "
            "floor of this design. scikit-learn reshuffles in its own order; its "
            "epoch is the difference of two fits' times, input checks excluded.",
        ]
    if "compile" in parts:
        compile_times = data["compile"]
        lines += [
            "",
            f"Compile time of the first fit in a fresh process: "
            f"{compile_times['no cache']:.1f} s with an empty Numba cache, "
            f"{compile_times['from cache']:.2f} s loading from the cache "
            "(excluded from the per-epoch times above).",
        ]
    report = "\n".join(lines)
    print(report)
    _harness.write_results(report, data, args.out, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
