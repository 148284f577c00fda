"""Sparse (CSR) per-epoch time against scikit-learn's SGD, side by side (plain
and averaged); and the multinomial loss against one-vs-rest on a 10-class problem.

Both parts fit our estimator and the competitor on the same data in the same
process, alternating, and report the median of the per-pair time ratios
(robust to the load changes of a shared machine); compile time is excluded
and reported separately.

Per-epoch time against scikit-learn is the difference between a fit of
``--epochs`` epochs and a fit of one epoch, divided by the extra epochs: the
fixed cost of a fit (input validation, allocations) cancels out on both
sides, and is reported apart, with the whole-fit ratio.

Run::

    python benchmarks/bench_sparse.py           # n=100,000, d=100,000, 50 non-zeros/row
    python benchmarks/bench_sparse.py --quick   # small smoke run
    python benchmarks/bench_sparse.py --part average   # only the averaged fits

Absolute times on shared machines are noise; read the ratios.
"""

import argparse
import sys
import warnings

import _harness
import numba
import numpy as np
from _data import COMMON, make_sparse_data
from bench_epoch import kernel_epoch
from sklearn.linear_model import SGDClassifier
from threadpoolctl import threadpool_limits

from sklearn_order import BackwardSGDClassifier
from sklearn_order._jit import _prefetch

#: The fields of a row of :func:`sparse_rows` and :func:`average_rows`.
SPARSE_FIELDS = (
    "dtype",
    "order",
    "batch",
    "sampling",
    "ours",
    "sklearn",
    "ratio",
    "whole_fit_ratio",
    "ours_fixed",
    "sklearn_fixed",
)
#: The fields of a row of :func:`multiclass_rows`.
MULTICLASS_FIELDS = ("order", "multinomial", "ovr", "ratio")
#: The fields of a row of :func:`kernel_floor_rows`.
FLOOR_FIELDS = ("sampling", "kernel", "minimal", "ratio")


def quiet(fit):
    """Run ``fit`` without scikit-learn's max_iter warnings."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit()


def median_ratio(ours, theirs, repeats, epochs):
    """Median per-epoch times and median per-pair ratio of alternating fits."""
    times = _harness.paired({"ours": ours, "theirs": theirs}, repeats)
    ours_time, theirs_time = (
        float(np.median(times[label])) / epochs for label in ("ours", "theirs")
    )
    return ours_time, theirs_time, _harness.median_ratio(times["ours"], times["theirs"])


def per_epoch_ratio(ours, theirs, repeats, epochs):
    """Per-epoch and fixed costs of two fitting functions, side by side.

    ``ours(max_iter)`` and ``theirs(max_iter)`` fit for ``max_iter`` epochs.
    Each repeat times both at 1 and at ``epochs`` epochs, alternating; the
    extra time of the long fit over the extra epochs is the time of an epoch,
    what is left of the short fit is the fixed cost.

    Returns
    -------
    ours_epoch, theirs_epoch : float
        Median seconds per epoch.
    ratio : float
        Median over repeats of the per-epoch time ratio.
    whole_ratio : float
        Median over repeats of the time ratio of the ``epochs``-epoch fits.
    ours_fixed, theirs_fixed : float
        Median fixed seconds per fit.
    """
    samples = _harness.paired_per_epoch(
        {"ours": ours, "theirs": theirs}, epochs, repeats
    )
    rounds = [
        (
            a["epoch"],
            b["epoch"],
            a["epoch"] / b["epoch"],
            a["long"] / b["long"],
            a["fixed"],
            b["fixed"],
        )
        for a, b in zip(samples["ours"], samples["theirs"])
    ]
    return tuple(float(np.median(column)) for column in zip(*rounds))


def sparse_rows(args):
    """Our CSR fits (each order, batch size, dtype) against SGDClassifier's."""
    X, y = make_sparse_data(args.n_samples, args.n_features, args.nnz)
    cases = [
        ("float64", "forward", 1, "reshuffle"),
        ("float64", "backward", 1, "reshuffle"),
        ("float64", "forward", 32, "reshuffle"),
        ("float32", "forward", 1, "reshuffle"),
        # rows in storage order on both sides: the cost of random row access
        ("float64", "forward", 1, "cyclic"),
    ]
    rows = []
    for dtype, order, batch_size, sampling in cases:
        data = X.astype(dtype)
        model = BackwardSGDClassifier(
            order=order,
            sampling=sampling,
            batch_size=batch_size,
            random_state=0,
            **COMMON,
        )
        theirs = SGDClassifier(
            shuffle=sampling == "reshuffle", random_state=0, **COMMON
        )
        model.set_params(max_iter=1).fit(data[:100], y[:100])  # compile or load
        rows.append(
            (dtype, order, batch_size, sampling)
            + per_epoch_ratio(
                lambda epochs, m=model, d=data: m.set_params(max_iter=epochs).fit(d, y),
                lambda epochs, t=theirs: quiet(
                    lambda: t.set_params(max_iter=epochs).fit(X, y)
                ),
                args.repeats,
                args.epochs,
            )
        )
    return rows


@numba.njit(error_model="numpy")
def minimal_epoch(data, columns, indptr, y, w, order, eta, alpha):
    """The least an SGD epoch over CSR rows must do, as a floor for our kernel.

    Forward, batch 1, log loss on ``±1`` targets, L2 as a lazy scale,
    intercept, rows prefetched four ahead, unsigned indexing: the kernel's
    memory accesses and arithmetic, without its generality (losses, schedules,
    batches, sampling schemes, failure checks).
    """
    scale, b = 1.0, 0.0
    one = np.uint64(1)
    for q in range(order.shape[0]):
        if q + 4 < order.shape[0]:
            ahead = order[q + 4]
            for p in range(indptr[ahead], indptr[ahead + 1], 8):
                _prefetch(data, p)
                _prefetch(columns, p)
        i = order[q]
        start, end = np.uint64(indptr[i]), np.uint64(indptr[i + 1])
        dot = 0.0
        p = start
        while p < end:
            dot += data[p] * w[columns[p]]
            p += one
        z = -(scale * dot + b) * y[i]
        g = eta * -y[i] / (1.0 + np.exp(-z)) if z > -37.0 else eta * -y[i] * np.exp(z)
        scale *= 1.0 - eta * alpha
        step = -g / scale
        p = start
        while p < end:
            w[columns[p]] += step * data[p]
            p += one
        b -= g
    return scale


def average_rows(args):
    """Averaged CSR fits (``average=True`` on both sides) against SGDClassifier's.

    scikit-learn's averaged SGD keeps its running mean lazily (an update
    costs the row's non-zeros); so does ours on CSR rows.
    """
    X, y = make_sparse_data(args.n_samples, args.n_features, args.nnz)
    rows = []
    for batch_size in (1, 32):
        model = BackwardSGDClassifier(
            order="forward",
            sampling="reshuffle",
            batch_size=batch_size,
            average=True,
            random_state=0,
            **COMMON,
        )
        theirs = SGDClassifier(shuffle=True, average=True, random_state=0, **COMMON)
        model.set_params(max_iter=1).fit(X[:100], y[:100])  # compile or load
        rows.append(
            ("float64", "forward+average", batch_size, "reshuffle")
            + per_epoch_ratio(
                lambda epochs, m=model: m.set_params(max_iter=epochs).fit(X, y),
                lambda epochs, t=theirs: quiet(
                    lambda: t.set_params(max_iter=epochs).fit(X, y)
                ),
                args.repeats,
                args.epochs,
            )
        )
    return rows


def kernel_floor_rows(args):
    """One epoch of our CSR kernel against :func:`minimal_epoch`, same rows."""
    X, y = make_sparse_data(args.n_samples, args.n_features, args.nnz)
    signs = np.where(y == 1, 1.0, -1.0)
    columns = X.indices.view(np.uint32)
    rows = []
    for sampling in ("reshuffle", "cyclic"):
        kernel, order = kernel_epoch(X, signs, sampling)

        def minimal(o=order):
            minimal_epoch(
                X.data,
                columns,
                X.indptr,
                signs,
                np.zeros(X.shape[1]),
                o,
                COMMON["eta0"],
                COMMON["alpha"],
            )

        kernel(), minimal()  # compile or load
        rows.append((sampling,) + median_ratio(kernel, minimal, args.repeats, 1))
    return rows


def multiclass_rows(args):
    """10 classes: our multinomial fit against our one-vs-rest fit, both serial."""
    X, y = make_sparse_data(args.n_samples, args.n_features, args.nnz, n_classes=10)
    rows = []
    for order in ("forward", "backward"):
        params = dict(order=order, max_iter=args.epochs, random_state=0, **COMMON)
        multinomial = BackwardSGDClassifier(multi_class="multinomial", **params)
        ovr = BackwardSGDClassifier(multi_class="ovr", n_jobs=1, **params)
        for model in (multinomial, ovr):
            model.set_params(max_iter=1).fit(X[:500], y[:500])  # compile or load
            model.set_params(max_iter=args.epochs)
        times = median_ratio(
            lambda m=multinomial: m.fit(X, y),
            lambda m=ovr: m.fit(X, y),
            args.repeats,
            args.epochs,
        )
        rows.append((order,) + times)
    return rows


def multiclass_table(rows):
    """The Markdown table of :func:`multiclass_rows` (bold: median of paired ratios)."""
    lines = [
        "| **multinomial / ovr** | order | multinomial s | one-vs-rest s |",
        "|---|---|---|---|",
    ]
    for order, multi, ovr, ratio in rows:
        lines.append(f"| **{ratio:.2f}** | {order} | {multi:.4f} | {ovr:.4f} |")
    lines += [
        "",
        "**multinomial / ovr**: median of the paired ratios of the times per "
        "epoch; **multinomial s**, **one-vs-rest s**: median seconds per epoch.",
    ]
    return "\n".join(lines)


def sparse_table(rows, epochs):
    """The Markdown table of :func:`sparse_rows`, ratios first, with its legend."""
    lines = [
        "| **ours / sklearn** | whole fit | dtype | order | batch | sampling "
        "| ours s | sklearn s | fixed ms |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        labels, (ours, theirs, ratio, whole, fixed, their_fixed) = row[:4], row[4:]
        lines.append(
            f"| **{ratio:.2f}** | {whole:.2f} | "
            + " | ".join(map(str, labels))
            + f" | {ours:.4f} | {theirs:.4f} "
            f"| {1e3 * fixed:.0f} / {1e3 * their_fixed:.0f} |"
        )
    lines += [
        "",
        "**ours / sklearn**: median of the paired ratios of the times per epoch "
        "(scikit-learn: float64, batch 1). **whole fit**: the same for a whole "
        f"{epochs}-epoch fit (median). **ours s**, **sklearn s**: seconds per "
        "epoch. **fixed ms**: ours / scikit-learn's. Per epoch: the time of a fit "
        f"of {epochs} epochs minus that of a 1-epoch fit, over the {epochs - 1} "
        "extra epochs; fixed: the rest of the 1-epoch fit (validation, set-up). "
        "scikit-learn runs with shuffle=True against reshuffle, shuffle=False "
        "against cyclic.",
    ]
    return "\n".join(lines)


#: The parts of the benchmark, in the order they run (``--part``).
PARTS = ("sparse", "average", "floor", "multiclass", "compile")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=100_000)
    parser.add_argument("--n-features", type=int, default=100_000)
    parser.add_argument("--nnz", type=int, default=50, help="non-zeros per row")
    parser.add_argument(
        "--epochs", type=int, default=4, help="epochs of the long fits (>= 2)"
    )
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--quick", action="store_true", help="n=d=5,000, 8-epoch fits, 3 repeats"
    )
    parser.add_argument(
        "--part",
        choices=PARTS,
        action="append",
        help="run only this part (repeatable; default: all)",
    )
    _harness.script_arguments(parser)
    args = parser.parse_args(argv)
    parts = args.part or PARTS
    if args.epochs < 2:
        parser.error("--epochs must be at least 2")
    if args.quick:
        # short epochs: enough of them that the extra time dwarfs timer noise
        args.n_samples, args.n_features, args.repeats = 5_000, 5_000, 3
        args.epochs = 8
    run = _harness.stamp()
    data = {
        "meta": run,
        **{
            name: getattr(args, name)
            for name in ("n_samples", "n_features", "nnz", "epochs", "repeats")
        },
    }

    def named(fields, rows):
        return [dict(zip(fields, row)) for row in rows]

    print(
        f"# Sparse CSR, log_loss, L2, constant learning rate: n={args.n_samples:,}, "
        f"d={args.n_features:,}, {args.nnz} non-zeros per row\n"
    )
    print(
        _harness.provenance(run, args.quick)
        + f" Fits of 1 and {args.epochs} epochs, median of {args.repeats} "
        "alternating repeats, BLAS limited to 1 thread.\n"
    )
    with threadpool_limits(limits=1):
        if "sparse" in parts:
            rows = sparse_rows(args)
            data["sparse"] = named(SPARSE_FIELDS, rows)
            print(sparse_table(rows, args.epochs))
        if "average" in parts:
            rows = average_rows(args)
            data["average"] = named(SPARSE_FIELDS, rows)
            print("\n## Averaged SGD (average=True on both sides)\n")
            print(sparse_table(rows, args.epochs))
        if "floor" in parts:
            floor = kernel_floor_rows(args)
            data["floor"] = named(FLOOR_FIELDS, floor)
            print(
                "\n## Our kernel against a minimal loop (float64, forward, batch 1, "
                "one epoch)\n"
            )
            print(
                "| sampling | kernel s/epoch | minimal loop s/epoch "
                "| kernel / minimal |"
            )
            print("|---|---|---|---|")
            for sampling, kernel, minimal, ratio in floor:
                print(
                    f"| {sampling} | {kernel:.4f} | {minimal:.4f} | **{ratio:.2f}** |"
                )
            print(
                "\nThe minimal loop (minimal_epoch) does the same memory accesses "
                "and arithmetic with none of the kernel's generality: the floor of "
                "this design."
            )
        if "multiclass" in parts:
            rows = multiclass_rows(args)
            data["multiclass"] = named(MULTICLASS_FIELDS, rows)
            print(
                "\n## 10 classes, batch 1, one thread: multinomial against "
                "one-vs-rest\n"
            )
            print(multiclass_table(rows))
    if "compile" in parts:
        compile_times = _harness.compile_seconds(
            "sparse.random(64, 8, density=0.5, format='csr', random_state=0)"
        )
        data["compile"] = compile_times
        print(
            f"\ncompile time of the first sparse fit in a fresh process: "
            f"{compile_times['no cache']:.1f} s with an empty Numba cache, "
            f"{compile_times['from cache']:.2f} s loading from the cache "
            "(excluded from the per-epoch times above)"
        )
    _harness.write_results(None, data, json_path=args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
