"""The entry points as the fuzz harness runs them, in a child process.

Module-level functions that :class:`child.ChildProcess` sends to its
worker: each runs one entry point of the package on the inputs it is given
and returns the arrays that the parent compares (with the same call on the
repaired inputs). Kept apart from ``test_fuzz.py`` so that the worker
imports neither pytest nor hypothesis.
"""

import os
import tempfile
import warnings
from typing import NamedTuple

import numpy as np
from scipy import sparse

from sklearn_order import (
    BackwardSGDClassifier,
    BackwardSGDRegressor,
    coalescence,
    trajectory,
)
from sklearn_order.diagnostics import training_objective

ESTIMATORS = {"classifier": BackwardSGDClassifier, "regressor": BackwardSGDRegressor}
#: Short fits: the harness tests what an entry point does with its input.
FIT_PARAMS = {"max_iter": 3, "tol": None, "random_state": 0}
FIT_ENTRIES = ("fit", "partial_fit", "trajectory", "coalescence", "training_objective")
PREDICT_ENTRIES = (
    "predict",
    "predict_proba",
    "predict_log_proba",
    "decision_function",
    "score",
)
ENTRIES = FIT_ENTRIES + PREDICT_ENTRIES
#: Entry points of the classifier alone.
CLASSIFIER_ENTRIES = ("predict_proba", "predict_log_proba", "decision_function")


class Memmap(NamedTuple):
    """An array that the worker opens as a read-only memory map of a ``.npy`` file."""

    array: np.ndarray


def _opened(X, folder):
    if isinstance(X, Memmap):
        path = os.path.join(folder, "X.npy")
        np.save(path, X.array)
        return np.load(path, mmap_mode="r")
    return X


def warm_up():
    """Load (or compile) the kernels the harness uses: every dtype and storage."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(12, 3))
    y = np.arange(12) % 2
    for dtype in (np.float64, np.float32):
        for index in (None, np.int32, np.int64):
            Xi = X.astype(dtype)
            if index is not None:
                Xi = sparse.csr_matrix(Xi)
                Xi.indices = Xi.indices.astype(index)
                Xi.indptr = Xi.indptr.astype(index)
            for kind in ESTIMATORS:
                for entry in ENTRIES:
                    if kind == "regressor" and entry in CLASSIFIER_ENTRIES:
                        continue
                    run(entry, kind, {}, Xi, y, train=(X, y), classes=np.unique(y))
    return True


def run(entry, kind, params, X, y, sample_weight=None, train=None, classes=None):
    """Run one entry point; return its result as a dict of arrays.

    Parameters
    ----------
    entry : str
        One of :data:`ENTRIES`.
    kind : {"classifier", "regressor"}
    params : dict
        Estimator parameters on top of :data:`FIT_PARAMS`.
    X, y, sample_weight
        The inputs of the entry point (``X`` may be a :class:`Memmap`).
    train : (ndarray, ndarray)
        Valid training data for the prediction entry points (fitted first).
    classes : ndarray, default=None
        The classes for a classifier's ``partial_fit``.
    """
    estimator = ESTIMATORS[kind](**{**FIT_PARAMS, **params})
    with tempfile.TemporaryDirectory() as folder, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        X = _opened(X, folder)
        if entry in PREDICT_ENTRIES:
            estimator.fit(*train)
            if entry == "score":
                return {"score": np.float64(estimator.score(X, y, sample_weight))}
            return {entry: np.asarray(getattr(estimator, entry)(X))}
        if entry == "fit":
            estimator.fit(X, y, sample_weight=sample_weight)
            return _fitted(estimator)
        if entry == "partial_fit":
            extra = {"classes": classes} if kind == "classifier" else {}
            estimator.partial_fit(X, y, sample_weight=sample_weight, **extra)
            return _fitted(estimator)
        if entry == "trajectory":
            path = trajectory(
                estimator, X, y, n_steps=6, every=2, sample_weight=sample_weight
            )
            return {"coef": path.coef, "intercept": path.intercept}
        if entry == "coalescence":
            report = coalescence(
                estimator, X, y, n_steps=4, sample_weight=sample_weight, random_state=0
            )
            return {"distances": report.distances}
        if entry == "training_objective":
            n_features = X.shape[1]
            n_classes = len(np.unique(y))
            n_rows = 1 if kind == "regressor" or n_classes <= 2 else n_classes
            rng = np.random.default_rng(1)
            coef = rng.normal(size=(n_rows, n_features))
            coef = coef[0] if kind == "regressor" else coef
            value = training_objective(
                estimator,
                X,
                y,
                coef=coef,
                intercept=np.zeros(n_rows),
                sample_weight=sample_weight,
            )
            return {"objective": np.float64(value)}
    raise ValueError(f"unknown entry point {entry!r}")


def _fitted(estimator):
    return {
        "coef": np.asarray(estimator.coef_),
        "intercept": np.asarray(estimator.intercept_),
        "n_features_in": np.int64(estimator.n_features_in_),
    }


def command_line(arguments):
    """``python -m sklearn_order`` with these arguments: (status, stdout, stderr)."""
    import contextlib
    import io

    from sklearn_order.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            status = main(arguments)
    return status, out.getvalue(), err.getvalue()
