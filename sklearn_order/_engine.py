"""Engines: what runs a set of models' epochs, one pass over the rows for all.

A composition order (``orders.py``) fits a set of models through an engine:
it asks for epochs of maps on the models still training, and the engine
returns their losses and failures. Three engines share that interface
(:meth:`SingleEngine.run_epochs`):

- :class:`SingleEngine`: one :class:`~sklearn_order._problem.Problem` and
  its own CPU kernel (every feature: GraB, averaging);
- :class:`GroupEngine`: several problems over the same rows and the same
  batch sequence (the classes of a one-vs-rest classifier, the candidates of
  a cross-validated grid), or the classes of one multinomial problem,
  trained by :func:`~sklearn_order.kernels.group.apply_group_steps`: each
  row is read once per epoch for all of them, and each model (its running
  mean included, with averaging) is bit-identical to its fit alone;
- :class:`~sklearn_order._cuda_driver.CudaEngine` (``device="cuda"``): the
  problems of one estimator on a CUDA device, one thread block per model,
  the models of a call in one launch.

:func:`build_engine` chooses the engine, from the problems and the device
of the fit (:attr:`FitSpec.device <sklearn_order._spec.FitSpec>`): the one
place where engines are chosen. A model that fails (diverges) is reported,
not raised: the others go on, and the caller decides (a fit raises the first
failure's :class:`~sklearn_order._problem.DivergenceError`).

The diagnostics (:func:`~sklearn_order.diagnostics.trajectory`) ask an
engine for one model's maps over any range (``apply_maps``, the contract of
:meth:`Problem.apply_maps <sklearn_order._problem.Problem.apply_maps>`) and
for its backward chains (``backward_iterates``), so that they run where
its fit would.
"""

import numpy as np

from . import _backward_trajectory as _backward
from . import _problem
from ._problem import DivergenceError, check_not_cancelled
from .kernels import OK, BatchSequence, StepRange
from .kernels.group import (
    N_PER_MODEL,
    GroupAverage,
    GroupModels,
    GroupOutputs,
    GroupScalars,
    GroupScratch,
    apply_group_steps,
)
from .losses import MULTINOMIAL_LOG_LOSS
from .sampling import GRAB


class SingleEngine:
    """One problem's model, run by its own kernel.

    Parameters
    ----------
    problem : Problem
    coef : ndarray of shape (n_outputs * n_features,), float64
        Starting weights, updated in place.
    intercept : ndarray of shape (n_outputs,), float64
        Starting intercepts, updated in place.

    Attributes
    ----------
    couples_chains : bool
        ``True``: :meth:`backward_iterates` stops chains where they meet.
    """

    couples_chains = True

    def __init__(self, problem, coef, intercept):
        self.problems = [problem]
        self.params = [(coef, intercept)]

    def run_epochs(
        self,
        models,
        *,
        first_epoch,
        n_epochs,
        reverse,
        t_start,
        etas,
        track_loss=False,
        where=None,
    ):
        """Compose an epoch range onto the models ``models`` (here ``[0]``), in place.

        Parameters
        ----------
        models : sequence of int
            The models to run (indices into :attr:`problems`).
        first_epoch, n_epochs, reverse, t_start, track_loss, where
            As in :meth:`~sklearn_order._problem.Problem.run_epochs`.
        etas : sequence of float
            Each model's base step size.

        Returns
        -------
        epoch_losses : ndarray of shape (len(models), n_epochs)
            With ``track_loss``; zeros without.
        failures : dict
            Model index -> :class:`DivergenceError`, for the models that failed.
        """
        losses = np.zeros((len(models), n_epochs))
        failures = {}
        for row, m in enumerate(models):
            coef, intercept = self.params[m]
            try:
                epoch_losses = self.problems[m].run_epochs(
                    coef,
                    intercept,
                    first_epoch=first_epoch,
                    n_epochs=n_epochs,
                    reverse=reverse,
                    t_start=t_start,
                    eta=etas[row],
                    track_loss=track_loss,
                    where=where,
                )
            except DivergenceError as error:
                failures[m] = error
                continue
            if track_loss:
                losses[row] = epoch_losses
        return losses, failures

    def apply_maps(self, model, **maps):
        """One model's maps over any range, onto its parameters in place.

        Parameters
        ----------
        model : int
            The model (index into :attr:`problems`).
        **maps
            As for :meth:`Problem.apply_maps
            <sklearn_order._problem.Problem.apply_maps>`.

        Returns
        -------
        records : ndarray of shape (n_records, n_parameters)

        Raises
        ------
        DivergenceError
            If the model's iterates diverged.
        """
        coef, intercept = self.params[model]
        return self.problems[model].apply_maps(coef, intercept, **maps)

    def backward_iterates(self, model, steps, eta, **chains):
        """One model's backward iterates ``θ̃_k`` for ``k`` in ``steps``.

        From the model's parameters (not modified), by
        :func:`~sklearn_order._backward_trajectory.backward_iterates`.

        Parameters
        ----------
        model : int
            The model (index into :attr:`problems`).
        steps : array-like of int
            Increasing map counts ``k ≥ 1``.
        eta : float
            Base step size.
        **chains
            ``coupling``, ``tol`` and ``max_maps``, as there.

        Returns
        -------
        iterates : ndarray of shape (len(steps), n_parameters)
        n_maps : int
        bounds : ndarray of shape (len(steps),)
        """
        theta0 = np.concatenate(self.params[model])
        return _backward.backward_iterates(
            self.problems[model], steps, theta0, eta, **chains
        )


def _runs_alone(problem):
    """Whether ``problem`` needs a CPU kernel of its own (GraB)."""
    return problem.sampling == GRAB


def groupable(problems):
    """Whether ``problems`` train as one group (:class:`GroupEngine`).

    Either one multinomial problem (its classes' models are the group: the
    softmax couples them within each row), or two or more one-output
    problems over the same rows, with the same sampling, seed and batch
    size, the same loss, schedule and intercept, and the same
    ``average_start``. Without GraB. The one place that decides.

    Averaged problems train in a group of averaged problems whose means
    start at the same map: the group keeps one start for all
    (:class:`~sklearn_order.kernels.group.GroupAverage`). They do not mix
    with problems that do not average, which would carry running means they
    have none of; no fit mixes them (the classes of a one-vs-rest classifier
    share ``average``, and so do a search's candidates: it is not a grid
    parameter).
    """
    first = problems[0]
    rule = first.rule
    if any(_runs_alone(p) for p in problems):
        return False
    if rule.loss == MULTINOMIAL_LOG_LOSS:
        return len(problems) == 1
    return len(problems) >= 2 and all(
        p.X is first.X
        and (p.rows is first.rows or np.array_equal(p.rows, first.rows))
        and p.sampling == first.sampling
        and p.seed == first.seed
        and p.batch_size == first.batch_size
        and p.n_outputs == 1
        and p.rule.loss == rule.loss
        and p.rule.schedule == rule.schedule
        and p.rule.power_t == rule.power_t
        and p.rule.fit_intercept == rule.fit_intercept
        and p.average_start == first.average_start
        for p in problems
    )


def _columns(arrays):
    """Distinct arrays stacked as the columns of one C-contiguous 2-D array.

    Returns the array and each input's column (the same object gets one).
    """
    distinct, column = [], []
    seen = {}
    for a in arrays:
        if id(a) not in seen:
            seen[id(a)] = len(distinct)
            distinct.append(a)
        column.append(seen[id(a)])
    return (
        np.ascontiguousarray(np.column_stack(distinct), dtype=np.float64),
        np.asarray(column, dtype=np.int64),
    )


def _mean_rows(running_mean, n_features):
    """A running mean ``(w̄_1, …, w̄_K, b̄_1, …, b̄_K)`` as rows ``(w̄_k, b̄_k)``.

    Returns
    -------
    ndarray of shape (K, n_features + 1)
    """
    n_outputs = running_mean.shape[0] // (n_features + 1)
    n_coef = n_outputs * n_features
    return np.column_stack(
        [running_mean[:n_coef].reshape(n_outputs, n_features), running_mean[n_coef:]]
    )


class GroupEngine(SingleEngine):
    """Several problems trained in one pass per call (:func:`groupable`).

    The kernel trains one column of weights per output: one per one-output
    problem, or the classes of one multinomial problem. A forward run of
    averaged problems also carries each one's running mean
    (:meth:`~sklearn_order._problem.Problem.running_average`, kept in its
    state as a fit alone keeps it) into the kernel and back.

    Parameters
    ----------
    problems : list of Problem
    params : list of (ndarray, ndarray)
        Each model's starting ``(coef, intercept)``, updated in place.
    """

    def __init__(self, problems, params):
        if not groupable(problems):
            raise ValueError("these problems cannot train as one group")
        self.problems = list(problems)
        self.params = list(params)
        self.targets, self.column = _columns([p.y for p in problems])
        self.weights, self.weight_column = _columns([p.sample_weight for p in problems])
        if not np.array_equal(self.column, self.weight_column):
            # one column index per model reads both: pair them up
            self.targets = np.ascontiguousarray(
                np.column_stack([p.y for p in problems])
            )
            self.weights = np.ascontiguousarray(
                np.column_stack([p.sample_weight for p in problems])
            )
            self.column = np.arange(len(problems), dtype=np.int64)

    def run_epochs(
        self,
        models,
        *,
        first_epoch,
        n_epochs,
        reverse,
        t_start,
        etas,
        track_loss=False,
        where=None,
    ):
        """As :meth:`SingleEngine.run_epochs`, for every model in one pass per call."""
        models = list(models)
        if not models:
            return np.zeros((0, n_epochs)), {}
        first = self.problems[0]
        problems = [self.problems[m] for m in models]
        # kernel column -> position in `models`: a problem's outputs, in order
        owner = np.repeat(np.arange(len(models)), [p.n_outputs for p in problems])
        M = owner.shape[0]
        d = first.X.shape[1]
        # the kernel's layout (kernels.storage.model_weights): feature-major
        # for CSR rows, model-major for dense rows
        weights = np.empty((d, M)) if first.is_sparse else np.empty((M, d))
        by_column = weights.T if first.is_sparse else weights
        by_column[:] = np.concatenate(
            [self.params[m][0].reshape(-1, d) for m in models]
        )
        coef = weights.reshape(-1)
        intercept = np.concatenate([self.params[m][1] for m in models])
        group = GroupModels(
            coef, intercept, np.ones(M), self.column[np.asarray(models)[owner]]
        )

        # a forward run of averaged problems keeps their running means, as
        # each problem's apply_maps alone does (one start: see groupable)
        averaging = first.average_start > 0 and not reverse
        model_calls = np.array(
            [p._maps_per_call(0, averaging=averaging) for p in problems], np.int64
        )

        def each(values):
            return np.asarray(values, dtype=np.float64)[owner]

        scalars = GroupScalars(
            each(etas),
            each([p.rule.l2 for p in problems]),
            each([p.rule.l1 for p in problems]),
            each([p.rule.loss_param for p in problems]),
            each([p.rule.alpha for p in problems]),
            each([p.rule.optimal_t0 for p in problems]),
            each([p.rule.prediction_bound for p in problems]),
            # a fit alone's kernel calls, where the group folds the lazy mean
            # and scale
            model_calls[owner],
        )
        n_batches = first.n_batches
        first_step = first_epoch * n_batches
        n_steps = n_epochs * n_batches
        column_losses = np.zeros((M, n_epochs))
        outputs = GroupOutputs(
            None, np.full(M, OK, dtype=np.int64), np.full(M, -1, dtype=np.int64)
        )
        scratch = GroupScratch(
            np.empty(first.n_samples, dtype=np.int64),
            np.empty(first.batch_size * M),
            np.empty((N_PER_MODEL, M)),
            scalars.call_maps.copy(),
        )
        sequence = BatchSequence(first.sampling, first.seed, first.batch_size, None)
        average = None
        if averaging:
            # each column's (w̄, b̄) in the weights' layout, its intercept as
            # one more feature (kernels.storage.model_slice)
            means = np.empty((d + 1, M)) if first.is_sparse else np.empty((M, d + 1))
            mean_by_column = means.T if first.is_sparse else means
            for q, p in enumerate(problems):
                mean_by_column[owner == q] = _mean_rows(p.running_average(), d)
            average = GroupAverage(
                first.average_start, means.reshape(-1), np.zeros((M, 3))
            )
        rows = first.kernel_rows()
        # calls of about the work of a model's own (Ctrl-C is handled between
        # them): every model's map, and each column's fixed cost of a map in
        # the group (its step, decay and checks); where the calls end changes
        # no result
        cost = (
            sum(p.map_cost(averaging=averaging) for p in problems)
            + M * _problem.MAP_OVERHEAD
        )
        chunk = max(1, _problem._WORK_PER_CALL // cost)
        done = 0
        while done < n_steps:
            count = min(chunk, n_steps - done)
            start = (
                first_step + n_steps - done - count if reverse else first_step + done
            )
            apply_group_steps(
                rows,
                self.targets,
                self.weights,
                group,
                first.rule,
                scalars,
                sequence,
                StepRange(start, count, reverse, t_start - first_step, 0.0),
                outputs._replace(
                    epoch_losses=column_losses[:, start // n_batches - first_epoch :]
                    if track_loss
                    else None
                ),
                average,
                scratch,
                done + count == n_steps,
            )
            check_not_cancelled(first.state)
            done += count
        # a model's loss is the sum over its columns (a multinomial model's
        # is all in its first), its status its first failed column's
        losses = np.zeros((len(models), n_epochs))
        np.add.at(losses, owner, column_losses)
        failures = {}
        for q, m in enumerate(models):
            columns = np.flatnonzero(owner == q)
            failed = columns[outputs.status[columns] != OK]
            if failed.size:
                c = failed[0]
                failures[m] = problems[q]._divergence_error(
                    outputs.status[c], outputs.failed_epoch[c], where
                )
                continue
            self.params[m][0][:] = by_column[columns].reshape(-1)
            self.params[m][1][:] = intercept[columns]
            if averaging:
                running = problems[q].state.running_mean
                n_coef = columns.size * d
                running[:n_coef] = mean_by_column[columns, :d].reshape(-1)
                running[n_coef:] = mean_by_column[columns, d]
        return losses, failures


def build_engine(problems, params, *, device="cpu"):
    """The engine that trains the models of ``problems`` from ``params``.

    The one place where engines are chosen: on a CUDA device, a
    :class:`~sklearn_order._cuda_driver.CudaEngine` for every problem; on
    the CPU, a :class:`GroupEngine` for problems that train as one group
    (:func:`groupable`), else a :class:`SingleEngine` for the one problem.

    Parameters
    ----------
    problems : list of Problem
    params : list of (ndarray, ndarray)
        Each model's starting ``(coef, intercept)``, updated in place.
    device : {"cpu", "cuda"}, default="cpu"
        Where the maps run (the fit's :attr:`FitSpec.device
        <sklearn_order._spec.FitSpec>`).

    Returns
    -------
    SingleEngine, GroupEngine or CudaEngine

    Raises
    ------
    ValueError
        For several problems that cannot share a CPU engine, or what the
        device does not support.
    CudaUnavailableError
        For ``device="cuda"`` where no CUDA device is available.
    """
    if device == "cuda":
        from ._cuda_driver import CudaEngine  # imports numba.cuda: only here

        return CudaEngine(problems, params)
    if groupable(problems):
        return GroupEngine(problems, params)
    if len(problems) != 1:
        raise ValueError("these problems cannot train as one group: one engine each")
    return SingleEngine(problems[0], *params[0])
