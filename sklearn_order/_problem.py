"""One linear model to train: the data, its targets and weights, and the rule.

A :class:`Problem` is what the estimators hand to a composition order: the
orders (``orders.py``) decide which epochs to compose and in which direction;
the problem runs them on the compiled kernel and turns a failed status into a
:class:`DivergenceError`.
"""

from dataclasses import dataclass, field
from typing import NamedTuple

import numba
import numpy as np
from scipy import sparse
from sklearn.metrics import accuracy_score, r2_score

from .kernels import DERIVATIVE_AT_BOUND, NON_FINITE, OK, UpdateRule
from .kernels.cpu import apply_steps, mean_loss
from .kernels.storage import kernel_rows
from .kernels.trajectory import backward_affine, backward_replay
from .losses import MAX_DLOSS, MULTINOMIAL_LOG_LOSS, SQUARED_ERROR
from .penalties import penalty_value
from .sampling import GRAB, n_batches
from .schedules import is_passive_aggressive

# Multiply-adds per kernel call (~0.1 s): the granularity at which a long fit
# returns to Python, where signals such as Ctrl-C are handled.
_WORK_PER_CALL = 100_000_000
# Placeholders for the kernel's GraB arguments when the scheme does not use them
_NO_TABLE = np.empty((0, 0), dtype=np.int64)
_NO_HERDING = np.empty((0, 0))
_NO_POINTERS = np.empty(0, dtype=np.int64)
_NO_AVERAGE = np.empty(0)


class Ordering(NamedTuple):
    """GraB's arguments of the kernel: the order table and the herding state.

    See :func:`sklearn_order.kernels.cpu.apply_steps`.
    """

    table: np.ndarray
    herding: np.ndarray
    pointers: np.ndarray


_NO_ORDERING = Ordering(_NO_TABLE, _NO_HERDING, _NO_POINTERS)


class DivergenceError(ValueError):
    """The SGD iterates diverged: the learning rate is too large for the data."""


@dataclass(frozen=True)
class Problem:
    """A linear model to train by composing update maps.

    Parameters
    ----------
    X : ndarray or scipy CSR matrix of shape (n_samples, n_features)
        float32 or float64; C-contiguous when dense.
    y : ndarray of shape (n_samples,), float64
        Targets; ``±1`` for classification, the class index for the
        multinomial loss.
    sample_weight : ndarray of shape (n_samples,), float64
        Sample × class weights.
    rule : UpdateRule
        The update map's loss, penalty and schedule.
    sampling : int
        Sampling scheme code.
    seed : int
        Seed of the batch sequence.
    batch_size : int
    learning_rate_name : str
        For error messages.
    eta0 : float
        For error messages.
    average_start : int
        If positive, forward calls keep the running mean of the iterates
        from step index ``average_start`` on (Polyak–Ruppert averaging).
    validation : tuple of (X, y, sample_weight) or None
        Held-out rows for early stopping (targets encoded as ``y``).
    n_outputs : int
        Number of linear models the update map moves together: 1, or the
        number of classes for the multinomial loss. Their weights are laid
        out one model after the other in one flat ``coef``.
    classification : bool
        Whether ``y`` holds class targets (``±1``, or class indices for the
        multinomial loss), whatever the loss (a classifier may use a
        regression loss): early stopping then scores held-out accuracy, else
        R².
    state : dict
        State kept between forward calls: GraB's herding, the running mean.
    """

    X: np.ndarray
    y: np.ndarray
    sample_weight: np.ndarray
    rule: UpdateRule
    sampling: int
    seed: int
    batch_size: int
    learning_rate_name: str = "constant"
    eta0: float = 0.0
    average_start: int = 0
    validation: tuple | None = None
    n_outputs: int = 1
    classification: bool = False
    state: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def n_samples(self):
        """Number of rows."""
        return self.X.shape[0]

    @property
    def n_parameters(self):
        """Length of ``θ``: ``n_outputs`` weight vectors, then the intercepts."""
        return self.n_outputs * (self.X.shape[1] + 1)

    @property
    def n_batches(self):
        """Number of update maps per epoch."""
        return n_batches(self.X.shape[0], self.batch_size)

    def run(
        self,
        coef,
        intercept,
        *,
        first_epoch,
        n_epochs,
        reverse,
        t_start,
        eta,
        track_loss=False,
    ):
        """Compose the maps of an epoch range onto ``(coef, intercept)`` in place.

        Parameters
        ----------
        coef : ndarray of shape (n_outputs * n_features,), float64
        intercept : ndarray of shape (n_outputs,), float64
        first_epoch, n_epochs : int
            The epoch range.
        reverse : bool
            Newest map first (backward composition).
        t_start : int
            Number of maps before the range (the schedule's step index offset).
        eta : float
            Base step size.
        track_loss : bool, default=False
            Return each epoch's summed weighted loss.

        Returns
        -------
        epoch_losses : ndarray of shape (n_epochs,)
            Zeros unless ``track_loss``.

        Raises
        ------
        DivergenceError
            If the loss derivative reached its clipping bound or the iterates
            stopped being finite.
        """
        first_step = first_epoch * self.n_batches
        epoch_losses = np.zeros(n_epochs)
        self.apply(
            coef,
            intercept,
            first_step=first_step,
            n_steps=n_epochs * self.n_batches,
            reverse=reverse,
            eta=eta,
            step_offset=t_start - first_step,
            track_loss=track_loss,
            epoch_losses=epoch_losses,
        )
        return epoch_losses

    def apply(
        self,
        coef,
        intercept,
        *,
        first_step,
        n_steps,
        reverse,
        eta,
        step_offset=0,
        track_loss=False,
        epoch_losses=None,
        record_every=0,
        ordering=None,
        average=True,
    ):
        """Apply the maps ``first_step + 1 … first_step + n_steps`` in place.

        Long ranges run as several kernel calls (newest maps first when
        reversed): between calls Python handles signals, so Ctrl-C stops a
        long fit quickly.

        Parameters
        ----------
        coef : ndarray of shape (n_outputs * n_features,), float64
        intercept : ndarray of shape (n_outputs,), float64
        first_step, n_steps : int
            The map range (maps are counted from 1 over the whole sequence).
        reverse : bool
            Newest map first (backward composition).
        eta : float
            Base step size.
        step_offset : int, default=0
            Shift of the schedule's step index.
        track_loss : bool, default=False
            Accumulate each epoch's loss into ``epoch_losses``.
        epoch_losses : ndarray, default=None
            One entry per epoch spanned, for ``track_loss``.
        record_every : int, default=0
            If positive, record ``θ`` after every ``record_every`` maps.
        ordering : Ordering, default=None
            GraB's order table and herding state; by default the problem's
            own (forward) or a table generated for this range (backward).
        average : bool, default=True
            With ``average_start``, let forward calls update the running mean
            kept in :attr:`state`.

        Returns
        -------
        records : ndarray of shape (n_steps // record_every, n_parameters)
            The recorded ``(coef, intercept)`` rows (empty if not recording).

        Raises
        ------
        DivergenceError
            If the loss derivative reached its clipping bound or the iterates
            stopped being finite.
        """
        n_records = n_steps // record_every if record_every > 0 else 0
        records = np.empty((n_records, self.n_parameters))
        if epoch_losses is None:
            epoch_losses = np.zeros(1)
        if ordering is None and reverse:
            last_epoch = (first_step + n_steps - 1) // self.n_batches
            table = self.order_table(coef, intercept, last_epoch + 1, eta, step_offset)
            ordering = Ordering(table, _NO_HERDING, _NO_POINTERS)
        elif ordering is None:
            ordering = self._balancing_state()
        average_start = self.average_start if average and not reverse else 0
        averaged = self.running_average() if average_start else _NO_AVERAGE
        rows = kernel_rows(self.X)
        order = np.empty(self.n_samples, dtype=np.int64)
        work = np.empty(self.batch_size * self.n_outputs)
        scale = np.ones(1)
        first_epoch = first_step // self.n_batches
        chunk = self._maps_per_call(record_every)
        done = 0
        while done < n_steps:
            count = min(chunk, n_steps - done)
            start = (
                first_step + n_steps - done - count if reverse else first_step + done
            )
            status, epoch = apply_steps(
                rows,
                self.y,
                self.sample_weight,
                coef,
                intercept,
                scale,
                self.rule,
                float(eta),
                self.sampling,
                self.seed,
                self.batch_size,
                start,
                count,
                reverse,
                step_offset,
                track_loss,
                epoch_losses[start // self.n_batches - first_epoch :],
                record_every,
                records[done // record_every if record_every > 0 else 0 :],
                ordering.table,
                order,
                work,
                ordering.herding,
                ordering.pointers,
                average_start,
                averaged,
            )
            if status != OK:
                raise self._divergence_error(status, epoch)
            done += count
        return records

    def _maps_per_call(self, record_every):
        """Maps per kernel call: about ``_WORK_PER_CALL`` multiply-adds.

        A multiple of ``record_every`` so that records fall on whole calls.
        """
        n_features = self.X.shape[1]
        row_cost = self.X.nnz / self.n_samples if self.is_sparse else n_features
        per_map = self.batch_size * self.n_outputs * (row_cost + 1)
        if self.average_start or self.rule.l1 > 0.0:  # O(n_features) per map
            per_map += self.n_outputs * n_features
        per_map = int(per_map)
        maps = max(1, _WORK_PER_CALL // per_map)
        if record_every > 0:
            maps = max(record_every, maps - maps % record_every)
        return maps

    def running_average(self, initial=None):
        """The running mean ``(w̄, b̄)`` of the forward iterates (created on first use).

        Parameters
        ----------
        initial : ndarray of shape (n_parameters,), default=None
            The mean so far, when a ``partial_fit`` continues an average.

        Returns
        -------
        ndarray of shape (n_parameters,)
        """
        if "averaged" not in self.state:
            self.state["averaged"] = (
                np.zeros(self.n_parameters)
                if initial is None
                else np.array(initial, dtype=np.float64)
            )
        return self.state["averaged"]

    def _balancing_state(self):
        """GraB's order table and herding state for forward calls (kept between calls).

        Other schemes get empty placeholders.
        """
        if self.sampling != GRAB:
            return _NO_ORDERING
        if "ordering" not in self.state:
            # two rows: the epoch being visited and the next one being built
            # (a call resuming mid-epoch reloads the current row)
            self.state["ordering"] = Ordering(
                np.empty((2, self.n_samples), dtype=np.int64),
                np.zeros((3, self.n_parameters)),
                np.zeros(2, dtype=np.int64),
            )
        return self.state["ordering"]

    def order_table(self, coef, intercept, n_epochs, eta, step_offset=0):
        """The orders of epochs ``0 … n_epochs − 1`` that a backward pass reads.

        Only ``"grab"`` needs one: its orders are those GraB builds along
        forward SGD from ``(coef, intercept)`` (the backward pass's starting
        point), generated here by a forward pass over ``n_epochs − 1`` epochs
        on copies. Other schemes get an empty placeholder.

        Returns
        -------
        ndarray of shape (n_epochs, n_samples), int64
        """
        if self.sampling != GRAB:
            return _NO_TABLE
        table = np.empty((n_epochs, self.n_samples), dtype=np.int64)
        fresh = Ordering(table, np.zeros((3, self.n_parameters)), np.zeros(2, np.int64))
        self.apply(
            coef.copy(),
            intercept.copy(),
            first_step=0,
            n_steps=(n_epochs - 1) * self.n_batches,
            reverse=False,
            eta=eta,
            step_offset=step_offset,
            ordering=fresh,
            average=False,
        )
        return table

    def objective(self, coef, intercept):
        """Training objective ``(1/n) Σ s_i ℓ_i + R(w)`` at ``(coef, intercept)``.

        Parameters
        ----------
        coef : ndarray of shape (n_outputs * n_features,)
        intercept : ndarray of shape (n_outputs,)

        Returns
        -------
        float
        """
        coef = np.ascontiguousarray(coef, dtype=np.float64).reshape(-1)
        intercept = np.ascontiguousarray(intercept, dtype=np.float64).reshape(-1)
        data_term = mean_loss(
            kernel_rows(self.X),
            self.y,
            self.sample_weight,
            coef,
            intercept,
            self.rule,
            np.empty(self.n_outputs),
        )
        return data_term + penalty_value(coef, self.rule.l2, self.rule.l1)

    @property
    def validates(self):
        """Whether early stopping judges a held-out score."""
        return self.validation is not None

    def validation_score(self, coef, intercept):
        """Held-out score of ``(coef, intercept)``: accuracy for classification
        (of this binary one-vs-rest problem, or over all classes for the
        multinomial loss), R² for regression.

        Returns
        -------
        float
        """
        X, y, weights = self.validation
        if self.rule.loss == MULTINOMIAL_LOG_LOSS:
            scores = X @ coef.reshape(self.n_outputs, -1).T + intercept
            labels = np.argmax(scores, axis=1)
            return float(accuracy_score(y, labels, sample_weight=weights))
        prediction = X @ coef + intercept[0]
        if self.classification:
            labels = np.where(prediction > 0, 1.0, -1.0)
            return float(accuracy_score(y, labels, sample_weight=weights))
        return float(r2_score(y, prediction, sample_weight=weights))

    @property
    def is_sparse(self):
        """Whether ``X`` is a sparse (CSR) matrix."""
        return sparse.issparse(self.X)

    @property
    def is_affine(self):
        """Whether every update map is affine in ``θ`` (squared error, no L1,
        steps that do not depend on ``θ``)."""
        return (
            self.rule.loss == SQUARED_ERROR
            and self.rule.l1 == 0.0
            and not is_passive_aggressive(self.rule.schedule)
        )

    @property
    def has_affine_trajectory(self):
        """Whether :meth:`backward_affine_iterates` applies (affine maps, dense X)."""
        return self.is_affine and not self.is_sparse

    def backward_iterates(self, steps, theta0, eta):
        """Backward iterates ``θ̃_k`` for each ``k`` in ``steps``, by replay.

        Each ``θ̃_k`` is one reversed pass over maps ``k … 1`` from ``theta0``
        (an independent chain); chains run in parallel threads.

        Parameters
        ----------
        steps : array-like of int
        theta0 : ndarray of shape (n_parameters,)
            ``(w_0, b_0)``.
        eta : float
            Base step size.

        Returns
        -------
        ndarray of shape (len(steps), n_parameters)
        """
        steps = np.asarray(steps, dtype=np.int64)
        theta0 = np.asarray(theta0, dtype=np.float64)
        n_threads = min(numba.get_num_threads(), max(len(steps), 1))
        out = np.empty((len(steps), self.n_parameters))
        statuses = np.zeros(n_threads, dtype=np.int64)
        failed_epochs = np.zeros(n_threads, dtype=np.int64)
        table = self._table_for(theta0, int(steps.max(initial=1)), eta)
        backward_replay(
            kernel_rows(self.X),
            self.y,
            self.sample_weight,
            self.rule,
            float(eta),
            self.sampling,
            self.seed,
            self.batch_size,
            steps,
            theta0,
            self.n_outputs,
            out,
            np.empty((n_threads, self.n_samples), dtype=np.int64),
            np.empty((n_threads, self.batch_size * self.n_outputs)),
            np.ones((n_threads, 1)),
            statuses,
            failed_epochs,
            table,
            np.zeros(1),
            np.empty((0, self.n_parameters)),
            _NO_HERDING,
            _NO_POINTERS,
            _NO_AVERAGE,
        )
        failed = np.flatnonzero(statuses != OK)
        if failed.size:
            t = failed[np.argmin(failed_epochs[failed])]
            raise self._divergence_error(statuses[t], failed_epochs[t])
        return out

    def backward_affine_iterates(self, n_steps, every, theta0, eta, start=0):
        """Backward iterates after ``start + every, start + 2·every, …`` maps (affine).

        Only for :attr:`is_affine` problems on dense ``X``;
        O(n_features² · batch_size) per map (design.md fact 4).

        Returns
        -------
        ndarray of shape ((n_steps - start) // every, n_features + 1)
        """
        if not self.is_affine:
            raise ValueError(
                "the affine trajectory needs loss='squared_error' with penalty "
                "None or 'l2' (every update map affine in the coefficients)."
            )
        if self.is_sparse:
            raise ValueError(
                "the affine trajectory needs dense X (it costs n_features² per "
                "map anyway); use method='replay' for sparse X."
            )
        dim = self.X.shape[1] + 1
        theta0 = np.asarray(theta0, dtype=np.float64)
        out = np.empty(((n_steps - start) // every, dim))
        backward_affine(
            self.X,
            self.y,
            self.sample_weight,
            self.rule,
            float(eta),
            self.sampling,
            self.seed,
            self.batch_size,
            n_steps,
            every,
            start,
            theta0,
            out,
            np.empty((dim, dim)),
            np.empty(dim),
            np.empty((self.batch_size, dim)),
            self._table_for(theta0, n_steps, eta),
            np.empty(self.n_samples, dtype=np.int64),
        )
        # The affine path has no loss derivative to watch; bound it instead:
        # |x·w + b − y| ≤ ‖w‖ max‖x‖ + |b| + max|y| at each recorded iterate.
        with np.errstate(over="ignore", invalid="ignore"):
            bound = (
                np.linalg.norm(out[:, :-1], axis=1) * self._max_row_norm()
                + np.abs(out[:, -1])
                + np.abs(self.y).max()
            )
        bad = np.flatnonzero(~(bound < MAX_DLOSS))
        if bad.size:
            step = start + (bad[0] + 1) * every
            status = (
                NON_FINITE
                if not np.isfinite(out[bad[0]]).all()
                else DERIVATIVE_AT_BOUND
            )
            raise self._divergence_error(status, (step - 1) // self.n_batches)
        return out

    def _table_for(self, theta0, n_steps, eta):
        """The order table for backward iterates of up to ``n_steps`` maps."""
        n_epochs = (n_steps - 1) // self.n_batches + 1
        n_coef = self.n_parameters - self.n_outputs
        return self.order_table(theta0[:n_coef], theta0[n_coef:], n_epochs, eta)

    def _max_row_norm(self):
        squared = np.einsum("ij,ij->i", self.X, self.X, dtype=np.float64)
        return float(np.sqrt(squared.max()))

    def _divergence_error(self, status, epoch):
        """The error for a failed ``status`` in (0-based) ``epoch``."""
        what = (
            "the loss derivative reached its clipping bound"
            if status == DERIVATIVE_AT_BOUND
            else "the predictions or coefficients stopped being finite"
        )
        if self.learning_rate_name == "optimal":
            rate = "learning_rate='optimal' (step sizes 1/(alpha·t); raise alpha)"
        else:
            rate = f"learning_rate={self.learning_rate_name!r} with eta0={self.eta0:g}"
        return DivergenceError(
            f"SGD diverged in epoch {epoch + 1}: {what}. The learning rate is too "
            f"large for this data ({rate}). Scale the data (e.g. with "
            "StandardScaler) or lower eta0."
        )
