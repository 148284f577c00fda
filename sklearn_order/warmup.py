"""Compile the kernels ahead of the first fit: ``python -m sklearn_order warmup``.

The kernels are compiled lazily, one variant per combination of the types a
fit passes them: the storage of ``X`` (dense rows or CSR rows), its dtype
(float32 or float64) and the optional state the fit carries (GraB's herding,
the running mean, recorded iterates, tracked losses). A first fit of each
kind therefore compiles for seconds. For Docker images, clusters and CI it
is better to pay that once, before any user code runs: :func:`warm_up` runs
a tiny fit of every kind the package ships (:data:`VARIANTS`; a classifier's
on two classes, one model alone, and on three, one-vs-rest classes trained
as one group), in several processes, so that every variant is in the on-disk
kernel cache and a later first fit only loads it.

Processes, not threads: Numba's compiler holds a lock, so threads compile one
at a time, while processes compile side by side and share the cache
directory. Where no cache directory can be written, compiled code cannot
outlive its process, and the work is done in this process.
"""

import multiprocessing
import os
import time
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import NamedTuple

import numpy as np
from numba.core import event
from scipy import sparse
from sklearn.base import clone

from ._cache import cache_directory, compile_notices
from ._spec import FitSpec
from .diagnostics import coalescence, trajectory
from .estimators import BackwardSGDClassifier, BackwardSGDRegressor
from .orders import ORDERS

#: The storages of ``X`` the kernels are compiled for. A CSR matrix's indices
#: are given 32 bits for training whatever their dtype, unless it holds 2**31
#: values or columns or more: its kernels (64-bit indices) are compiled on
#: first use, a few seconds beside the time such a fit takes.
STORAGES = ("dense", "csr")
#: The dtypes of ``X`` the kernels are compiled for.
DTYPES = ("float64", "float32")


class Variant(NamedTuple):
    """One kind of computation whose kernels :func:`warm_up` compiles.

    Attributes
    ----------
    job : str
        ``"fit"``, ``"partial_fit"``, ``"trajectory"`` or ``"coalescence"``.
    estimator : str
        ``"classifier"`` or ``"regressor"``.
    params : tuple of (str, object)
        The estimator's parameters that select the kernels' types.
    storage : str
        One of :data:`STORAGES`.
    dtype : str
        One of :data:`DTYPES`.
    """

    job: str
    estimator: str
    params: tuple
    storage: str
    dtype: str

    @property
    def name(self):
        """A short label, for the progress lines."""
        settings = ",".join(f"{key}={value}" for key, value in self.params)
        return (
            f"{self.estimator} {self.job}({settings or 'defaults'}) "
            f"{self.storage} {self.dtype}"
        )


def _accepted(params):
    """Whether the classifier accepts ``params`` (each order's own rules)."""
    try:
        FitSpec.from_estimator(BackwardSGDClassifier(**params))
    except ValueError:
        return False
    return True


# The kinds of computation, one per set of types the kernels see. The types
# depend on the order, on GraB (its order table and herding state), on
# averaging (the running mean), on the passive-aggressive steps and on what a
# call records (epoch losses, iterates). Everything else (loss, penalty, the
# other schedules and sampling schemes, batch size, weights) is a value the
# compiled kernels read at run time.
def _kinds():
    kinds = []
    for order in ORDERS:
        for sampling in ("reshuffle", "grab"):
            for average in (False, True):
                for schedule in ("constant", "pa1"):
                    params = {"order": order, "sampling": sampling}
                    if average:
                        params["average"] = True
                    if schedule != "constant":
                        params.update(learning_rate=schedule, loss="hinge")
                    if not _accepted(params):  # e.g. averaging needs forward
                        continue
                    params = tuple(params.items())
                    for job in ("fit", "partial_fit", "trajectory"):
                        kinds.append((job, "classifier", params))
    kinds += [
        ("fit", "classifier", (("multi_class", "multinomial"),)),
        ("fit", "classifier", (("early_stopping", True),)),
        ("fit", "regressor", ()),
        ("trajectory", "regressor", ()),  # backward squared error: affine maps
        ("coalescence", "classifier", ()),
    ]
    return kinds


#: Every variant :func:`warm_up` compiles by default.
VARIANTS = tuple(
    Variant(job, estimator, params, storage, dtype)
    for job, estimator, params in _kinds()
    for storage in STORAGES
    for dtype in DTYPES
)


def _data(variant, n_samples=40, n_features=4):
    """Small seeded data of the variant's storage and dtype."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n_samples, n_features)).astype(variant.dtype)
    if variant.estimator == "classifier":
        y = np.arange(n_samples) % 3  # three classes: one-vs-rest, multinomial
    else:
        y = X @ np.arange(1.0, n_features + 1)
    if variant.storage == "csr":
        X = sparse.csr_matrix(X)
    return X, y


def run_variant(variant):
    """Run one variant's tiny computation; report what it compiled.

    Parameters
    ----------
    variant : Variant

    Returns
    -------
    seconds : float
        Wall time of the computation (compiling or loading its kernels).
    n_compiled : int
        Kernels (and the functions they call) that Numba compiled; 0 when
        every one was loaded from the cache.
    """
    if variant.estimator == "classifier":
        kind = BackwardSGDClassifier
    else:
        kind = BackwardSGDRegressor
    model = kind(max_iter=2, random_state=0, **dict(variant.params))
    X, y = _data(variant)
    start = time.perf_counter()
    # the report says what compiled: no "compiling kernels" notice as well
    with event.install_recorder("numba:compile") as recorder, compile_notices(_quiet):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # few epochs: not converged
            if variant.job in ("fit", "partial_fit"):
                # three classes train as one group of models, two as one
                # model alone: a classifier compiles the kernels of both
                labels = [y, y % 2] if variant.estimator == "classifier" else [y]
                for targets in labels:
                    _fit(model, variant.job, X, targets)
            elif variant.job == "trajectory":
                trajectory(model, X, y, n_steps=8)
            else:
                coalescence(model, X, y, n_steps=8)
    seconds = time.perf_counter() - start
    n_compiled = sum(1 for record in recorder.buffer if record[1].is_start)
    return seconds, n_compiled


def _fit(model, job, X, y):
    """``model.fit(X, y)``, or one ``partial_fit`` pass from a fresh model."""
    if job == "fit":
        model.fit(X, y)
        return
    is_classifier = isinstance(model, BackwardSGDClassifier)
    kw = {"classes": np.unique(y)} if is_classifier else {}
    clone(model).partial_fit(X, y, **kw)


def _quiet(notice):
    """Print nothing."""


def warm_up(variants=VARIANTS, jobs=None, report=None):
    """Compile (or load) the kernels of ``variants`` into the on-disk cache.

    Parameters
    ----------
    variants : sequence of Variant, default=VARIANTS
        The computations whose kernels to compile.
    jobs : int, default=None
        Worker processes; ``None`` means one per CPU. With ``jobs=1``, or
        when no cache directory can be written, the variants run in this
        process.
    report : callable, default=None
        Called as ``report(variant, seconds, n_compiled)`` after each
        variant, in completion order.

    Returns
    -------
    list of (Variant, float, int)
        Each variant with its wall time and the number of functions compiled.
    """
    results = []

    def done(variant, outcome):
        results.append((variant, *outcome))
        if report is not None:
            report(variant, *outcome)

    _run_in_processes(run_variant, [(v,) for v in variants], jobs, done)
    return results


def _run_in_processes(function, tasks, jobs=None, done=None):
    """Run ``function(*task)`` for each task, in worker processes sharing the cache.

    For calls whose purpose is to leave compiled kernels in the on-disk
    cache. Each worker is a fresh interpreter ("spawn": never a fork of a
    process that may hold Numba's or a thread pool's locks), and a result
    comes back as a return value.

    Parameters
    ----------
    function : callable
        A module-level function (workers import it by name).
    tasks : sequence of tuple
        The arguments of each call (picklable).
    jobs : int, default=None
        Worker processes; ``None`` means one per CPU. With ``jobs=1``, or
        when no cache directory can be written (compiled code could not
        outlive a worker), the calls run in this process.
    done : callable, default=None
        Called as ``done(task[0], result)`` after each call, in completion
        order.
    """
    if jobs is None:
        jobs = os.cpu_count() or 1
    if jobs < 1:
        raise ValueError(f"jobs must be a positive integer; got {jobs}.")
    done = done or _quiet_done
    if jobs == 1 or cache_directory() is None:
        for task in tasks:
            done(task[0], function(*task))
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=min(jobs, len(tasks)), mp_context=context
    ) as pool:
        futures = {pool.submit(function, *task): task for task in tasks}
        for future in as_completed(futures):
            done(futures[future][0], future.result())


def _quiet_done(first_argument, result):
    """Ignore a finished call."""
