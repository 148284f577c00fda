"""One linear model to train: the data, its targets and weights, and the rule.

A :class:`Problem` is what the estimators hand to a composition order: the
orders (``orders.py``) decide which epochs to compose and in which direction;
the problem runs them on the compiled kernel and turns a failed status into a
:class:`DivergenceError`, keeping what a fit carries between kernel calls in
its typed :class:`FitState`. Its backward trajectory (many iterates
``θ̃_k``) is :mod:`sklearn_order._backward_trajectory`'s. The same problems
train on a CUDA device, where their engine
(:class:`~sklearn_order._cuda_driver.CudaEngine`) runs the maps instead.
"""

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from scipy import sparse
from sklearn.metrics import accuracy_score, r2_score

from .kernels import (
    DERIVATIVE_AT_BOUND,
    OK,
    Average,
    Herding,
    Scratch,
    UpdateRule,
    step_records,
)
from .kernels.cpu import apply_steps, averages_lazily, mean_loss
from .kernels.storage import kernel_rows
from .losses import (
    MAX_DLOSS,
    MULTINOMIAL_LOG_LOSS,
    prediction_bound,
)
from .penalties import penalty_value
from .sampling import GRAB, n_batches
from .schedules import is_passive_aggressive, largest_step, weighted_squared_norms

# The work of one kernel call, in the units of :meth:`Problem.map_cost` (about
# a multiply-add each; about 0.1 s): the granularity at which a long fit
# returns to Python, where signals such as Ctrl-C are handled.
_WORK_PER_CALL = 100_000_000
# The fixed cost of a map (step size, batch bookkeeping, loop), in those
# units: for small rows it outweighs the rows' arithmetic.
MAP_OVERHEAD = 100
# The fixed cost of a batch row for each output (its loss derivative, the
# fetch of a row from a random place in memory), in those units.
ROW_OVERHEAD = 20


class GrabState(NamedTuple):
    """GraB's state for the kernel: the order table and the herding state.

    ``None`` fields where unused (see
    :func:`sklearn_order.kernels.cpu.apply_steps`).
    """

    table: np.ndarray | None
    herding: Herding | None


_NO_GRAB_STATE = GrabState(None, None)


@dataclass
class FitState:
    """What the fit running a problem keeps between its kernel calls.

    The one mutable part of a :class:`Problem` (its :attr:`Problem.state`):
    each problem gets its own, empty, on construction.

    Attributes
    ----------
    fit_token : int or None
        The token of the fit running the problem in a worker thread
        (:func:`cancel_fit` stops it at its next kernel call); ``None``
        outside workers.
    running_mean : ndarray of shape (n_parameters,) or None
        With averaging: the running mean ``(w̄, b̄)`` of the forward iterates
        (:meth:`Problem.running_average`); ``None`` until the first
        averaging call.
    grab : GrabState or None
        With GraB sampling: the order table and herding state that forward
        calls carry from one call to the next; ``None`` until the first
        forward call.
    """

    fit_token: int | None = None
    running_mean: np.ndarray | None = None
    grab: GrabState | None = None


class DivergenceError(ValueError):
    """The fit cannot go on numerically: the iterates diverged or overflow.

    One family for every numerical failure of a fit, raised by ``fit`` and
    ``partial_fit`` of the estimators, and by
    :func:`~sklearn_order.trajectory` and :func:`~sklearn_order.coalescence`.
    It covers exactly:

    - a prediction or a coefficient stops being finite during the fit;
    - a prediction grows past what the targets explain: the loss derivative
      is clipped to ``±1e12`` (as in scikit-learn), and a prediction at the
      bound larger than ``1e12 + ‖y‖₂`` in magnitude is divergence (a large
      target reaching the bound at ``θ = 0`` is not);
    - ``eta0 · alpha · (1 − l1_ratio) ≥ 1``: the L2 weight decay would zero
      the weights at every step (raised before any work);
    - the fitted coefficients, or the fitted model's predictions on its
      training data, overflow the data's dtype (float32).

    Targets too large for clipped steps to reach within ``max_iter`` epochs
    are a plain :class:`ValueError` (bad data, not a failed fit), as are
    invalid parameters and data.

    The estimator is left as it was before the call (unfitted, or with its
    previous fit). The message names where it happened and what set the
    step, and advises only settings not already in use.

    What to do: scale the data (for example with
    :class:`~sklearn.preprocessing.StandardScaler`); lower ``eta0``, or use
    ``eta0="auto"``, a step size for which every update map contracts; with
    ``learning_rate="optimal"``, raise ``alpha``.

    It subclasses :class:`ValueError`, so code that catches ``ValueError``
    also catches it; catch ``DivergenceError`` to tell a numerical failure
    from invalid parameters or data.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_order import BackwardSGDRegressor, DivergenceError
    >>> X = np.array([[1e3], [2e3], [3e3]]); y = np.array([1.0, 2.0, 3.0])
    >>> try:
    ...     BackwardSGDRegressor(eta0=1.0, random_state=0).fit(X, y)
    ... except DivergenceError:
    ...     print("diverged")
    diverged
    """


class FitCancelled(RuntimeError):
    """A worker's fit stopped because the fit that started it was interrupted."""


# Tokens of fits whose caller was interrupted or failed while thread workers
# ran them (see ``_training.run_outputs``); their problems stop at the next
# return to Python.
_CANCELLED_FITS = set()


def cancel_fit(token):
    """Stop the problems whose ``state.fit_token`` is ``token`` at their next call."""
    _CANCELLED_FITS.add(token)


def check_not_cancelled(state):
    """Raise :class:`FitCancelled` if the fit running this problem was cancelled.

    Parameters
    ----------
    state : FitState
        The problem's.
    """
    if state.fit_token in _CANCELLED_FITS:
        raise FitCancelled("the fit was interrupted")


class MapBudgetError(ValueError):
    """A computation needed more update maps than its budget allows.

    Attributes
    ----------
    n_maps : int
        The maps needed (``exact``) or applied before stopping.
    exact : bool
        Whether ``n_maps`` is the whole need, known before any work.
    """

    def __init__(self, n_maps, exact):
        super().__init__(f"{n_maps} maps exceed the budget")
        self.n_maps = n_maps
        self.exact = exact


@dataclass(frozen=True)
class Problem:
    """A linear model to train by composing update maps.

    A problem is frozen: its fields never change after construction (a
    variant is a new problem, made with :func:`dataclasses.replace`). The
    one mutable part is ``state``, the scratch of the fit that runs it; it is
    not a constructor argument, so a copy starts with its own, empty state
    and never shares one with the original.

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
        The update map's loss, penalty and schedule. Its
        ``prediction_bound`` is set from ``y`` on construction.
    sampling : int
        Sampling scheme code.
    seed : int
        Seed of the batch sequence.
    batch_size : int
    learning_rate_name : str
        For error messages.
    eta0 : float
        The base step size (the value of ``eta0="auto"`` where chosen).
    average_start : int
        If positive, forward calls keep the running mean of the iterates
        from step index ``average_start`` on (Polyak–Ruppert averaging).
    validation : tuple of (X, y, sample_weight) or None
        Held-out rows for early stopping (targets encoded as ``y``).
    n_outputs : int
        Number of linear models the update map moves together: 1, or the
        number of classes for the multinomial loss. Their weights are laid
        out one model after the other in one flat ``coef``.
    rows : ndarray of shape (n_visited,), int64, or None
        The increasing indices of the rows to train on (early stopping holds
        the others out); ``None`` for every row. The batch sequence is drawn
        over these rows in data order, exactly as for a fit on ``X[rows]``,
        without copying them.
    classification : bool
        Whether ``y`` holds class targets (``±1``, or class indices for the
        multinomial loss), whatever the loss (a classifier may use a
        regression loss): early stopping then scores held-out accuracy, else
        R².
    auto_step : bool
        Whether ``eta0`` is the value of ``eta0="auto"`` (error messages then
        do not advise it).

    Attributes
    ----------
    state : FitState
        State kept between forward calls: GraB's herding, the running mean;
        and the token of the fit running it in a worker thread, if any.
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
    rows: np.ndarray | None = None
    classification: bool = False
    auto_step: bool = False
    state: FitState = field(
        default_factory=FitState, init=False, repr=False, compare=False
    )

    def __post_init__(self):
        # The kernels call a clipped derivative divergence only past the
        # targets' own scale: the rule carries that bound for these targets.
        bound = prediction_bound(self.y)
        if self.rule.prediction_bound != bound:
            object.__setattr__(self, "rule", self.rule._replace(prediction_bound=bound))

    @property
    def n_samples(self):
        """Number of rows trained on."""
        return self.X.shape[0] if self.rows is None else self.rows.shape[0]

    @property
    def n_parameters(self):
        """Length of ``θ``: ``n_outputs`` weight vectors, then the intercepts."""
        return self.n_outputs * (self.X.shape[1] + 1)

    @property
    def n_batches(self):
        """Number of update maps per epoch."""
        return n_batches(self.n_samples, self.batch_size)

    def run_epochs(
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
        where=None,
    ):
        """Compose the maps of an epoch range onto ``(coef, intercept)`` in place.

        Whole epochs, with the schedule's step index from ``t_start``: what an
        order's fit procedure calls. Built on :meth:`apply_maps`, which takes
        any range of maps.

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
        where : str, default=None
            Where a divergence happened, for its message (as in
            :meth:`apply_maps`).

        Returns
        -------
        epoch_losses : ndarray of shape (n_epochs,), or (1,) of zero
            Each epoch's summed weighted loss with ``track_loss``.

        Raises
        ------
        DivergenceError
            If a prediction grew past what the targets explain or the iterates
            stopped being finite.
        """
        first_step = first_epoch * self.n_batches
        # one slot unless tracked: a run of max_iter epochs allocates nothing
        # in proportion to max_iter
        epoch_losses = np.zeros(n_epochs if track_loss else 1)
        self.apply_maps(
            coef,
            intercept,
            first_step=first_step,
            n_steps=n_epochs * self.n_batches,
            reverse=reverse,
            eta=eta,
            step_offset=t_start - first_step,
            track_loss=track_loss,
            epoch_losses=epoch_losses,
            where=where,
        )
        return epoch_losses

    def apply_maps(
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
        grab_state=None,
        average=True,
        where=None,
    ):
        """Apply the maps ``first_step + 1 … first_step + n_steps`` in place.

        Any range of maps, not only whole epochs: the kernel calls behind
        :meth:`run_epochs` and the diagnostics' recorded iterates.

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
        grab_state : GrabState, default=None
            GraB's order table and herding state; by default the problem's
            own (forward) or a table generated for this range (backward).
        average : bool, default=True
            With ``average_start``, let forward calls update the running mean
            kept in :attr:`state`.
        where : str, default=None
            Where a divergence happened, for its message; by default the
            epoch of the batch sequence (``"in epoch 3"``).

        Returns
        -------
        records : ndarray of shape (n_steps // record_every, n_parameters)
            The recorded ``(coef, intercept)`` rows (empty if not recording).

        Raises
        ------
        DivergenceError
            If a prediction grew past what the targets explain or the iterates
            stopped being finite.
        """
        n_records = n_steps // record_every if record_every > 0 else 0
        records = np.empty((n_records, self.n_parameters))
        if track_loss and epoch_losses is None:
            epoch_losses = np.zeros(1)
        if grab_state is None and reverse:
            last_epoch = (first_step + n_steps - 1) // self.n_batches
            table = self.order_table(coef, intercept, last_epoch + 1, eta, step_offset)
            grab_state = GrabState(table, None)
        elif grab_state is None:
            grab_state = self._balancing_state()
        average_start = self.average_start if average and not reverse else 0
        average_state = (
            Average(average_start, self.running_average(), np.zeros(3))
            if average_start
            else None
        )
        rows = self.kernel_rows()
        scratch = Scratch(
            np.empty(self.n_samples, dtype=np.int64),
            np.empty(self.batch_size * self.n_outputs),
        )
        first_epoch = first_step // self.n_batches
        chunk = self._maps_per_call(
            record_every,
            herding=grab_state.herding is not None,
            averaging=average_start > 0,
        )
        done = 0
        while done < n_steps:
            count = min(chunk, n_steps - done)
            start = (
                first_step + n_steps - done - count if reverse else first_step + done
            )
            status, epoch = apply_steps(
                *step_records(
                    rows,
                    self.y,
                    self.sample_weight,
                    coef,
                    intercept,
                    self.rule,
                    scheme=self.sampling,
                    seed=self.seed,
                    batch_size=self.batch_size,
                    table=grab_state.table,
                    first_step=start,
                    n_steps=count,
                    reverse=reverse,
                    eta=eta,
                    step_offset=step_offset,
                    epoch_losses=epoch_losses[start // self.n_batches - first_epoch :]
                    if track_loss
                    else None,
                    records=records[done // record_every :]
                    if record_every > 0
                    else None,
                    record_every=record_every,
                    herding=grab_state.herding,
                    average=average_state,
                    scratch=scratch,
                )
            )
            if status != OK:
                raise self._divergence_error(status, epoch, where)
            check_not_cancelled(self.state)
            done += count
        return records

    def _maps_per_call(self, record_every, *, herding=False, averaging=False):
        """Maps per kernel call of :meth:`apply_maps`: about ``_WORK_PER_CALL`` of work.

        A multiple of ``record_every`` so that records fall on whole calls.
        """
        maps = max(
            1,
            _WORK_PER_CALL
            // self.map_cost(
                herding=herding, averaging=averaging, record_every=record_every
            ),
        )
        if record_every > 0:
            maps = max(record_every, maps - maps % record_every)
        return maps

    def map_cost(self, *, herding=False, averaging=False, record_every=0, affine=False):
        """About how long one map of a kernel call takes, in multiply-adds.

        The one estimate every kernel call is sized by, so that each call
        lasts about the same time (~0.1 s for ``_WORK_PER_CALL``) whatever
        the shape: everything a map does counts, its fixed cost included.

        Parameters
        ----------
        herding : bool, default=False
            The map also places its rows for GraB's next epoch (forward
            ``"grab"``): ``O(n_parameters)`` per row, whatever the storage.
        averaging : bool, default=False
            The map also updates the running mean (``O(n_features)``, or the
            batch's non-zeros when it is lazy).
        record_every : int, default=0
            If positive, ``θ`` is copied out every ``record_every`` maps.
        affine : bool, default=False
            The map composes an affine map's matrix instead
            (:func:`backward_affine_iterates
            <sklearn_order._backward_trajectory.backward_affine_iterates>`):
            ``2 (n_features + 1)²`` per row.

        Returns
        -------
        int
        """
        n_features = self.X.shape[1]
        n_outputs = self.n_outputs
        row = self.X.nnz / self.X.shape[0] if self.is_sparse else n_features
        if affine:
            per_row = 2.0 * (n_features + 1) ** 2
        else:
            # the predictions, then the update (passive-aggressive steps read
            # the row a third time, for its norm)
            passes = 3 if is_passive_aggressive(self.rule.schedule) else 2
            per_row = n_outputs * (passes * row + ROW_OVERHEAD)
        cost = MAP_OVERHEAD + self.batch_size * per_row
        if affine:
            return max(1, int(cost))
        if self.rule.l1 > 0.0 or not self.is_sparse:
            # soft-threshold every weight (L1), or the dense weight decay
            cost += n_outputs * n_features
        if herding:  # per row: S·m and S -= ±m (dense), then three row passes
            cost += self.batch_size * (
                2 * self.n_parameters + 3 * n_outputs * (row + ROW_OVERHEAD)
            )
        if averaging:  # the batch's non-zeros once more (lazy), or every weight
            lazy = self.batch_size * row if self._lazy_average() else n_features
            cost += n_outputs * (lazy + ROW_OVERHEAD)
        if record_every > 0:
            cost += self.n_parameters / record_every
        # each epoch loads its order and checks θ (GraB also restarts its
        # sums), shared by the epoch's maps
        per_epoch = self.n_samples + self.n_parameters * (4 if herding else 1)
        cost += per_epoch / self.n_batches
        return max(1, int(cost))

    def _lazy_average(self):
        """Whether the kernel keeps the running mean lazily, at O(nnz) a map.

        CSR rows and a rule that allows it (:func:`~.kernels.cpu.averages_lazily`,
        the kernel's own test); it only sizes the kernel calls.
        """
        return self.is_sparse and averages_lazily(self.rule)

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
        if self.state.running_mean is None:
            self.state.running_mean = (
                np.zeros(self.n_parameters)
                if initial is None
                else np.array(initial, dtype=np.float64)
            )
        return self.state.running_mean

    def _balancing_state(self):
        """GraB's order table and herding state for forward calls (kept between calls).

        Other schemes get ``None`` (no code for them in the kernel).
        """
        if self.sampling != GRAB:
            return _NO_GRAB_STATE
        if self.state.grab is None:
            # two rows: the epoch being visited and the next one being built
            # (a call resuming mid-epoch reloads the current row)
            self.state.grab = GrabState(
                np.empty((2, self.n_samples), dtype=np.int64),
                Herding(np.zeros((3, self.n_parameters)), np.zeros(2, dtype=np.int64)),
            )
        return self.state.grab

    def order_table(self, coef, intercept, n_epochs, eta, step_offset=0):
        """The orders of epochs ``0 … n_epochs − 1`` that a backward pass reads.

        Only ``"grab"`` needs one: its orders are those GraB builds along
        forward SGD from ``(coef, intercept)`` (the backward pass's starting
        point), generated here by a forward pass over ``n_epochs − 1`` epochs
        on copies. Other schemes need none.

        Returns
        -------
        ndarray of shape (n_epochs, n_samples), int64, or None
        """
        if self.sampling != GRAB:
            return None
        table = np.empty((n_epochs, self.n_samples), dtype=np.int64)
        fresh = GrabState(
            table, Herding(np.zeros((3, self.n_parameters)), np.zeros(2, np.int64))
        )
        self.apply_maps(
            coef.copy(),
            intercept.copy(),
            first_step=0,
            n_steps=(n_epochs - 1) * self.n_batches,
            reverse=False,
            eta=eta,
            step_offset=step_offset,
            grab_state=fresh,
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
            self.kernel_rows(),
            self.y,
            self.sample_weight,
            coef,
            intercept,
            self.rule,
            np.empty(self.n_outputs),
        )
        return data_term + penalty_value(coef, self.rule.l2, self.rule.l1)

    def check_targets_reachable(self, n_epochs):
        """Refuse targets that clipped steps cannot reach within ``n_epochs``.

        With the loss derivative clipped to ``±MAX_DLOSS`` (as in
        scikit-learn), a map moves any prediction by at most
        ``η_t · MAX_DLOSS · max_i s_i · (max_i ‖x_i‖² + fit_intercept)``; the
        step sizes of every schedule but the passive-aggressive ones never
        exceed the first, so ``n_epochs`` epochs from ``θ = 0`` move the
        predictions by at most that times the number of maps (the L2 decay
        and the L1 threshold only pull them back toward 0). Targets beyond
        that reach cannot be fitted, whatever the order.

        Parameters
        ----------
        n_epochs : int
            The epoch budget (``max_iter``).

        Raises
        ------
        ValueError
            If ``max |y|`` exceeds the reach.
        """
        largest = float(np.max(np.abs(self._trained(self.y)), initial=0.0))
        if largest <= MAX_DLOSS or is_passive_aggressive(self.rule.schedule):
            return  # the derivative is clipped nowhere at θ = 0
        rule = self.rule
        first_step = largest_step(rule, self.eta0)
        curvature = float(np.max(self.sample_weight, initial=0.0)) * float(
            np.max(weighted_squared_norms(self.X, 1.0, rule.fit_intercept), initial=0.0)
        )
        with np.errstate(over="ignore", invalid="ignore"):
            reach = n_epochs * self.n_batches * first_step * MAX_DLOSS * curvature
        if largest > reach:
            raise ValueError(
                f"The targets are too large for the clipped loss derivative: "
                f"max |y| = {largest:.3g}, but with the derivative clipped to "
                f"±{MAX_DLOSS:g} (as in scikit-learn) max_iter={n_epochs} epochs "
                f"of these steps move a prediction by at most {reach:.3g}. "
                "Center or scale y, for example with "
                "sklearn.compose.TransformedTargetRegressor(regressor=..., "
                "transformer=StandardScaler())."
            )

    def constant_model(self):
        """``θ`` of the model that predicts the weighted mean target everywhere.

        The origin from which the doubling test measures the size of an
        iterate: ``w = 0`` and, for a regression with an intercept, ``b`` the
        weighted mean of ``y``; ``θ = 0`` otherwise. An offset that the
        intercept absorbs (targets around 1e12, say) then does not make a
        coarse fit look converged relative to its own size.

        Returns
        -------
        ndarray of shape (n_parameters,)
        """
        theta = np.zeros(self.n_parameters)
        if not self.classification and self.rule.fit_intercept:
            weights = self._trained(self.sample_weight)
            if weights.sum() > 0:
                theta[-self.n_outputs :] = np.average(
                    self._trained(self.y), weights=weights
                )
        return theta

    def _trained(self, values):
        """The entries of ``values`` (one per row of ``X``) of the rows trained on."""
        return values if self.rows is None else values[self.rows]

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

    def kernel_rows(self):
        """The rows trained on, as the kernels take them."""
        return kernel_rows(self.X, self.rows)

    @property
    def is_sparse(self):
        """Whether ``X`` is a sparse (CSR) matrix."""
        return sparse.issparse(self.X)

    def _divergence_error(self, status, epoch, where=None):
        """The error for a failed ``status`` in (0-based) ``epoch``.

        ``where`` replaces "in epoch ``epoch + 1``" (a ``partial_fit`` pass
        is not an epoch of a sequence). The remedies never include the
        setting in use: ``eta0="auto"`` is not advised when it set the step.
        """
        where = f"in epoch {epoch + 1}" if where is None else where
        if status == DERIVATIVE_AT_BOUND:
            what = (
                "a prediction grew past what the targets explain (|prediction| "
                f"above {MAX_DLOSS:g} + ‖y‖₂, where the loss derivative is "
                "clipped)"
            )
        else:
            what = "the predictions or coefficients stopped being finite"
        if self.learning_rate_name == "optimal":
            rate = (
                "learning_rate='optimal', whose step sizes 1/(alpha·(t0 + t)) do "
                "not use eta0"
            )
            remedy = "raise alpha, or use learning_rate='constant' with eta0='auto'"
        elif self.auto_step:
            return DivergenceError(
                f"SGD diverged {where}: {what}. The step was eta0='auto' (= "
                f"{self.eta0:g}, learning_rate={self.learning_rate_name!r}), for "
                "which every update map contracts, so the data is the likely "
                "cause: scale it (e.g. with StandardScaler) and check it for "
                "extreme values."
            )
        else:
            rate = f"learning_rate={self.learning_rate_name!r} with eta0={self.eta0:g}"
            remedy = "lower eta0, or use eta0='auto' (a step that cannot diverge)"
        return DivergenceError(
            f"SGD diverged {where}: {what}. The learning rate is too "
            f"large for this data ({rate}). Scale the data (e.g. with "
            f"StandardScaler), or {remedy}."
        )
