"""Ten classes, one pass: one-vs-rest trained as one group against scikit-learn's
SGD, against our own one-pass-per-class fit, and the multinomial loss against it.

A one-vs-rest classifier trains its classes as one group of models that
share the batch sequence: each row is read once per epoch for every class
(``sklearn_order.kernels.group``). This compares, side by side in one
process, alternating, per epoch (the difference of a long and a one-epoch
fit, so that a fit's fixed cost cancels), one thread each:

- **sparse**: the suite's 10-class CSR problem (100,000 × 100,000, 50
  non-zeros per row): ours, ours with one pass per class (the engine before
  grouping, kept for this comparison), scikit-learn's ``SGDClassifier``, and
  our multinomial loss;
- **dense**: 200,000 × 100, ten classes: ours, ours one pass per class,
  scikit-learn's;
- **sparse, averaged**: the sparse problem with ``average=True`` on every
  side (each class keeps its running mean, lazily on CSR rows).

And the floors of both groups: minimal loops that do only the group's
memory accesses and arithmetic (sparse: for each row in a random order, each
non-zero's ten weights read for the dot products and written by the update;
dense: for each row, each model's dot product with the kernel's partial
sums and its update, the row read from memory once), timed beside our
kernel's epoch. Under the group's contract (each model's arithmetic that of
its fit alone) the dense floor bounds how far below scikit-learn's time a
grouped one-vs-rest epoch can go.

Run::

    python benchmarks/bench_ovr.py           # writes docs/benchmarks/ovr.{md,json}
    python benchmarks/bench_ovr.py --quick   # small smoke run (writes nothing)

Absolute times on shared machines are noise; read the ratios.
"""

import argparse
import contextlib
import warnings
from pathlib import Path

import _harness
import numba
import numpy as np
from _data import make_sparse_data
from scipy import sparse
from sklearn.linear_model import SGDClassifier
from threadpoolctl import threadpool_limits

from sklearn_order import BackwardSGDClassifier
from sklearn_order import _training as training
from sklearn_order._jit import _prefetch
from sklearn_order.kernels.storage import dense_row_dot

RESULTS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks" / "ovr.md"
COMMON = {
    "loss": "log_loss",
    "learning_rate": "constant",
    "eta0": 0.01,
    "alpha": 1e-4,
    "tol": None,
}


@contextlib.contextmanager
def one_pass_per_class():
    """Fit one-vs-rest classes one by one, each with its own pass (no group)."""
    grouped = training.groupable
    training.groupable = lambda problems: False
    try:
        yield
    finally:
        training.groupable = grouped


def quiet(fit):
    """Run ``fit`` without the max_iter warnings of ``tol=None``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit()


def fits(X, y, multinomial, **shared):
    """``label -> fit(max_iter)`` of the compared classifiers.

    ``shared``: parameters of every side (``average=True``).
    """

    def ours(max_iter, **params):
        model = BackwardSGDClassifier(
            order="forward",
            max_iter=max_iter,
            random_state=0,
            **COMMON,
            **shared,
            **params,
        )
        return quiet(lambda: model.fit(X, y))

    def per_class(max_iter):
        with one_pass_per_class():
            return ours(max_iter)

    def sklearn(max_iter):
        model = SGDClassifier(max_iter=max_iter, random_state=0, **COMMON, **shared)
        return quiet(lambda: model.fit(X, y))

    compared = {"ours": ours, "one pass per class": per_class, "scikit-learn": sklearn}
    if multinomial:
        compared["multinomial"] = lambda max_iter: ours(
            max_iter, multi_class="multinomial"
        )
    return compared


@numba.njit(nogil=True, error_model="numpy", _nrt=False)
def minimal_group_epoch(data, columns, indptr, Y, W, order, eta, alpha, work):
    """The least one epoch of a CSR group must do: the floor of our kernel.

    Forward, batch 1, log loss on each model's ``±1`` targets ``Y[:, m]``, L2
    as a lazy scale per model, intercepts, rows prefetched four ahead and
    the next row's weights one ahead: per row, each non-zero's weights for
    every model read for the dot products, each model's loss derivative,
    then the weights written by the update. The kernel's memory accesses and
    arithmetic (as ``bench_sparse.minimal_epoch`` is for one model), without
    its generality: losses, schedules, batches, sampling schemes, failure
    checks. ``work`` is scratch space of shape ``(4, n_models)``.
    """
    M = Y.shape[1]
    dots, steps, scale, b = work[0], work[1], work[2], work[3]
    for m in range(M):
        scale[m] = 1.0
        b[m] = 0.0
    stride = np.uint64(M)
    one = np.uint64(1)
    decay = 1.0 - eta * alpha
    for q in range(order.shape[0]):
        if q + 4 < order.shape[0]:
            ahead = order[q + 4]
            for p in range(indptr[ahead], indptr[ahead + 1], 8):
                _prefetch(data, p)
                _prefetch(columns, p)
        if q + 1 < order.shape[0]:
            nxt = order[q + 1]
            for p in range(indptr[nxt], indptr[nxt + 1]):
                _prefetch(W, np.uint64(columns[p]) * stride)
        i = order[q]
        start, end = np.uint64(indptr[i]), np.uint64(indptr[i + 1])
        for m in range(M):
            dots[m] = 0.0
        p = start
        while p < end:
            x = data[p]
            c = np.uint64(columns[p]) * stride
            for m in range(M):
                dots[m] += x * W[c + np.uint64(m)]
            p += one
        for m in range(M):
            y = Y[i, m]
            z = -(scale[m] * dots[m] + b[m]) * y
            g = eta * -y / (1.0 + np.exp(-z)) if z > -37.0 else eta * -y * np.exp(z)
            scale[m] *= decay
            steps[m] = -g / scale[m]
            b[m] -= g
        p = start
        while p < end:
            x = data[p]
            c = np.uint64(columns[p]) * stride
            for m in range(M):
                W[c + np.uint64(m)] += steps[m] * x
            p += one
    return b[0]


@numba.njit(nogil=True, error_model="numpy", _nrt=False)
def minimal_dense_group_epoch(X, Y, W, order, eta, alpha, b):
    """The least one epoch of a dense group must do under the group's contract.

    Forward, batch 1, log loss on each model's ``±1`` targets ``Y[:, m]``, L2
    decay fused into the update, intercepts, rows prefetched four ahead: per
    row, each model's dot product with the kernel's own
    (:func:`~sklearn_order.kernels.storage.dense_row_dot`, eight partial sums
    in a fixed combination: the arithmetic of the model's fit alone), its
    loss derivative, and its update along its contiguous weights (``W`` is
    model-major, shape ``(n_models, n_features)``, as the kernel's dense
    layout). The row is read from memory once, then from cache. ``b`` holds
    the intercepts.
    """
    M, d = W.shape
    decay = 1.0 - eta * alpha
    for m in range(M):
        b[m] = 0.0
    for q in range(order.shape[0]):
        if q + 4 < order.shape[0]:
            ahead = order[q + 4]
            for j in range(0, d, 8):
                _prefetch(X, (ahead, j))
        i = order[q]
        for m in range(M):
            w = W[m]
            y = Y[i, m]
            z = y * (dense_row_dot(X, i, w, 0) + b[m])
            g = eta * -y / (1.0 + np.exp(z))
            for j in range(d):
                w[j] = decay * w[j] - g * X[i, j]
            b[m] -= g
    return b[0]


def floor_rows(X, y, repeats):
    """Our grouped epoch against the minimal loop of its storage, alternating."""
    labels = np.unique(y)
    Y = np.ascontiguousarray(np.where(y[:, None] == labels, 1.0, -1.0))
    order = np.random.default_rng(0).permutation(X.shape[0])
    if sparse.issparse(X):
        W = np.zeros(X.shape[1] * len(labels))
        columns = X.indices.astype(np.uint32)
        work = np.empty((4, len(labels)))

        def floor():
            W[:] = 0.0
            minimal_group_epoch(
                X.data,
                columns,
                X.indptr,
                Y,
                W,
                order,
                COMMON["eta0"],
                COMMON["alpha"],
                work,
            )

    else:
        W = np.zeros((len(labels), X.shape[1]))
        b = np.zeros(len(labels))

        def floor():
            W[:] = 0.0
            minimal_dense_group_epoch(
                X, Y, W, order, COMMON["eta0"], COMMON["alpha"], b
            )

    def ours(max_iter):
        model = BackwardSGDClassifier(
            order="forward", max_iter=max_iter, random_state=0, **COMMON
        )
        return quiet(lambda: model.fit(X, y))

    floor()
    ours(1)  # compiled
    kernel, floors = [], []
    for _ in range(repeats):
        samples = _harness.paired_per_epoch({"ours": ours}, 3, 1)["ours"]
        kernel.append(samples[0]["epoch"])
        floors.append(_harness.timed(floor))
    return {
        "ours s": float(np.median(kernel)),
        "floor s": float(np.median(floors)),
        "ours / floor": _harness.median_ratio(kernel, floors),
    }


def measure(name, X, y, epochs, repeats, multinomial, **shared):
    """Per-epoch seconds of every fit, and the median paired ratios."""
    compared = fits(X, y, multinomial, **shared)
    for fit in compared.values():
        fit(1)  # compiled before timing
    samples = _harness.paired_per_epoch(compared, epochs, repeats)
    seconds = {label: [s["epoch"] for s in runs] for label, runs in samples.items()}
    row = {
        "problem": name,
        "shape": f"{X.shape[0]:,} × {X.shape[1]:,}",
        "seconds": {label: float(np.median(s)) for label, s in seconds.items()},
        "ours / scikit-learn": _harness.median_ratio(
            seconds["ours"], seconds["scikit-learn"]
        ),
        "ours / one pass per class": _harness.median_ratio(
            seconds["ours"], seconds["one pass per class"]
        ),
        "one pass per class / scikit-learn": _harness.median_ratio(
            seconds["one pass per class"], seconds["scikit-learn"]
        ),
    }
    if multinomial:
        row["multinomial / ours"] = _harness.median_ratio(
            seconds["multinomial"], seconds["ours"]
        )
    return row


def markdown(run, rows, floors, quick):
    lines = [
        "# Ten classes, one pass: one-vs-rest as one group",
        "",
        _harness.provenance(run, quick),
        "",
        "Per epoch (a long fit minus a one-epoch fit), one thread each: "
        "log_loss, L2 with alpha 1e-4, constant step 0.01, tol=None; ours "
        "forward, batch 1, reshuffled. Ratios are medians of paired ratios; "
        "seconds are medians.",
        "",
        "| problem | shape | ours ÷ scikit-learn | ours ÷ one pass per class "
        "| one pass per class ÷ scikit-learn | multinomial ÷ ours "
        "| ours s | scikit-learn s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['problem']} | {r['shape']} | {r['ours / scikit-learn']:.3f} "
            f"| {r['ours / one pass per class']:.3f} "
            f"| {r['one pass per class / scikit-learn']:.3f} "
            + (
                f"| {r['multinomial / ours']:.2f} "
                if "multinomial / ours" in r
                else "| – "
            )
            + f"| {r['seconds']['ours']:.3f} | {r['seconds']['scikit-learn']:.3f} |"
        )
    lines += [
        "",
        "**Floors of the groups.** Our grouped epoch ÷ a minimal loop that does "
        "only its memory accesses and arithmetic (median of paired ratios), and "
        "the floor's median seconds ÷ scikit-learn's median seconds above: how "
        "far below scikit-learn a grouped epoch could go with each model's "
        "arithmetic that of its fit alone.",
        "",
        "| problem | ours s | floor s | **ours ÷ floor** | floor ÷ scikit-learn |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        if r["problem"] not in floors:
            continue
        f = floors[r["problem"]]
        lines.append(
            f"| {r['problem']} | {f['ours s']:.3f} | {f['floor s']:.3f} "
            f"| **{f['ours / floor']:.2f}** "
            f"| {f['floor s'] / r['seconds']['scikit-learn']:.3f} |"
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small smoke run")
    _harness.script_arguments(parser)
    args = parser.parse_args(argv)
    run = _harness.stamp()
    if args.quick:
        n_sparse, d_sparse, n_dense, epochs, repeats = 5_000, 5_000, 5_000, 3, 2
    else:
        n_sparse, d_sparse, n_dense, epochs, repeats = 100_000, 100_000, 200_000, 4, 5
    X, y = make_sparse_data(n_sparse, d_sparse, 50, n_classes=10)
    rng = np.random.default_rng(0)
    D = rng.standard_normal((n_dense, 100))
    score = D @ rng.standard_normal(100) + 0.3 * rng.standard_normal(n_dense)
    labels = np.digitize(score, np.quantile(score, np.linspace(0, 1, 11)[1:-1]))
    problems = {"sparse, ten classes": (X, y), "dense, ten classes": (D, labels)}
    with threadpool_limits(1):
        rows = [
            measure(name, *data, epochs, repeats, multinomial=name.startswith("sparse"))
            for name, data in problems.items()
        ]
        # averaged SGD on both sides: each class keeps its running mean
        rows.append(
            measure(
                "sparse, ten classes, averaged",
                X,
                y,
                epochs,
                repeats,
                multinomial=False,
                average=True,
            )
        )
        floors = {name: floor_rows(*data, repeats) for name, data in problems.items()}
    report = markdown(run, rows, floors, args.quick)
    print(report)
    data = {"run": run, "rows": rows, "floors": floors}
    if not args.quick:
        _harness.write_results(report, data, RESULTS)
    if args.json:
        _harness.write_results(None, data, json_path=args.json)


if __name__ == "__main__":
    main()
