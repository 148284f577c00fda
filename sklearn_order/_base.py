"""Shared estimator machinery: parameters, validation and fitted attributes.

The estimators in ``estimators.py`` only turn their targets into one or more
``±1``/real target vectors with per-sample weights. This module turns the
parameters into an update rule, a step size and a stopping rule, checks the
starting point and publishes the fitted attributes; the training itself —
problems, the composition order over the outputs in workers, the one pass of
``partial_fit`` — is the free functions of ``_training.py``, which the
diagnostics call too.
"""

import functools
import inspect
from numbers import Integral, Real
from typing import NamedTuple

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, is_regressor
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight, check_is_fitted

from ._problem import DivergenceError
from ._spec import reported_rows
from ._training import fit_problems, pass_problems
from ._warnings import warn
from .kernels import UpdateRule
from .losses import LOSSES, MULTINOMIAL_LOG_LOSS, loss_parameter
from .orders import ORDERS
from .penalties import penalty_strengths
from .sampling import SAMPLINGS
from .schedules import (
    LEARNING_RATES,
    OPTIMAL,
    check_passive_aggressive_loss,
    optimal_offset,
    passive_aggressive_variant,
)

#: How errors name a starting point the caller passed, and one that
#: ``warm_start`` took from the last fit.
INIT_NAMES = ("coef_init", "intercept_init")
PREVIOUS_FIT = "the previous fit's {} (warm_start=True)"


def _fresh_fit_advice(name):
    """The remedy for a starting point of the wrong shape, by where it came from."""
    if name.startswith("the previous fit"):
        return (
            " The data has other classes or features than the previous fit: "
            "set warm_start=False to start afresh."
        )
    return ""


def atomic_fit(method):
    """Decorate ``fit``/``partial_fit``: publish the fitted state in one step.

    The method runs on a private copy of the estimator (the same parameters
    and fitted attributes); when it returns, the copy's attributes replace
    the estimator's in one assignment. So:

    - an error (bad input, divergence, an interrupt) leaves the estimator
      exactly as it was — unfitted, or with its previous fit — never
      half-fitted (``validate_data`` alone would already have reset
      ``n_features_in_``);
    - fits of one estimator run from several threads at once leave the
      state of one complete fit (the last to finish), never a mixture of
      two (``coef_`` of one width, ``n_features_in_`` of another).
    """

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        private = object.__new__(type(self))
        private.__dict__.update(self.__dict__)
        method(private, *args, **kwargs)
        # one attribute assignment: atomic with respect to other threads
        self.__dict__ = private.__dict__
        return self

    return wrapper


def largest_magnitude(X):
    """``max |x|`` over the stored values of a dense or CSR ``X`` (0 if none)."""
    values = X.data if sparse.issparse(X) else X
    if values.size == 0:
        return 0.0
    return max(float(values.max()), -float(values.min()))


class TrainingData(NamedTuple):
    """Validated training data, split into the problems to fit.

    Attributes
    ----------
    X : ndarray or scipy CSR matrix of shape (n_samples, n_features)
        float32/float64; C-contiguous when dense.
    targets : list of ndarray of shape (n_samples,)
        One target vector per problem (``±1`` per one-vs-rest class; the
        class index for the multinomial loss, one problem for all classes).
    weights : list of ndarray of shape (n_samples,)
        Sample × class weights per problem.
    coef : ndarray of shape (n_rows, n_features), float64
        Starting weights, one row per linear model (per class, or one).
    intercept : ndarray of shape (n_rows,), float64
        Starting intercepts.
    classes : ndarray or None
        Class labels (classifiers).
    """

    X: np.ndarray
    targets: list
    weights: list
    coef: np.ndarray
    intercept: np.ndarray
    classes: np.ndarray | None


class BaseBackwardSGD(BaseEstimator):
    """Machinery shared by the classifier and the regressor."""

    _parameter_constraints: dict = {
        "order": [StrOptions(ORDERS.keys())],  # a live view: one entry adds an order
        "sampling": [StrOptions(set(SAMPLINGS))],
        "penalty": [StrOptions({"l2", "l1", "elasticnet"}), None],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "l1_ratio": [Interval(Real, 0, 1, closed="both"), None],
        "fit_intercept": ["boolean"],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left"), None],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [StrOptions(set(LEARNING_RATES))],
        "eta0": [StrOptions({"auto"}), Interval(Real, 0, None, closed="left")],
        "power_t": [Interval(Real, None, None, closed="neither")],
        "epsilon": [Interval(Real, 0, None, closed="left")],
        "warm_start": ["boolean"],
        "average": ["boolean", Interval(Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "device": [StrOptions({"cpu", "cuda"})],
    }

    def __setstate__(self, state):
        # A model pickled by an earlier version lacks the parameters added
        # since; give them their defaults (what that version did), so that
        # get_params, clone and refitting work on it.
        super().__setstate__(state)
        for name, parameter in inspect.signature(
            type(self).__init__
        ).parameters.items():
            if name != "self" and name not in self.__dict__:
                setattr(self, name, parameter.default)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    # -- parameters ---------------------------------------------------------

    def _check_params(self, for_partial_fit=False):
        """Validate parameters and the combinations the constraints cannot express."""
        self._validate_params()
        if for_partial_fit and self.early_stopping:
            raise ValueError(
                "early_stopping should be False with partial_fit: a chunk holds "
                "no validation split (as in scikit-learn)."
            )
        if self.learning_rate == "optimal" and self.alpha == 0:
            raise ValueError(
                "alpha must be > 0 since learning_rate is 'optimal': the step "
                "sizes are 1 / (alpha * (t0 + t))."
            )
        check_passive_aggressive_loss(
            self.learning_rate,
            self.loss,
            "regression" if is_regressor(self) else "classification",
        )
        if self.penalty == "elasticnet" and self.l1_ratio is None:
            raise ValueError("l1_ratio must be set when penalty is 'elasticnet'.")
        if self.power_t < 0:
            warn(
                "Negative values for `power_t` are deprecated (as in "
                "scikit-learn 1.8) and will raise an error in a future version. "
                "Use values in the range [0.0, inf) instead.",
                FutureWarning,
            )
        if self.learning_rate != "optimal" and self.eta0 != "auto":
            if self.eta0 == 0:
                raise ValueError(
                    f"eta0 must be > 0 with learning_rate={self.learning_rate!r}."
                )
            l2, _ = penalty_strengths(self.penalty, self.alpha, self.l1_ratio)
            if self.eta0 * l2 >= 1:
                # the fit cannot go on numerically: one DivergenceError family
                raise DivergenceError(
                    f"eta0 * alpha * (1 - l1_ratio) = {self.eta0 * l2:.3g} >= 1: "
                    "the L2 weight decay (1 - eta * alpha * (1 - l1_ratio)) would "
                    "set the weights to zero at every step. Lower eta0 or alpha, "
                    "or use eta0='auto'."
                )

    def _loss_param(self):
        return loss_parameter(self.loss, self.epsilon)

    def _multinomial(self):
        """Whether one softmax problem moves every class's model together.

        ``False`` here; the classifier's ``multi_class`` decides for it.
        """
        return False

    def _output_n_jobs(self):
        """Workers over the outputs (``n_jobs`` of joblib); ``None``: serial.

        ``None`` here (one output); the classifier's ``n_jobs`` sets it for
        its one-vs-rest classes.
        """
        return None

    def _update_rule(self):
        """The :class:`~sklearn_order.kernels.UpdateRule` of the current parameters."""
        loss = LOSSES[self.loss]
        loss_param = self._loss_param()
        l2, l1 = penalty_strengths(self.penalty, self.alpha, self.l1_ratio)
        schedule = LEARNING_RATES[self.learning_rate]
        t0 = (
            optimal_offset(loss.code, loss_param, self.alpha)
            if schedule == OPTIMAL
            else 0.0
        )
        return UpdateRule(
            loss=MULTINOMIAL_LOG_LOSS if self._multinomial() else int(loss.code),
            loss_param=float(loss_param),
            l2=float(l2),
            l1=float(l1),
            fit_intercept=bool(self.fit_intercept),
            schedule=int(schedule),
            power_t=float(self.power_t),
            alpha=float(self.alpha),
            optimal_t0=float(t0),
            passive_aggressive=passive_aggressive_variant(schedule),
        )

    # -- sparse coefficients ------------------------------------------------

    def densify(self):
        """Convert a sparse ``coef_`` (see :meth:`sparsify`) back to a NumPy array.

        Returns
        -------
        self
            The estimator, with a dense ``coef_``.
        """
        check_is_fitted(self)
        self.coef_ = self._dense_coef()
        return self

    def sparsify(self):
        """Store ``coef_`` as a ``scipy.sparse`` CSR matrix.

        With an L1 penalty many weights are exactly zero; a sparse ``coef_``
        saves memory and predicts faster on sparse inputs. ``predict`` works
        either way; :meth:`densify` converts back, and ``fit`` always leaves a
        dense ``coef_``.

        Returns
        -------
        self
            The estimator, with a sparse ``coef_``.
        """
        check_is_fitted(self)
        if not sparse.issparse(self.coef_):
            self.coef_ = sparse.csr_matrix(np.atleast_2d(self.coef_))
        return self

    def _dense_coef(self):
        """``coef_`` as a NumPy array, whether or not it was sparsified."""
        if not sparse.issparse(self.coef_):
            return self.coef_
        dense = self.coef_.toarray()
        return dense[0] if is_regressor(self) else dense  # regressors: (n_features,)

    def _linear_scores(self, X):
        """``X @ coef_ᵀ`` (dense or sparse ``X`` and ``coef_``), an ndarray of
        shape (n_samples, n_rows)."""
        coef = self.coef_ if sparse.issparse(self.coef_) else np.atleast_2d(self.coef_)
        scores = X @ coef.T
        return scores.toarray() if sparse.issparse(scores) else np.asarray(scores)

    # -- helpers for the estimators -----------------------------------------

    def _warm_start_init(self, coef_init, intercept_init):
        """The starting point: as given, else the previous fit with ``warm_start``.

        Returns
        -------
        coef_init, intercept_init : array-like or None
        names : tuple of (str, str)
            What each came from, for error messages: a ``warm_start`` refit
            the data no longer fits names the previous fit, not a
            ``coef_init`` the caller never passed.
        """
        names = list(INIT_NAMES)
        if self.warm_start and hasattr(self, "coef_"):
            if coef_init is None:
                coef_init = self._dense_coef()
                names[0] = PREVIOUS_FIT.format("coef_")
            if intercept_init is None:
                intercept_init = self.intercept_
                names[1] = PREVIOUS_FIT.format("intercept_")
        return coef_init, intercept_init, tuple(names)

    def _partial_fit_outputs(self, spec, X, targets, weights, classes, first_call):
        """One pass over a chunk from the current coefficients; set the attributes.

        ``spec``: the :class:`~sklearn_order._spec.FitSpec` of this call.
        """
        n_reported = reported_rows(classes)
        if first_call:
            coef, intercept = spec.trained_rows(
                *self._initial_parameters(None, None, n_reported, X.shape[1])
            )
            t_start = 0
            initial_average = None
        else:
            # with average, continue from the last iterates and the mean so far
            previous = spec.trained_rows(
                np.asarray(self._dense_coef(), dtype=np.float64).reshape(
                    n_reported, -1
                ),
                np.asarray(self.intercept_, dtype=np.float64).reshape(-1),
            )
            averaging = spec.average_start and hasattr(self, "_standard_coef")
            coef = np.array(
                self._standard_coef if averaging else previous[0], order="C"
            )
            intercept = np.array(self._standard_intercept if averaging else previous[1])
            initial_average = previous if averaging else None
            t_start = self.t_
        # eta0="auto": the smallest step of the chunks seen, safe for all of
        # them; the horizon of a call is its one pass
        eta0 = spec.step_size(X, targets, weights, n_epochs=1)
        if not first_call and self.eta0 == "auto":
            eta0 = min(eta0, self.eta0_)
        training = pass_problems(
            spec,
            X,
            targets,
            weights,
            coef,
            intercept,
            t_start=t_start,
            initial_average=initial_average,
            eta0=eta0,
        )
        return self._publish(training, classes, X, t_start)

    def _split_validation(self, data, rows=None):
        """Hold out ``validation_fraction`` of the rows (stratified by class).

        Parameters
        ----------
        data : TrainingData
        rows : ndarray of int64, default=None
            The increasing rows of ``data.X`` that ``data``'s targets and
            weights are of (a fold's training rows); ``None``: all of them.
            The split is that of a fit on ``data.X[rows]``.

        Returns
        -------
        train : ndarray of int64
            The increasing indices of the rows of ``data.X`` to train on:
            they are trained on in place, in data order, as in a fit on
            ``X[train]``.
        validation : list of (X, y, sample_weight)
            The held-out rows (a copy of those rows of ``X``), per output.

        Raises
        ------
        ValueError
            If the split cannot be made, or the held-out rows' weights sum
            to zero for an output (no score could be computed).
        """
        from sklearn.model_selection import ShuffleSplit, StratifiedShuffleSplit

        if data.classes is None:
            splitter, strata = ShuffleSplit, None
        else:
            splitter = StratifiedShuffleSplit
            strata = (
                np.argmax(np.stack(data.targets), axis=0)
                if len(data.targets) > 1
                else data.targets[0]
            )
        split = splitter(
            n_splits=1,
            test_size=self.validation_fraction,
            random_state=self.random_state,
        )
        n_samples = data.targets[0].shape[0]
        try:
            # the split reads the number of rows alone (and the strata)
            train, held_out = next(split.split(np.empty((n_samples, 0)), strata))
        except ValueError as error:
            raise ValueError(
                f"validation_fraction={self.validation_fraction} cannot make a "
                f"validation set here: {error}"
            ) from None
        train, held_out = np.sort(train), np.sort(held_out)
        for weight in data.weights:
            if not weight[held_out].sum() > 0:
                raise ValueError(
                    "early_stopping=True: the sample weights of the validation "
                    f"split ({held_out.size} held-out rows, validation_fraction="
                    f"{self.validation_fraction}) sum to zero, so no validation "
                    "score can be computed. Give those rows weight, change "
                    "random_state or validation_fraction, or set "
                    "early_stopping=False."
                )
        if rows is not None:
            train = rows[train]
        X_held_out = data.X[held_out if rows is None else rows[held_out]]
        validation = [
            (X_held_out, target[held_out], weight[held_out])
            for target, weight in zip(data.targets, data.weights)
        ]
        return train.astype(np.int64), validation

    def _fit_training_data(self, spec, data):
        """Train on :class:`TrainingData` as ``spec`` says; set the fitted attributes.

        ``spec``: the :class:`~sklearn_order._spec.FitSpec` of this fit.
        """
        rows = validation = None
        if self.early_stopping:
            rows, validation = self._split_validation(data)
        training = fit_problems(
            spec,
            data.X,
            data.targets,
            data.weights,
            data.coef,
            data.intercept,
            rows,
            validation,
        )
        return self._publish(training, data.classes, data.X)

    def _publish(self, training, classes, X, t_start=0, rows=None, largest=None):
        """Set the fitted attributes from a :class:`~._training.Training`.

        The coefficients take the dtype of the training data ``X``. With
        ``average`` the last iterates are kept in ``_standard_coef`` and
        ``_standard_intercept``, so that ``partial_fit`` can continue from
        them. ``t_start`` counts the maps before this training; ``rows``, the
        rows of ``X`` it trained on (``None``: all), whose predictions are
        checked; ``largest``, ``max |X|`` if known (a search publishes many
        models of one ``X``).

        Raises
        ------
        DivergenceError
            If the coefficients, or the model's predictions on ``X``, are not
            finite in that dtype.
        """
        if classes is not None:
            self.classes_ = classes
        self._set_coefficients(training.coef, training.intercept, X.dtype)
        self._check_predictions_finite(X, rows, largest)
        if training.standard is None:
            for name in ("_standard_coef", "_standard_intercept"):
                self.__dict__.pop(name, None)
        else:
            self._standard_coef, self._standard_intercept = training.standard
        self.n_iter_ = training.n_iter
        self.converged_ = training.converged
        self.t_ = t_start + training.n_maps
        self.eta0_ = training.eta0
        return self

    def _check_predictions_finite(self, X, rows=None, largest=None):
        """Refuse a model whose predictions on its training data overflow.

        Predictions are computed in the data's dtype, as scikit-learn keeps
        float32 (so a float32 model could return ``±inf`` for the very rows it
        was fitted on); such a model cannot be used, and its fit failed
        numerically. ``rows``: the rows of ``X`` trained on (``None``: all);
        the bound below covers them, and only they get the exact pass, so the
        verdict is that of a fit on ``X[rows]``. ``largest``: ``max |X|``,
        computed here when ``None``.

        Raises
        ------
        DivergenceError
        """
        coef = np.atleast_2d(self.coef_)
        values = X.data if sparse.issparse(X) else X
        if values.size == 0:
            return
        # |x·w + b| ≤ max|x| · n_features · max|w| + max|b| (in float64): when
        # that fits the dtype no prediction (nor partial sum) can overflow, and
        # the exact pass below, as costly as an epoch's predictions, is skipped
        if largest is None:
            largest = largest_magnitude(X)
        with np.errstate(over="ignore", invalid="ignore"):
            bound = largest * X.shape[1] * float(np.abs(coef).max(initial=0.0))
            bound += float(np.abs(self.intercept_).max(initial=0.0))
        if bound < np.finfo(X.dtype).max:
            return
        if rows is not None:
            X = X[rows]
        with np.errstate(over="ignore", invalid="ignore"):
            if sparse.issparse(X):
                scores = X @ coef.T
            else:
                # not X @ coef.T: BLAS threads would stay spinning on the cores
                # after the call, and halve the speed of the next fit's kernel
                scores = np.einsum("ij,kj->ik", X, coef)
            scores += self.intercept_
        if not np.all(np.isfinite(scores)):
            raise DivergenceError(
                f"the fitted model's predictions on its training data overflow "
                f"{X.dtype.name} (the coefficients fit, their products with X do "
                "not): scale the data (e.g. with StandardScaler), lower eta0, or "
                "fit on float64 data."
            )

    @staticmethod
    def _in_dtype(values, dtype):
        """``values`` (computed in float64) in the training data's dtype.

        Raises
        ------
        DivergenceError
            If they do not fit in ``dtype`` (float32 overflow).
        """
        with np.errstate(over="ignore"):
            cast = values.astype(dtype)
        if not np.all(np.isfinite(cast)):
            raise DivergenceError(
                f"the fitted coefficients (largest magnitude "
                f"{np.abs(values).max():.3g}) overflow {np.dtype(dtype).name}: "
                "scale the data (e.g. with StandardScaler), lower eta0, or fit "
                "on float64 data."
            )
        return cast

    @staticmethod
    def _sample_weight(sample_weight, X):
        """Float64 weights of ``X``'s rows; every error names ``sample_weight``."""
        try:
            return _check_sample_weight(
                sample_weight, X, dtype=np.float64, ensure_non_negative=True
            )
        except (TypeError, ValueError) as error:
            if "ample weight" in str(error) or "sample_weight" in str(error):
                raise
            raise ValueError(f"sample_weight: {error}") from error

    @staticmethod
    def _initial_parameters(
        coef_init,
        intercept_init,
        n_outputs,
        n_features,
        names=INIT_NAMES,
    ):
        """Float64 copies of the starting point, shapes checked.

        ``names`` say where ``coef_init`` and ``intercept_init`` came from
        (:meth:`_warm_start_init`), for the errors.

        Returns
        -------
        coef : ndarray of shape (n_outputs, n_features)
        intercept : ndarray of shape (n_outputs,)
        """
        coef = np.zeros((n_outputs, n_features))
        intercept = np.zeros(n_outputs)
        if coef_init is not None:
            given = np.asarray(coef_init, dtype=np.float64)
            if given.size != coef.size or given.shape[-1] != n_features:
                raise ValueError(
                    f"{names[0]} has shape {given.shape}; expected "
                    f"{(n_outputs, n_features) if n_outputs > 1 else (n_features,)}"
                    f" for this data.{_fresh_fit_advice(names[0])}"
                )
            coef[:] = given.reshape(coef.shape)
        if intercept_init is not None:
            given = np.asarray(intercept_init, dtype=np.float64)
            if given.size != n_outputs:
                raise ValueError(
                    f"{names[1]} has shape {given.shape}; expected ({n_outputs},) "
                    f"for this data.{_fresh_fit_advice(names[1])}"
                )
            intercept[:] = given.reshape(-1)
        if not (np.all(np.isfinite(coef)) and np.all(np.isfinite(intercept))):
            raise ValueError("coef_init and intercept_init must be finite.")
        return coef, intercept
