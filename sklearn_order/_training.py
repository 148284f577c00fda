"""Training functions beside the estimators: outputs fitted by workers that return.

An estimator turns its targets into one :class:`~sklearn_order._problem.Problem`
per output (a one-vs-rest class, or one problem for regression and for the
multinomial loss). The functions here run a composition order over those
problems — serially, or in joblib workers over the outputs — and return what
each output fitted; the estimator assembles the results. A worker never
writes into arrays of its caller: under a process backend (loky,
multiprocessing, Dask) such writes would land in the worker's copy and be
lost. (scikit-learn's ``fit_binary`` beside ``BaseSGD`` is the same design.)
"""

import itertools
from typing import NamedTuple

import numpy as np
from sklearn.utils.parallel import Parallel, delayed

from ._problem import cancel_fit
from .orders import ORDERS


class OutputFit(NamedTuple):
    """What one output's worker returns.

    Attributes
    ----------
    coef : ndarray of shape (n_outputs * n_features,), float64
        The fitted weights (flat; several models for the multinomial loss).
    intercept : ndarray of shape (n_outputs,), float64
        The fitted intercepts.
    n_iter : int
        Epochs composed.
    converged : bool
        Whether the order's stopping criterion was met.
    average : ndarray of shape (n_outputs * (n_features + 1),) or None
        With ``average``: the running mean of the iterates (weights, then
        intercepts); ``None`` without.
    """

    coef: np.ndarray
    intercept: np.ndarray
    n_iter: int
    converged: bool
    average: np.ndarray | None


def fit_output(problem, coef, intercept, *, order, stop):
    """Fit one output from ``(coef, intercept)`` in ``order``, stopped by ``stop``.

    Parameters
    ----------
    problem : Problem
    coef : ndarray of shape (n_outputs * n_features,), float64
        Starting weights (not modified).
    intercept : ndarray of shape (n_outputs,), float64
        Starting intercepts (not modified).
    order : str
        A key of :data:`~sklearn_order.orders.ORDERS`.
    stop : StoppingRule

    Returns
    -------
    OutputFit
    """
    coef, intercept = coef.copy(), intercept.copy()
    result = ORDERS[order].fit(problem, coef, intercept, stop)
    return OutputFit(
        coef, intercept, result.n_iter, result.converged, problem.state.get("averaged")
    )


def pass_output(problem, coef, intercept, *, order, **run):
    """One pass over ``problem``'s rows composed onto ``(coef, intercept)``.

    Parameters
    ----------
    problem : Problem
    coef, intercept : ndarray
        As for :func:`fit_output` (not modified).
    order : str
        A key of :data:`~sklearn_order.orders.ORDERS`: the direction of the pass.
    **run
        ``first_epoch``, ``t_start`` and ``eta`` of
        :meth:`~sklearn_order._problem.Problem.run`.

    Returns
    -------
    OutputFit
    """
    coef, intercept = coef.copy(), intercept.copy()
    problem.run(coef, intercept, n_epochs=1, reverse=ORDERS[order].reverse, **run)
    return OutputFit(coef, intercept, 1, True, problem.state.get("averaged"))


_FIT_TOKENS = itertools.count()


def run_outputs(
    function, problems, parameters, *, n_jobs=None, threads_only=False, **kw
):
    """``function(problem, coef, intercept, **kw)`` for every output, results in order.

    Several outputs with ``n_jobs`` other than ``None``/``1`` run in joblib
    workers: threads by default, or the backend of an enclosing
    ``joblib.parallel_backend`` (processes, Dask). If the caller is
    interrupted (Ctrl-C) or fails while thread workers run, they stop at
    their next return to Python (about every 0.1 s).

    Parameters
    ----------
    function : callable
        :func:`fit_output` or :func:`pass_output`.
    problems : list of Problem
    parameters : list of (ndarray, ndarray)
        Starting ``(coef, intercept)`` per problem.
    n_jobs : int or None, default=None
    threads_only : bool, default=False
        Run workers in threads whatever the enclosing backend (problems on a
        CUDA device share its context).
    **kw
        Passed to ``function``.

    Returns
    -------
    list of OutputFit
    """
    outputs = list(zip(problems, parameters))
    if len(outputs) == 1 or n_jobs in (None, 1):
        return [function(problem, *start, **kw) for problem, start in outputs]
    token = next(_FIT_TOKENS)
    for problem in problems:
        problem.state["fit"] = token
    backend = {"backend": "threading"} if threads_only else {"prefer": "threads"}
    try:
        return Parallel(n_jobs=n_jobs, **backend)(
            delayed(function)(problem, *start, **kw) for problem, start in outputs
        )
    except BaseException:
        cancel_fit(token)
        raise
