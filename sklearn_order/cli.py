"""The command-line main job: compare iteration orders on a data set.

``python -m sklearn_order compare`` (also installed as ``sklearn-order``)
fits each chosen order × sampling scheme over several seeds on a
standardized train/test split and reports, per configuration: the test score
(mean ± std over seeds), the training objective, the jitter of the final
iterates (mean ``‖θ_k − θ_{k−1}‖`` over the last epoch), the spread of the
solutions across seeds, the epochs to converge and the fit time. It prints a
table and writes ``compare.json`` (every number) and ``compare.png``
(training objective per epoch and step norm per step, one line per
configuration) into ``--out``.

With no ``--data`` it runs on scikit-learn's bundled breast-cancer data.
"""

import argparse
import csv
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from scipy import sparse

from . import __version__
from ._cache import compile_notices
from .diagnostics import training_objective, trajectory
from .estimators import BackwardSGDClassifier, BackwardSGDRegressor
from .orders import ORDERS
from .sampling import SAMPLINGS, n_batches

PROG = "sklearn-order"
DEFAULT_CONFIGS = "forward:reshuffle,backward:reshuffle,forward+average:reshuffle"
# Bound the O(K²) backward replays of the figures: at most this many epochs
# in the objective curve, and the step norm at this many sampled steps.
MAX_CURVE_EPOCHS = 100
TRACE_POINTS = 400


class CommandError(Exception):
    """A problem with the user's input: reported as one line, no traceback."""


# -- data -------------------------------------------------------------------------


def load_data(path, data_format, target, task):
    """Load the data set; infer the task when not given.

    Parameters
    ----------
    path : str or None
        LIBSVM/svmlight or CSV file; None for the bundled default.
    data_format : {"auto", "svmlight", "csv"}
    target : str or None
        The CSV column holding the target.
    task : {"classification", "regression"} or None

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
    task : str
    description : str
    """
    if path is None:
        from sklearn.datasets import load_breast_cancer

        X, y = load_breast_cancer(return_X_y=True)
        return (
            X,
            y,
            task or "classification",
            "breast cancer (bundled with scikit-learn)",
        )
    path = Path(path)
    if not path.is_file():
        raise CommandError(f"no such file: {path}")
    if data_format == "auto":
        data_format = "csv" if path.suffix.lower() == ".csv" else "svmlight"
    if data_format == "csv":
        X, y = _read_csv(path, target)
    else:
        X, y = _read_svmlight(path)
    if X.shape[0] == 0:
        raise CommandError(f"{path} holds no rows")
    if X.shape[1] == 0:
        raise CommandError(f"{path} holds no feature columns")
    task = task or _infer_task(y)
    if task == "regression":
        try:
            y = y.astype(np.float64)
        except ValueError:
            raise CommandError(
                "the target is not numeric: use --task classification"
            ) from None
    elif np.unique(y).size < 2:
        raise CommandError("the target has a single class: nothing to classify")
    return X, y, task, str(path)


def _read_svmlight(path):
    from sklearn.datasets import load_svmlight_file

    try:
        X, y = load_svmlight_file(str(path))
    except (ValueError, UnicodeDecodeError, RuntimeError) as error:
        raise CommandError(f"cannot read {path} as LIBSVM/svmlight: {error}") from None
    return X, y  # CSR: the estimators train on sparse rows directly


def _read_csv(path, target):
    if target is None:
        raise CommandError("a CSV file needs --target COLUMN (the column to predict)")
    try:
        with open(path, newline="") as handle:
            rows = list(csv.reader(handle))
    except (UnicodeDecodeError, csv.Error) as error:
        raise CommandError(f"cannot read {path} as CSV: {error}") from None
    if not rows:
        raise CommandError(f"{path} is empty")
    header, body = rows[0], [row for row in rows[1:] if row]
    if target not in header:
        raise CommandError(
            f"no column {target!r} in {path}; columns: {', '.join(header)}"
        )
    if any(len(row) != len(header) for row in body):
        raise CommandError(f"cannot read {path} as CSV: rows of different lengths")
    column = header.index(target)
    y = np.array([row[column] for row in body])
    features = [name for name in header if name != target]
    X = np.empty((len(body), len(features)))
    for j, name in enumerate(features):
        source = header.index(name)
        try:
            X[:, j] = [float(row[source]) for row in body]
        except ValueError:
            raise CommandError(f"column {name!r} of {path} is not numeric") from None
    try:
        y = y.astype(np.float64)
    except ValueError:
        pass  # class labels
    return X, y


def _infer_task(y):
    if y.dtype.kind not in "fiu":
        return "classification"
    if np.all(y == np.round(y)) and np.unique(y).size <= min(20, max(2, len(y) // 5)):
        return "classification"
    return "regression"


# -- the comparison ---------------------------------------------------------------


def parse_configs(text):
    """``"forward:reshuffle,forward+average:cyclic"`` → list of (method, sampling).

    A method is an order, or ``forward+average`` (forward SGD reporting the
    running mean of its iterates).
    """
    methods = [*ORDERS, "forward+average"]
    configs = []
    for item in text.split(","):
        method, _, sampling = item.strip().partition(":")
        sampling = sampling or "reshuffle"
        if method not in methods:
            raise CommandError(
                f"unknown order {method!r}; choose from {', '.join(methods)}"
            )
        if sampling not in SAMPLINGS:
            raise CommandError(
                f"unknown sampling {sampling!r}; choose from {', '.join(SAMPLINGS)}"
            )
        configs.append((method, sampling))
    return configs


def _estimator(task, method, sampling, seed, args, **overrides):
    """The estimator of one configuration (``method``: an order or forward+average)."""
    Estimator = (
        BackwardSGDClassifier if task == "classification" else BackwardSGDRegressor
    )
    order, _, averaged = method.partition("+")
    params = dict(
        order=order,
        average=averaged == "average",
        sampling=sampling,
        alpha=args.alpha,
        eta0=args.eta0,
        batch_size=args.batch_size,
        max_iter=args.max_iter,
        tol=args.tol,
        random_state=seed,
    )
    params.update(overrides)
    return Estimator(**params)


def _theta(model):
    return np.concatenate([np.ravel(model.coef_), np.ravel(model.intercept_)])


def _progress_shown(quiet):
    """Whether progress is shown: on a terminal, unless ``--quiet``."""
    return not quiet and sys.stderr.isatty()


class Progress:
    """A one-line progress bar on stderr (only on a terminal, unless quiet)."""

    def __init__(self, total, quiet):
        self.total, self.done = total, 0
        self.active = _progress_shown(quiet)

    def step(self, label):
        self.done += 1
        if self.active:
            filled = int(30 * self.done / self.total)
            bar = "#" * filled + "-" * (30 - filled)
            print(
                f"\r[{bar}] {self.done}/{self.total} {label:<30}",
                end="",
                file=sys.stderr,
                flush=True,
            )

    def close(self):
        if self.active:
            print(file=sys.stderr)


def compare(X, y, task, args):
    """Run every configuration over every seed; return all the numbers.

    Returns
    -------
    dict
        JSON-ready results: one entry per configuration.
    """
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    stratify = y if task == "classification" else None
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=args.test_size, random_state=0, stratify=stratify
    )
    # centring would fill sparse rows in: sparse data is only scaled
    scaler = StandardScaler(with_mean=not sparse.issparse(X)).fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    maps_per_epoch = n_batches(X_train.shape[0], args.batch_size)
    configs = parse_configs(args.configs)
    progress = Progress(len(configs) * (args.seeds + 1), args.quiet)
    runs = {}
    for order, sampling in configs:
        runs[order, sampling] = []
        for seed in range(args.seeds):
            progress.step(f"{order}/{sampling} seed {seed}")
            runs[order, sampling].append(
                _one_run(
                    task,
                    order,
                    sampling,
                    seed,
                    args,
                    X_train,
                    y_train,
                    X_test,
                    y_test,
                    maps_per_epoch,
                )
            )
    # the curves of every configuration cover the same epochs
    epochs = min(max(r["n_iter"] for rs in runs.values() for r in rs), MAX_CURVE_EPOCHS)
    results = []
    for (order, sampling), config_runs in runs.items():
        progress.step(f"{order}/{sampling} curves")
        results.append(
            _summarize(
                order,
                sampling,
                config_runs,
                X_train,
                y_train,
                task,
                args,
                maps_per_epoch,
                epochs,
            )
        )
    progress.close()
    return {
        "version": __version__,
        "task": task,
        "n_train": int(X_train.shape[0]),
        "n_test": int(X_test.shape[0]),
        "n_features": int(X.shape[1]),
        "maps_per_epoch": int(maps_per_epoch),
        "parameters": {
            "alpha": args.alpha,
            "eta0": args.eta0,
            "batch_size": args.batch_size,
            "max_iter": args.max_iter,
            "tol": args.tol,
            "seeds": args.seeds,
            "learning_rate": "constant",
        },
        "configurations": results,
    }


def _one_run(
    task, order, sampling, seed, args, X_train, y_train, X_test, y_test, maps_per_epoch
):
    model = _estimator(task, order, sampling, seed, args)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        start = time.perf_counter()
        model.fit(X_train, y_train)
        fit_time = time.perf_counter() - start
    converged = not any(
        "Maximum number of iterations" in str(w.message) for w in caught
    )
    # jitter: the mean step norm over the last epoch of the returned run
    fixed = _estimator(
        task, order, sampling, seed, args, tol=None, max_iter=model.n_iter_
    )
    last_epoch = trajectory(
        fixed,
        X_train,
        y_train,
        every=1,
        n_steps=model.n_iter_ * maps_per_epoch,
        start=(model.n_iter_ - 1) * maps_per_epoch,
    )
    return {
        "seed": seed,
        "test_score": float(model.score(X_test, y_test)),
        "training_objective": float(training_objective(model, X_train, y_train)),
        "n_iter": int(model.n_iter_),
        "converged": converged,
        "fit_seconds": fit_time,
        "jitter": float(last_epoch.step_norms().mean()),
        "theta": _theta(model).tolist(),
    }


def _summarize(
    order, sampling, runs, X_train, y_train, task, args, maps_per_epoch, epochs
):
    thetas = np.array([run["theta"] for run in runs])
    scores = np.array([run["test_score"] for run in runs])
    # curves from seed 0: the objective of the iterate after each epoch, and
    # the step norm ‖θ_k − θ_{k−1}‖ at up to TRACE_POINTS steps k
    fixed = _estimator(task, order, sampling, 0, args, tol=None, max_iter=epochs)
    per_epoch = trajectory(fixed, X_train, y_train, every=maps_per_epoch)
    objective = training_objective(
        fixed, X_train, y_train, coef=per_epoch.coef, intercept=per_epoch.intercept
    )
    total = epochs * maps_per_epoch
    sampled = np.unique(np.linspace(1, total, min(TRACE_POINTS, total)).astype(int))
    pairs = np.unique(np.concatenate([sampled - 1, sampled]))
    trace = trajectory(fixed, X_train, y_train, steps=pairs[pairs >= 1])
    thetas_at = dict(zip(trace.steps.tolist(), trace.thetas()))
    theta0 = np.zeros(trace.thetas().shape[1])
    step_norms = [
        float(np.linalg.norm(thetas_at[k] - thetas_at.get(k - 1, theta0)))
        for k in sampled.tolist()
    ]
    return {
        "order": order,
        "sampling": sampling,
        "label": f"{order}/{sampling}",
        "test_score_mean": float(scores.mean()),
        "test_score_std": float(scores.std()),
        "training_objective_mean": float(
            np.mean([r["training_objective"] for r in runs])
        ),
        "jitter_mean": float(np.mean([r["jitter"] for r in runs])),
        "spread_across_seeds": float(
            np.linalg.norm(thetas - thetas.mean(axis=0), axis=1).mean()
        ),
        "epochs_mean": float(np.mean([r["n_iter"] for r in runs])),
        "all_converged": all(r["converged"] for r in runs),
        "fit_seconds_mean": float(np.mean([r["fit_seconds"] for r in runs])),
        "objective_per_epoch": [float(v) for v in objective],
        "step_norm_steps": sampled.tolist(),
        "step_norms": step_norms,
        "runs": runs,
    }


# -- output -----------------------------------------------------------------------


def format_table(results):
    """The comparison as a Markdown table."""
    metric = "accuracy" if results["task"] == "classification" else "R²"
    lines = [
        f"| configuration | test {metric} | training objective | final jitter "
        "| spread across seeds | epochs | fit time (s) |",
        "|---|---|---|---|---|---|---|",
    ]
    for c in results["configurations"]:
        epochs = f"{c['epochs_mean']:.0f}" + ("" if c["all_converged"] else " (max)")
        lines.append(
            f"| {c['label']} | {c['test_score_mean']:.4f} ± {c['test_score_std']:.4f} "
            f"| {c['training_objective_mean']:.5g} | {c['jitter_mean']:.2e} "
            f"| {c['spread_across_seeds']:.2e} | {epochs} "
            f"| {c['fit_seconds_mean']:.3f} |"
        )
    return "\n".join(lines)


def write_figure(results, path):
    """Training objective per epoch and step norm per step; False without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for c in results["configurations"]:
        objective = np.array(c["objective_per_epoch"])
        left.plot(np.arange(1, len(objective) + 1), objective, label=c["label"])
        norms = np.maximum(np.array(c["step_norms"]), 1e-17)  # log scale: no zeros
        right.semilogy(c["step_norm_steps"], norms, label=c["label"], lw=0.8)
    left.set(
        xlabel="epoch",
        ylabel="training objective",
        title="Training objective of the iterate after each epoch",
    )
    right.set(
        xlabel="step k (maps applied)",
        ylabel="‖θ_k − θ_{k−1}‖",
        title="Step norm per step (seed 0)",
    )
    for axis in (left, right):
        axis.grid(alpha=0.3)
        axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return True


def build_parser():
    """The argument parser of the command line."""
    parser = argparse.ArgumentParser(
        prog=PROG, description="Compare SGD iteration orders on a data set."
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {__version__}"
    )
    commands = parser.add_subparsers(dest="command")
    compare_parser = commands.add_parser(
        "compare",
        help="fit each order × sampling over several seeds and compare",
        description=__doc__.split("\n\n")[1],
    )
    add = compare_parser.add_argument
    add("--data", help="LIBSVM/svmlight or CSV file (default: bundled breast cancer)")
    add(
        "--format",
        dest="data_format",
        choices=["auto", "svmlight", "csv"],
        default="auto",
        help="file format (default: from the extension)",
    )
    add("--target", help="the CSV column to predict")
    add(
        "--task",
        choices=["classification", "regression"],
        help="default: inferred from the target",
    )
    add(
        "--configs",
        default=DEFAULT_CONFIGS,
        help=f"order:sampling pairs, comma-separated (default: {DEFAULT_CONFIGS})",
    )
    add("--seeds", type=int, default=5, help="seeds per configuration (default: 5)")
    add("--alpha", type=float, default=0.01, help="L2 strength (default: 0.01)")
    add("--eta0", type=float, default=0.05, help="constant step size (default: 0.05)")
    add("--batch-size", type=int, default=8, help="rows per update (default: 8)")
    add("--max-iter", type=int, default=1000, help="maximum epochs (default: 1000)")
    add("--tol", type=float, default=1e-3, help="stopping tolerance (default: 1e-3)")
    add("--test-size", type=float, default=0.25, help="test fraction (default: 0.25)")
    add(
        "--out",
        default="sklearn_order_compare",
        help="output folder (default: ./sklearn_order_compare)",
    )
    add("--quiet", action="store_true", help="no progress bar")
    return parser


def _print_notice(message):
    """Print ``message`` on a line of its own, over the progress bar's."""
    print(f"\r{message:<72}", file=sys.stderr)


def _no_notice(message):
    """Print nothing (no progress shown)."""


def run(args):
    """Run the comparison command; return the results."""
    if args.seeds < 1:
        raise CommandError("--seeds must be at least 1")
    if not 0 < args.test_size < 1:
        raise CommandError("--test-size must be between 0 and 1")
    X, y, task, description = load_data(
        args.data, args.data_format, args.target, args.task
    )
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise CommandError(f"cannot create the output folder {out}: {error}") from None
    # a first run compiles the kernels: say so in the progress output
    shown = _progress_shown(args.quiet)
    with compile_notices(_print_notice if shown else _no_notice):
        results = compare(X, y, task, args)
    results["data"] = description
    table = format_table(results)
    print(
        f"sklearn_order {__version__}: {description}, {task}, "
        f"{results['n_train']} train / {results['n_test']} test rows, "
        f"{results['n_features']} features"
    )
    print(
        f"constant eta0={args.eta0}, alpha={args.alpha}, batch_size={args.batch_size}, "
        f"{args.seeds} seeds\n"
    )
    print(table)
    (out / "compare.json").write_text(json.dumps(results, indent=1))
    (out / "compare.md").write_text(table + "\n")
    written = [out / "compare.json", out / "compare.md"]
    note = ""
    if write_figure(results, out / "compare.png"):
        written.append(out / "compare.png")
    else:
        note = " (the figure needs matplotlib: pip install 'sklearn_order[plot]')"
    print(f"\nwrote {', '.join(map(str, written))}{note}")
    return results


def main(argv=None):
    """Entry point of ``python -m sklearn_order`` and ``sklearn-order``."""
    parser = build_parser()
    arguments = list(sys.argv[1:] if argv is None else argv)
    if (
        not arguments
        or arguments[0].startswith("-")
        and arguments[0] not in ("-h", "--help", "--version")
    ):
        arguments.insert(0, "compare")  # the default command
    args = parser.parse_args(arguments)
    try:
        run(args)
    except CommandError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2
    except ValueError as error:  # the estimators' clear errors (e.g. divergence)
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    return 0
