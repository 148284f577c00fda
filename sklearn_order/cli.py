"""The command-line main job: compare iteration orders on a data set.

``python -m sklearn_order compare`` (also installed as ``sklearn-order``)
fits each chosen order × sampling scheme over several seeds on a
standardized train/test split and reports, per configuration: the test score
(mean ± std over seeds), the training objective, the jitter of the final
iterates, the spread of the solutions across seeds, the epochs, the update
maps applied and the fit time. It prints a table, with what each column
means beneath it, and writes ``compare.md`` (that text), ``compare.json``
(every number) and ``compare.png`` (training objective per epoch and step
norm per step, one line per configuration) into ``--out``.

With no ``--data`` it runs on scikit-learn's bundled breast-cancer data.
"""

import argparse
import json
import os
import re
import signal
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

import numba
import numpy as np
from scipy import sparse

from . import __version__
from ._cache import cache_directory, compile_notices
from ._machine import machine_description
from ._problem import DivergenceError
from .diagnostics import training_objective, trajectory
from .estimators import BackwardSGDClassifier, BackwardSGDRegressor
from .orders import ORDERS
from .sampling import SAMPLINGS, n_batches
from .warmup import VARIANTS, warm_up

PROG = "sklearn-order"
DEFAULT_CONFIGS = "forward:reshuffle,backward:reshuffle,forward+average:reshuffle"
METHODS = (*ORDERS, "forward+average")
# The jitter is the mean step norm over the last JITTER_MAPS maps of a run:
# backward's iterates there cost one reversed pass each, whatever the data size.
JITTER_MAPS = 8
# Log-spaced points of each figure curve (one replayed chain each for backward).
CURVE_POINTS = 24
# Epochs of the warm-up fits, which compile or load every kernel before timing.
WARM_UP_EPOCHS = 2
# Most bytes of iterates the figures' curves hold at once: on wide data the
# curves are computed in pieces of at most this many θ.
CURVE_BYTES = 64 * 2**20
SAMPLING_HELP = {
    "cyclic": "the rows in data order, every epoch",
    "reshuffle": "a new seeded permutation every epoch",
    "once": "one seeded permutation, reused every epoch",
    "flipflop": "a permutation, then its reverse, alternately",
    "with_replacement": "rows drawn independently (i.i.d. batches)",
    "grab": "online gradient balancing (herding) of the row order",
}
METHOD_HELP = {
    "forward": "ordinary SGD: the newest update applied last",
    "backward": "the newest update applied first: converges to a point",
    "forward+average": "forward SGD reporting the running mean of its iterates",
}


class CommandError(Exception):
    """A problem with the user's input: reported as one line, no traceback."""


# -- data -------------------------------------------------------------------------


def load_data(path, data_format, target, task, dropna=False):
    """Load the data set; infer the task when not given.

    Parameters
    ----------
    path : str or None
        LIBSVM/svmlight or CSV file; None for the bundled default.
    data_format : {"auto", "svmlight", "csv"}
        The file's format; ``"auto"``: CSV for a ``.csv`` name, else LIBSVM.
    target : str or None
        The CSV column holding the target.
    task : {"classification", "regression"} or None
        None: inferred from the target.
    dropna : bool, default=False
        Drop the CSV rows with missing cells instead of refusing the file.

    Returns
    -------
    X : ndarray or CSR matrix of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
    task : str
    description : str
        The data set, and the rows dropped if any.

    Raises
    ------
    CommandError
        For a file that cannot be used, with what to do about it.
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
    if path.is_dir():
        raise CommandError(
            f"--data {path}: is a folder; give a LIBSVM/svmlight or CSV file"
        )
    if not path.is_file():
        raise CommandError(f"--data {path}: no such file; check the path")
    if data_format == "auto":
        data_format = "csv" if path.suffix.lower() == ".csv" else "svmlight"
    description = str(path)
    if data_format == "csv":
        X, y, dropped = _read_csv(path, target, dropna)
        if dropped:
            description += f" ({dropped} rows with missing cells dropped)"
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
                f"{path}: the target is not numeric; use --task classification"
            ) from None
    else:
        classes, counts = np.unique(y, return_counts=True)
        if classes.size < 2:
            raise CommandError(
                f"{path}: the target has a single class, so there is nothing to "
                "classify; use --task regression or another --target"
            )
        if counts.min() < 2:
            raise CommandError(
                f"{path}: class {classes[np.argmin(counts)]!r} of the target has a "
                "single row, too few for a stratified train/test split; drop it, "
                "or use --task regression for a numeric target"
            )
    return X, y, task, description


def _read_svmlight(path):
    from sklearn.datasets import load_svmlight_file

    try:
        X, y = load_svmlight_file(str(path))
    except OverflowError:
        X = None  # a feature index beyond the reader's index type: located below
    except (ValueError, UnicodeDecodeError, RuntimeError) as error:
        raise CommandError(f"cannot read {path} as LIBSVM/svmlight: {error}") from None
    if X is None:
        index, line = _widest_feature(path)
        raise CommandError(
            f"{path}: line {line} holds feature index {index}, too large for the "
            "LIBSVM reader; renumber the features from 1 (or 0) without gaps"
        )
    return X, y  # CSR: the estimators train on sparse rows directly


def _widest_feature(path):
    """The largest feature index of a LIBSVM file, and the first line holding it."""
    pattern = re.compile(rb"(\d+):")
    widest, where = -1, 0
    with open(path, "rb") as handle:
        for line_number, line in enumerate(handle, 1):
            for match in pattern.finditer(line.split(b"#", 1)[0]):
                if int(match.group(1)) > widest:
                    widest, where = int(match.group(1)), line_number
    return widest, where


def _data_bytes(X):
    """Bytes of ``X``'s arrays (dense, or CSR's three)."""
    if sparse.issparse(X):
        return X.data.nbytes + X.indices.nbytes + X.indptr.nbytes
    return X.nbytes


def _n_parameters(task, y, n_features):
    """Length of a run's θ: one weight vector and intercept per output."""
    n_classes = np.unique(y).size if task == "classification" else 1
    return (n_classes if n_classes > 2 else 1) * (n_features + 1)


def _curve_piece(n_parameters):
    """How many iterates one piece of the figures' curves records (at least 2)."""
    return max(2, CURVE_BYTES // (8 * n_parameters))


def memory_estimate(X, y, task, args):
    """About how many bytes a run needs, by part.

    The data (as loaded, its train/test split, and the split scaled); every
    kept θ (one per configuration and seed); the figures' curves (the
    iterates of two pieces, and those of a run's jitter); and one fit's working
    state (its θ, GraB's and the average's vectors, the coupled chains'
    checkpoints; backward GraB's order table, ``max_iter × n_train`` indices).

    Returns
    -------
    dict of str to int
    """
    theta = 8 * _n_parameters(task, y, X.shape[1])
    configs = parse_configs(args.configs)
    fit = (8 + 4 * numba.get_num_threads()) * theta
    if any(ORDERS[m.partition("+")[0]].reverse and s == "grab" for m, s in configs):
        fit += 8 * args.max_iter * int(X.shape[0] * (1 - args.test_size))
    return {
        "data": 3 * _data_bytes(X),
        "kept θ": len(configs) * args.seeds * theta,
        "curves": (2 * _curve_piece(theta // 8) + JITTER_MAPS + 1) * theta,
        "fits": fit,
    }


def _available_memory():
    """Bytes of memory available to a new allocation, or None if unknown."""
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, OSError, ValueError):
        return None


def _size(n_bytes):
    """``n_bytes`` for a person: ``1.5 GiB``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n_bytes < 1024 or unit == "TiB":
            return f"{n_bytes:.3g} {unit}" if unit != "B" else f"{n_bytes} B"
        n_bytes /= 1024


def check_memory(X, y, task, args, available):
    """Refuse a run whose :func:`memory_estimate` exceeds ``available`` bytes.

    Raises
    ------
    CommandError
        With the estimate by part, and the flags that lower it.
    """
    parts = memory_estimate(X, y, task, args)
    total = sum(parts.values())
    if available is None or total <= available:
        return
    n_parameters = _n_parameters(task, y, X.shape[1])
    gaps = ""
    if args.data is not None and sparse.issparse(X):
        index, line = _widest_feature(args.data)
        gaps = (
            f"; if the feature indices have gaps, renumber them (line {line} holds "
            f"feature index {index}, which makes {X.shape[1]:,} columns)"
        )
    raise CommandError(
        f"the run needs about {_size(total)} of memory ("
        + ", ".join(f"{name} {_size(value)}" for name, value in parts.items())
        + f"), more than the {_size(available)} available; lower --seeds or "
        f"--configs (each seed of each configuration keeps a θ of "
        f"{n_parameters:,} numbers){gaps}"
    )


def _read_csv(path, target, dropna):
    """The features, the target and the count of rows dropped, from a CSV file."""
    import pandas as pd

    if target is None:
        raise CommandError(
            f"{path}: a CSV file needs --target COLUMN (the column to predict)"
        )
    try:
        header = pd.read_csv(
            path,
            header=None,
            nrows=1,
            dtype=str,
            keep_default_na=False,
            encoding="utf-8-sig",  # a byte-order mark is not part of a name
        ).iloc[0]
        frame = pd.read_csv(path, encoding="utf-8-sig")
    except pd.errors.EmptyDataError:
        raise CommandError(f"{path} is empty") from None
    except (UnicodeDecodeError, pd.errors.ParserError) as error:
        reason = " ".join(str(error).split())
        raise CommandError(f"cannot read {path} as CSV: {reason}") from None
    names = [str(name).strip() for name in header]
    for position, name in enumerate(names, 1):
        if not name:
            raise CommandError(
                f"{path}: column {position} of the header has no name; name it"
            )
        if names.count(name) > 1:
            where = [str(i) for i, other in enumerate(names, 1) if other == name]
            raise CommandError(
                f"{path}: the header names column {name!r} more than once "
                f"(columns {', '.join(where)}); give each column its own name"
            )
    if not frame.index.equals(pd.RangeIndex(len(frame))) or frame.shape[1] != len(
        names
    ):
        raise CommandError(
            f"{path}: some rows hold more cells than the header names "
            f"({len(names)}); give every row one cell per column"
        )
    frame.columns = names
    if target not in names:
        raise CommandError(
            f"{path}: no column {target!r} for --target; columns: {', '.join(names)}"
        )
    for name in names:
        frame[name] = _numeric_or_labels(frame[name], name, path, name == target)
    missing = frame.isna().to_numpy()
    dropped = 0
    if missing.any():
        if not dropna:
            row, column = np.argwhere(missing)[0]
            raise CommandError(
                f"{path} has {int(missing.sum())} missing cells (blank or NaN) in "
                f"{int(missing.any(axis=1).sum())} rows, the first in column "
                f"{names[column]!r} of data row {row + 1}; fill them, or pass "
                "--dropna to drop those rows"
            )
        dropped = int(missing.any(axis=1).sum())
        frame = frame[~missing.any(axis=1)]
    y = frame[target].to_numpy()
    X = frame.drop(columns=target).to_numpy(dtype=np.float64)
    infinite = np.argwhere(np.isinf(X))
    if infinite.size:
        row, column = infinite[0]
        features = [name for name in names if name != target]
        raise CommandError(
            f"{path}: column {features[column]!r} holds an infinite value in data "
            f"row {row + 1}; give finite numbers"
        )
    return X, y, dropped


def _numeric_or_labels(column, name, path, is_target):
    """A CSV column as numbers (NaN where missing), or a target's class labels."""
    import pandas as pd

    if column.dtype.kind in "fiub":
        return column.astype(np.float64)
    numbers = pd.to_numeric(column, errors="coerce")
    numeric_or_blank = column.isna() | numbers.notna()
    if numeric_or_blank.all():
        return numbers.astype(np.float64)
    if is_target:
        if column.isna().any():
            return column  # missing labels: reported with the other gaps
        return column.astype(str)
    row = int(np.flatnonzero(~numeric_or_blank.to_numpy())[0])
    raise CommandError(
        f"{path}: column {name!r} is not numeric (data row {row + 1} holds "
        f"{column.iloc[row]!r}); give numbers only, or drop the column"
    )


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
    configs = []
    for item in text.split(","):
        method, _, sampling = item.strip().partition(":")
        sampling = sampling or "reshuffle"
        if method not in METHODS:
            raise CommandError(
                f"--configs: unknown order {method!r}; choose from {', '.join(METHODS)}"
            )
        if sampling not in SAMPLINGS:
            raise CommandError(
                f"--configs: unknown sampling {sampling!r}; choose from "
                f"{', '.join(SAMPLINGS)}"
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

    Every kernel the fits use is compiled (or loaded from the cache) by a
    short warm-up fit of each configuration before any fit is timed, so the
    fit times compare the configurations, whatever their listing order.

    Returns
    -------
    results : dict
        JSON-ready results: one entry per configuration.
    thetas : dict of str to ndarray of shape (seeds, n_parameters)
        Every run's ``θ`` (weights, then intercepts), keyed ``order:sampling``
        as ``--configs`` spells them.
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
    data = (X_train, y_train, X_test, y_test)
    maps_per_epoch = n_batches(X_train.shape[0], args.batch_size)
    configs = parse_configs(args.configs)
    progress = Progress(len(configs) * (args.seeds + 2), args.quiet)
    start = time.perf_counter()
    for method, sampling in configs:
        progress.step(f"{method}/{sampling} warm-up")
        _warm_up(task, method, sampling, args, X_train, y_train)
    warm_up_seconds = time.perf_counter() - start
    runs, thetas = {}, {}
    for method, sampling in configs:
        runs[method, sampling] = []
        kept = []
        for seed in range(args.seeds):
            progress.step(f"{method}/{sampling} seed {seed}")
            run, theta = _one_run(
                task, method, sampling, seed, args, data, maps_per_epoch
            )
            runs[method, sampling].append(run)
            kept.append(theta)
        thetas[f"{method}:{sampling}"] = np.array(kept)
    results = []
    for (method, sampling), config_runs in runs.items():
        progress.step(f"{method}/{sampling} curves")
        # up to the configuration's longest run: backward's curves cost a
        # bounded multiple of its own fits, whatever the other configurations
        epochs = max(run["n_iter"] for run in config_runs)
        results.append(
            _summarize(
                method,
                sampling,
                config_runs,
                thetas[f"{method}:{sampling}"],
                _curves(task, method, sampling, args, data, maps_per_epoch, epochs),
            )
        )
    progress.close()
    results = {
        "version": __version__,
        "task": task,
        "n_train": int(X_train.shape[0]),
        "n_test": int(X_test.shape[0]),
        "n_features": int(X.shape[1]),
        "maps_per_epoch": int(maps_per_epoch),
        "jitter_maps": JITTER_MAPS,
        "warm_up_seconds": warm_up_seconds,
        "run_seconds": time.perf_counter() - start,
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
    return results, thetas


def _warm_up(task, method, sampling, args, X_train, y_train):
    """Compile or load every kernel a configuration's fits use (untimed)."""
    model = _estimator(task, method, sampling, 0, args, max_iter=WARM_UP_EPOCHS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X_train, y_train)


def maps_applied(method, n_iter, maps_per_epoch, n_outputs, tol, max_iter):
    """The update maps one fit computed: the work behind its result.

    Forward SGD applies ``n_iter`` epochs of maps once. Backward's doubling
    test recomputes its iterate from the start at 1, 2, 4, … epochs (with a
    tolerance), up to ``n_iter``, the last count it evaluated.

    Parameters
    ----------
    method : str
        An order, or ``"forward+average"``.
    n_iter : int
        The fit's ``n_iter_``.
    maps_per_epoch : int
        Minibatches per epoch.
    n_outputs : int
        Binary problems fitted (one-vs-rest classes; 1 for regression).
    tol : float or None
        The stopping tolerance (None: backward evaluates ``max_iter`` alone).
    max_iter : int
        The most epochs.

    Returns
    -------
    int
    """
    order = method.partition("+")[0]
    epochs = ORDERS[order].evaluated_epochs(n_iter, tol, max_iter)
    return int(epochs * maps_per_epoch * n_outputs)


def _one_run(task, method, sampling, seed, args, data, maps_per_epoch):
    X_train, y_train, X_test, y_test = data
    model = _estimator(task, method, sampling, seed, args)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence: read from converged_
        start = time.perf_counter()
        model.fit(X_train, y_train)
        fit_time = time.perf_counter() - start
    converged = bool(model.converged_)
    start = time.perf_counter()
    n_maps = model.n_iter_ * maps_per_epoch
    last = min(JITTER_MAPS, n_maps)
    # the run's last iterates: those of a fit of its epochs without tolerance
    fixed = _estimator(
        task, method, sampling, seed, args, tol=None, max_iter=model.n_iter_
    )
    # the iterates at maps n − last … n (explicit map counts: a forward run
    # then uses the kernel its fits compiled, not a recording one)
    first = n_maps - last
    ending = trajectory(
        fixed, X_train, y_train, steps=np.arange(max(first, 1), n_maps + 1)
    )
    step_norms = ending.step_norms()
    if first >= 1:  # the first record is the start of the window, not a step
        step_norms = step_norms[1:]
    theta = _theta(model)
    return {
        "seed": seed,
        "test_score": float(model.score(X_test, y_test)),
        "training_objective": float(training_objective(model, X_train, y_train)),
        "n_iter": int(model.n_iter_),
        "maps_applied": maps_applied(
            method,
            model.n_iter_,
            maps_per_epoch,
            np.atleast_2d(model.coef_).shape[0],
            args.tol,
            args.max_iter,
        ),
        "converged": converged,
        "fit_seconds": fit_time,
        "jitter": float(step_norms.mean()),
        "jitter_seconds": time.perf_counter() - start,
        "theta_norm": float(np.linalg.norm(theta)),
        "theta_nonzero": int(np.count_nonzero(theta)),
    }, theta


def _log_points(last, n_points):
    """About ``n_points`` distinct integers from 1 to ``last``, log-spaced."""
    return np.unique(np.geomspace(1, last, n_points).round().astype(np.int64))


def _curves(task, method, sampling, args, data, maps_per_epoch, epochs):
    """Seed 0's objective per epoch and step norm per step, at log-spaced points.

    Each backward iterate is its own reversed pass, so the curves record
    ``CURVE_POINTS`` epochs and ``CURVE_POINTS`` steps ``k`` (with ``k − 1``)
    up to ``epochs``: a bounded number of passes, whatever the run's length.
    On wide data the iterates are computed in pieces of at most
    ``CURVE_BYTES`` (:func:`_curve_piece`), so that the curves never hold
    more than two pieces.
    """
    X_train, y_train = data[:2]
    start = time.perf_counter()
    fixed = _estimator(task, method, sampling, 0, args, tol=None, max_iter=epochs)
    at_epochs = _log_points(epochs, CURVE_POINTS) * maps_per_epoch
    at_steps = _log_points(epochs * maps_per_epoch, CURVE_POINTS)
    wanted = np.union1d(np.union1d(at_steps - 1, at_steps), at_epochs)
    wanted = wanted[wanted >= 1]
    piece = _curve_piece(_n_parameters(task, y_train, X_train.shape[1]))
    objective, step_norms = [], {}
    previous = None  # the last iterate computed: step k − 1 of the next wanted k
    for first in range(0, wanted.size, piece):
        # coupled chains record only the wanted iterates (the affine path would
        # keep every one up to the last in memory)
        path = trajectory(
            fixed,
            X_train,
            y_train,
            steps=wanted[first : first + piece],
            method="coupling",
        )
        if previous is None:
            previous = (0, np.append(path.initial_coef, path.initial_intercept))
        is_epoch = np.isin(path.steps, at_epochs)
        if is_epoch.any():
            values = training_objective(
                fixed,
                X_train,
                y_train,
                coef=path.coef[is_epoch],
                intercept=path.intercept[is_epoch],
            )
            objective.extend(float(v) for v in np.atleast_1d(values))
        for step, theta in zip(path.steps.tolist(), path.thetas()):
            if step in at_steps:  # k − 1 is wanted too: the iterate just before
                step_norms[step] = float(np.linalg.norm(theta - previous[1]))
            previous = (step, theta.copy())
    return {
        "objective_epochs": (at_epochs // maps_per_epoch).tolist(),
        "objective": objective,
        "step_norm_steps": at_steps.tolist(),
        "step_norms": [step_norms[k] for k in at_steps.tolist()],
        "curve_seconds": time.perf_counter() - start,
    }


def _summarize(method, sampling, runs, thetas, curves):
    scores = np.array([run["test_score"] for run in runs])

    def mean(key):
        return float(np.mean([run[key] for run in runs]))

    return {
        "order": method,
        "sampling": sampling,
        "label": f"{method}/{sampling}",
        "test_score_mean": float(scores.mean()),
        "test_score_std": float(scores.std()),
        "training_objective_mean": mean("training_objective"),
        "jitter_mean": mean("jitter"),
        "spread_across_seeds": float(
            np.linalg.norm(thetas - thetas.mean(axis=0), axis=1).mean()
        ),
        "epochs_mean": mean("n_iter"),
        "maps_applied_mean": mean("maps_applied"),
        "all_converged": all(r["converged"] for r in runs),
        "fit_seconds_mean": mean("fit_seconds"),
        **curves,
        "runs": runs,
    }


# -- output -----------------------------------------------------------------------


def format_table(results):
    """The comparison as a Markdown table, with what its columns mean beneath it."""
    metric = "accuracy" if results["task"] == "classification" else "R²"
    lines = [
        f"| configuration | test {metric} | training objective | final jitter "
        "| spread across seeds | epochs | maps applied | fit time (s) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for c in results["configurations"]:
        epochs = f"{c['epochs_mean']:.0f}" + ("" if c["all_converged"] else " (max)")
        lines.append(
            f"| {c['label']} | {c['test_score_mean']:.4f} ± {c['test_score_std']:.4f} "
            f"| {c['training_objective_mean']:.5g} | {c['jitter_mean']:.2e} "
            f"| {c['spread_across_seeds']:.2e} | {epochs} "
            f"| {c['maps_applied_mean']:,.0f} | {c['fit_seconds_mean']:.3f} |"
        )
    m, last = results["maps_per_epoch"], results["jitter_maps"]
    notes = [
        "Means over seeds. "
        f"**final jitter**: mean ‖θ_k − θ_(k−1)‖ over the last {last} "
        "maps of each run. **spread across seeds**: mean distance of the seeds' "
        "solutions to their mean.",
        "**epochs**: forward (and forward+average) stops when the training "
        "objective no longer improves by tol; backward's count is the doubling "
        "test's last evaluated epoch count (its iterate is recomputed from the "
        "start at 1, 2, 4, … epochs until two successive ones agree to tol). "
        "(max): max_iter reached without converging.",
        f"**maps applied**: the update maps a fit computed (an epoch is {m:,} maps, "
        "per one-vs-rest class): forward applies its epochs once; backward "
        "applies every evaluated count, 1 + 2 + 4 + … + epochs. **fit time**: "
        "seconds per fit, timed after a warm-up fit of every configuration "
        "compiled or loaded its kernels.",
    ]
    return "\n".join(lines) + "\n\n" + "\n\n".join(notes)


# Line style, marker and width per configuration: every curve stays visible
# where several coincide.
STYLES = [("-", "o", 3.2), ("--", "s", 2.0), (":", "^", 1.6), ("-.", "D", 1.2)]


def write_figure(results, path):
    """Training objective per epoch and step norm per step; False without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.6))
    for i, c in enumerate(results["configurations"]):
        line, marker, width = STYLES[i % len(STYLES)]
        style = dict(
            ls=line, marker=marker, lw=width, ms=4, markevery=4, label=c["label"]
        )
        left.semilogx(c["objective_epochs"], c["objective"], **style)
        norms = np.maximum(np.array(c["step_norms"]), 1e-17)  # log scale: no zeros
        right.loglog(c["step_norm_steps"], norms, **style)
        # the table's number: seed 0's jitter where its fit stopped
        seed0 = c["runs"][0]
        right.plot(
            seed0["n_iter"] * results["maps_per_epoch"],
            seed0["jitter"],
            marker="*",
            ms=13,
            color=right.lines[-1].get_color(),
            mec="black",
            ls="none",
        )
    left.set(
        xlabel="epoch",
        ylabel="training objective",
        title="Objective of the iterate after each epoch (seed 0)",
    )
    right.set(
        xlabel="step k (maps applied)",
        ylabel=r"$\|\theta_k - \theta_{k-1}\|$",
        title="Step norm per step (seed 0); ★ its final jitter",
    )
    for axis in (left, right):
        axis.grid(alpha=0.3)
    handles, labels = left.get_legend_handles_labels()
    figure.legend(handles, labels, loc="lower center", ncol=len(labels), frameon=False)
    figure.tight_layout(rect=(0, 0.07, 1, 1))  # the legend below the panels
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return True


# -- the command line -------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line (exit code 2)."""

    def error(self, message):
        self.exit(2, f"{PROG}: error: {message} (see {PROG} compare --help)\n")


# Numeric options: flag, type, lower bound, whether the bound is excluded,
# default (also the example in an error message), help.
NUMERIC_OPTIONS = [
    ("--seeds", int, 1, False, 5, "seeds per configuration"),
    ("--alpha", float, 0, False, 0.01, "L2 strength"),
    ("--batch-size", int, 1, False, 8, "rows per update"),
    ("--max-iter", int, 1, False, 1000, "maximum epochs"),
    ("--tol", float, 0, True, 1e-3, "stopping tolerance"),
]


def _number(kind, low, strict, example):
    """An argparse type: a ``kind`` above ``low`` (``strict``) or at least ``low``."""
    bound = f"> {low}" if strict else f">= {low}"
    noun = "an integer" if kind is int else "a number"

    def convert(text):
        try:
            value = kind(text)
        except ValueError:
            value = None
        if (
            value is None
            or not np.isfinite(value)
            or (value <= low if strict else value < low)
        ):
            raise argparse.ArgumentTypeError(
                f"must be {noun} {bound}, got {text!r}; for example {example}"
            )
        return value

    convert.__name__ = noun
    return convert


def _step(text):
    """An argparse type for ``--eta0``: ``"auto"`` or a number above 0."""
    if text == "auto":
        return text
    try:
        return _number(float, 0, True, 0.05)(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"must be a number > 0 or 'auto', got {text!r}; for example 0.05"
        ) from None


def _fraction(text):
    value = _number(float, 0, True, 0.25)(text)
    if value >= 1:
        raise argparse.ArgumentTypeError(
            f"must be a fraction between 0 and 1, got {text!r}; for example 0.25"
        )
    return value


def _help_list(entries):
    return "\n".join(f"  {name:<17} {text}" for name, text in entries.items())


EPILOG = f"""\
orders (the part before ':' in --configs):
{_help_list(METHOD_HELP)}

sampling schemes (the part after ':'):
{_help_list(SAMPLING_HELP)}

data:
  A CSV file needs a header row and --target; every other column is a numeric
  feature. Missing values (blank or NaN cells) are refused with their count and
  the first one's place, unless --dropna drops those rows. Column names must
  be distinct. The task is inferred from the target unless --task is given.

output (in --out):
  compare.md    the report printed: the run, the table, what each column means
  compare.json  every number, per seed (each run's θ as its norm and its
                count of non-zeros)
  compare_theta.npz  with --save-theta: every run's θ (coef_ then intercept_),
                one array of shape (seeds, n_parameters) per configuration,
                keyed order:sampling
  compare.png   objective per epoch and step norm per step (needs matplotlib)
"""


def build_parser():
    """The argument parser of the command line."""
    parser = _Parser(
        prog=PROG, description="Compare SGD iteration orders on a data set."
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {__version__}"
    )
    commands = parser.add_subparsers(dest="command")
    compare_parser = commands.add_parser(
        "compare",
        help="fit each order × sampling over several seeds and compare",
        description=(
            "Fit each order:sampling configuration over several seeds on a\n"
            "standardized train/test split and print a table of test score,\n"
            "training objective, final jitter, spread across seeds, epochs, maps\n"
            "applied and fit time; write compare.md, compare.json and compare.png\n"
            "into --out. With no --data: scikit-learn's breast-cancer data."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = compare_parser.add_argument
    add("--data", help="LIBSVM/svmlight or CSV file (default: bundled breast cancer)")
    add(
        "--format",
        dest="data_format",
        choices=["auto", "svmlight", "csv"],
        default="auto",
        help="file format (default: CSV for a .csv name, else LIBSVM)",
    )
    add("--target", help="the CSV column to predict")
    add(
        "--dropna",
        action="store_true",
        help="drop CSV rows with missing cells (default: refuse the file)",
    )
    add(
        "--task",
        choices=["classification", "regression"],
        help="default: inferred from the target",
    )
    add(
        "--configs",
        default=DEFAULT_CONFIGS,
        help="order:sampling pairs, comma-separated (default: "
        + DEFAULT_CONFIGS.replace(",", ", ")
        + ")",
    )
    for flag, kind, low, strict, default, text in NUMERIC_OPTIONS:
        add(
            flag,
            type=_number(kind, low, strict, default),
            default=default,
            help=f"{text} (default: {default})",
        )
    add(
        "--eta0",
        type=_step,
        default=0.05,
        help="constant step size, or 'auto' (the library's default: the largest "
        "step for which every update map contracts). The default here is a "
        "fixed 0.05, so that every configuration takes one stated step: on the "
        "standardized data compared it is stable and about 5 times 'auto' "
        "(about 0.01 on the bundled data), so the orders settle within --max-iter "
        "(default: 0.05)",
    )
    add(
        "--test-size",
        type=_fraction,
        default=0.25,
        help="test fraction (default: 0.25)",
    )
    add(
        "--out",
        default="sklearn_order_compare",
        help="output folder (default: ./sklearn_order_compare)",
    )
    add(
        "--save-theta",
        action="store_true",
        help="also write every run's coefficients to compare_theta.npz "
        "(compare.json keeps their norms)",
    )
    add("--quiet", action="store_true", help="no progress bar")
    warmup_parser = commands.add_parser(
        "warmup",
        help="compile every kernel variant into the on-disk cache",
        description=(
            "Compile every kernel variant the package ships (each storage of X,\n"
            "each dtype, each optional feature) into the on-disk kernel cache, so\n"
            "that a later first fit loads its kernels instead of compiling them.\n"
            "For Docker images, clusters and CI. Prints what it compiled and how\n"
            "long it took."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    warmup_parser.add_argument(
        "--jobs",
        type=_number(int, 1, False, 2),
        default=None,
        help="processes that compile side by side (default: one per CPU); "
        "Numba compiles one function at a time per process",
    )
    return parser


def _print_notice(message):
    """Print ``message`` on a line of its own, over the progress bar's."""
    print(f"\r{message:<72}", file=sys.stderr)


def _no_notice(message):
    """Print nothing (no progress shown)."""


def _writable_folder(out):
    """Create ``out`` if needed and check that files can be written in it."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out):
            pass
    except OSError as error:
        reason = error.strerror or str(error)
        raise CommandError(
            f"--out {out}: cannot write there ({reason}); choose another folder"
        ) from None


def _machine():
    """The processor model, CPU count and system, for the report."""
    machine = machine_description()
    return f"{machine['cpu']}, {machine['cores']} CPUs, {machine['system']}"


def run(args):
    """Run the comparison command; return the results."""
    out = Path(args.out)
    _writable_folder(out)  # before the run, not after it
    X, y, task, description = load_data(
        args.data, args.data_format, args.target, args.task, args.dropna
    )
    check_memory(X, y, task, args, _available_memory())
    # a first run compiles the kernels: say so in the progress output
    shown = _progress_shown(args.quiet)
    with compile_notices(_print_notice if shown else _no_notice):
        results, thetas = compare(X, y, task, args)
    results["data"] = description
    results["date"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    results["machine"] = _machine()
    report = (
        f"sklearn_order {__version__}: {description}, {task}, "
        f"{results['n_train']} train / {results['n_test']} test rows, "
        f"{results['n_features']} features\n\n"
        f"constant eta0={args.eta0}, alpha={args.alpha}, batch_size={args.batch_size}, "
        f"{args.seeds} seeds; run {results['date']} on {results['machine']}\n\n"
        + format_table(results)
    )
    print(report)
    (out / "compare.json").write_text(json.dumps(results, indent=1))
    (out / "compare.md").write_text(report + "\n")
    written = [out / "compare.json", out / "compare.md"]
    if args.save_theta:
        np.savez(out / "compare_theta.npz", **thetas)
        written.append(out / "compare_theta.npz")
    note = ""
    if write_figure(results, out / "compare.png"):
        written.append(out / "compare.png")
    else:
        note = " (the figure needs matplotlib: pip install 'sklearn_order[plot]')"
    print(f"\nwrote {', '.join(map(str, written))}{note}")
    return results


def run_warmup(args):
    """Run the warm-up command: compile every kernel variant; print each."""
    directory = cache_directory()
    where = directory if directory is not None else "memory only (no writable cache)"
    jobs = args.jobs or os.cpu_count() or 1
    print(f"{PROG} warmup: {len(VARIANTS)} variants, {jobs} processes; cache: {where}")
    start = time.perf_counter()

    def report(variant, seconds, n_compiled):
        action = f"compiled {n_compiled:3d} functions" if n_compiled else "loaded"
        print(f"  {seconds:6.2f} s  {action:<22} {variant.name}", flush=True)

    results = warm_up(jobs=jobs, report=report)
    compiled = sum(n_compiled for _, _, n_compiled in results)
    print(
        f"{PROG} warmup: {compiled} functions compiled in "
        f"{time.perf_counter() - start:.1f} s"
    )


class _PromptInterrupt:
    """Within it, Ctrl-C ends the process at once with a one-line message.

    Python runs signal handlers in the main thread between bytecodes, so a
    compiled kernel call would delay Ctrl-C until it returns. Here the
    signal's wake-up byte goes down a pipe to a watcher thread, which runs
    while the kernels (compiled without the GIL) compute, prints the message
    and exits with status 130. Only in the main thread; a no-op elsewhere.
    """

    def __enter__(self):
        self.active = threading.current_thread() is threading.main_thread()
        if self.active:
            read, self.write = os.pipe()
            os.set_blocking(self.write, False)
            self.previous_fd = signal.set_wakeup_fd(self.write)
            self.previous_handler = signal.signal(signal.SIGINT, _ignore_signal)
            threading.Thread(target=_watch, args=(read,), daemon=True).start()
        return self

    def __exit__(self, *exc_info):
        if self.active:
            signal.signal(signal.SIGINT, self.previous_handler)
            signal.set_wakeup_fd(self.previous_fd)
            os.close(self.write)  # ends the watcher


def _ignore_signal(signum, frame):
    """The main thread's SIGINT handler: the watcher thread does the work."""


def _watch(read):
    """Exit with status 130 when SIGINT's byte arrives on ``read``; stop at EOF."""
    while data := os.read(read, 64):
        if signal.SIGINT in data:
            os.write(sys.stderr.fileno(), f"{PROG}: interrupted\n".encode())
            os._exit(130)
    os.close(read)


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
        with _PromptInterrupt():
            if args.command == "warmup":
                run_warmup(args)
            else:
                run(args)
    except CommandError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2
    except DivergenceError as error:
        if args.eta0 != "auto" and str(error).startswith("SGD diverged"):
            # the iterates diverged with a given step: name the flag
            print(
                f"{PROG}: error: SGD diverged with --eta0 {args.eta0}: lower "
                "--eta0 (or raise --alpha), or use --eta0 auto",
                file=sys.stderr,
            )
        else:  # the library's own message: it advises no setting in use
            print(f"{PROG}: error: {' '.join(str(error).split())}", file=sys.stderr)
        return 1
    except ValueError as error:  # the estimators' other clear errors
        print(f"{PROG}: error: {' '.join(str(error).split())}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # before or after the prompt handling above
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    return 0
