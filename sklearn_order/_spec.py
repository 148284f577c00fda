"""The fit specification: an estimator's validated parameters, frozen.

An estimator builds one :class:`FitSpec` per fit, after validating its
parameters (:meth:`FitSpec.from_estimator`); the training functions
(``_training.py``, and the passes of the CV estimators in ``_cv.py``) read
everything they need from it — the update rule, the order, the sampling, the
batch size, the step size, the stopping rule, averaging, the workers and the
device — and never the estimator, the way scikit-learn's ``fit_binary`` and
skglm's ``_glm_fit(X, y, model, datafit, penalty, solver)`` take what they
need as arguments.
"""

from dataclasses import dataclass

import numpy as np
from sklearn.base import is_regressor

from .kernels import UpdateRule
from .orders import ORDERS, Order, StoppingRule
from .sampling import n_batches
from .schedules import ADAPTIVE, LEARNING_RATES, auto_step_size, is_passive_aggressive


@dataclass(frozen=True)
class FitSpec:
    """What a fit needs from the estimator's parameters (validated, immutable).

    :meth:`from_estimator` builds one and asks its order
    (:attr:`order_rules`) to check it: an order refuses the parameters it
    does not define (``average`` under ``order="backward"``) and warns for
    those it defines badly (a decaying step under ``order="backward"``).

    Parameters
    ----------
    rule : UpdateRule
        The update map's loss, penalty and schedule.
    order : str
        A key of :data:`~sklearn_order.orders.ORDERS`.
    sampling : str
        A key of :data:`~sklearn_order.sampling.SAMPLINGS`.
    batch_size : int
        Rows per update map (a fit caps it at the rows trained on).
    learning_rate : str
        The schedule's name (for error messages and the order's rules).
    eta0 : float or "auto"
        The ``eta0`` parameter: the base step size, or ``"auto"`` for the
        one :meth:`step_size` chooses from the data.
    stop : StoppingRule
        What the order's fit stops on, ``max_iter`` (the most epochs of a
        fit) included.
    average_start : int
        Step index from which the iterates are averaged; 0 for no averaging.
    multinomial : bool
        Whether one softmax problem moves every class's model together.
    classification : bool
        Whether the targets are classes (early stopping scores accuracy,
        else R²).
    n_jobs : int or None
        Workers over the outputs (joblib's ``n_jobs``); ``None``: serial.
    device : str
        ``"cpu"`` or ``"cuda"``.
    random_state : int, RandomState instance or None
        Where a fit draws the seed of its batch sequence (a ``RandomState``
        instance is shared, as the estimator's is, and advances per draw).
    """

    rule: UpdateRule
    order: str
    sampling: str
    batch_size: int
    learning_rate: str
    eta0: float | str
    stop: StoppingRule
    average_start: int
    multinomial: bool
    classification: bool
    n_jobs: int | None
    device: str
    random_state: object

    @classmethod
    def from_estimator(cls, estimator, *, for_partial_fit=False, validate=True):
        """Validate ``estimator``'s parameters and freeze them.

        Parameters
        ----------
        estimator : BaseBackwardSGD
        for_partial_fit : bool, default=False
            Validate for ``partial_fit`` (no early stopping).
        validate : bool, default=True
            Check the parameters and the order's rules. ``False`` freezes
            them as they are, for code that builds problems of parameter
            sets a fit refuses (the kernels' tests).

        Returns
        -------
        FitSpec

        Raises
        ------
        ValueError
            For invalid parameters, or parameters the order does not define.
        """
        if validate:
            estimator._check_params(for_partial_fit)
        average = estimator.average
        spec = cls(
            rule=estimator._update_rule(),
            order=estimator.order,
            sampling=estimator.sampling,
            batch_size=int(estimator.batch_size),
            learning_rate=estimator.learning_rate,
            eta0=estimator.eta0,
            stop=StoppingRule(
                max_iter=int(estimator.max_iter),
                tol=None if estimator.tol is None else float(estimator.tol),
                n_iter_no_change=int(estimator.n_iter_no_change),
                adaptive=LEARNING_RATES[estimator.learning_rate] == ADAPTIVE,
                verbose=int(estimator.verbose),
            ),
            average_start=1 if average is True else (int(average) if average else 0),
            multinomial=estimator._multinomial(),
            classification=not is_regressor(estimator),
            n_jobs=estimator._output_n_jobs(),
            device=estimator.device,
            random_state=estimator.random_state,
        )
        if validate:  # the order's own rules, asked of the order (not of its name)
            spec.order_rules.check_params(spec)
        return spec

    @property
    def order_rules(self) -> Order:
        """The composition order: its fit, direction and parameter rules."""
        return ORDERS[self.order]

    @property
    def max_iter(self):
        """The most epochs of a fit (the stopping rule's)."""
        return self.stop.max_iter

    @property
    def auto_step(self):
        """Whether the base step size is chosen from the data (``eta0="auto"``)."""
        return isinstance(self.eta0, str)

    def trained_rows(self, coef, intercept):
        """The rows the problems train, from parameters shaped like the fitted ones.

        A binary multinomial model reports one row ``f = f_1 − f_0`` and is
        trained as the two softmax rows ``(−f/2, f/2)``: their updates are
        exact negatives of each other, so rows started antisymmetric stay
        so, and the split recovers the trained rows exactly. Otherwise the
        rows are the reported ones.

        Parameters
        ----------
        coef : ndarray of shape (n_reported_rows, n_features), float64
        intercept : ndarray of shape (n_reported_rows,), float64

        Returns
        -------
        coef : ndarray of shape (n_rows, n_features), float64
        intercept : ndarray of shape (n_rows,), float64
        """
        if self.multinomial and coef.shape[0] == 1:
            return np.vstack([-coef / 2, coef / 2]), np.hstack(
                [-intercept / 2, intercept / 2]
            )
        return coef, intercept

    def step_size(self, X, targets, weights, rows=None, n_epochs=None):
        """The base step size: ``eta0``, or its value for ``eta0="auto"``.

        See :func:`~sklearn_order.schedules.auto_step_size`; its horizon is
        ``n_epochs`` epochs of batches (``max_iter`` by default: a fit's
        most). For ``"pa1"``/``"pa2"``, ``eta0`` is the aggressiveness ``C``,
        and ``"auto"`` means ``C = 1`` (scikit-learn's ``PassiveAggressive*``
        default): each row's step is already sized by its own norm.

        Parameters
        ----------
        X : ndarray or CSR matrix of shape (n_samples, n_features)
        targets, weights : list of ndarray of shape (n_samples,)
            One target and weight vector per output.
        rows : ndarray of int64, default=None
            The rows trained on; ``None`` for all.
        n_epochs : int, default=None
            The horizon in epochs; ``max_iter`` by default.

        Returns
        -------
        float
        """
        if not self.auto_step:
            return float(self.eta0)
        rule = self.rule
        if is_passive_aggressive(rule.schedule):
            return 1.0
        n_visited = X.shape[0] if rows is None else rows.shape[0]
        n_epochs = self.max_iter if n_epochs is None else n_epochs
        return auto_step_size(
            X,
            weights,
            rule.loss,
            rule.fit_intercept,
            rule.l2,
            rows,
            targets=targets,
            n_maps=max(n_epochs * n_batches(n_visited, self.batch_size), 1),
        )


def reported_rows(classes):
    """Rows of ``coef_``: one for regression and binary problems, else per class.

    Parameters
    ----------
    classes : ndarray or None
        The classes (``None`` for a regression).

    Returns
    -------
    int
    """
    return 1 if classes is None or len(classes) == 2 else len(classes)
