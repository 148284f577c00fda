"""Estimators that cross-validate a grid of their own parameters in few passes.

:class:`BackwardSGDClassifierCV` and :class:`BackwardSGDRegressorCV` search a
grid over ``alpha × eta0 × l1_ratio × epsilon × order × sampling ×
batch_size`` as :class:`~sklearn.model_selection.GridSearchCV` would, with the
same candidates, splits, scores and choice, but train the candidates of one
fold that share ``(order, sampling, batch_size)`` as the models of one pass
over the fold's training rows (with every one-vs-rest class): the rows are
read once per epoch for all of them, in place (a row subset of ``X``, never a
copy).

The contract: each candidate's coefficients on each fold are bit-identical
to those of the base estimator with its parameters fitted on the fold's
training rows alone (``fit(X[train], y[train], sample_weight[train])``), so
the split scores equal GridSearchCV's. What cannot share a pass (GraB
sampling, averaging, the multinomial loss) trains candidate by candidate,
still on the rows in place, with the same result.
"""

import copy
import time
from numbers import Integral, Real
from typing import NamedTuple

import numpy as np
from scipy.stats import rankdata
from sklearn.base import clone, is_classifier
from sklearn.exceptions import ConvergenceWarning, FitFailedWarning
from sklearn.metrics import check_scoring
from sklearn.model_selection import ParameterGrid, check_cv
from sklearn.model_selection._search import _yield_masked_array_for_each_param
from sklearn.utils._param_validation import InvalidParameterError, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import check_is_fitted

from ._base import TrainingData, atomic_fit, largest_magnitude
from ._engine import groupable
from ._problem import cancel_fit
from ._spec import FitSpec, reported_rows
from ._training import (
    _FIT_TOKENS,
    OutputFit,
    Training,
    _assemble,
    build_problems,
    check_fit_budget,
    draw_seed,
    engine_of,
    problem_parameters,
)
from ._warnings import warn
from .estimators import (
    BackwardSGDClassifier,
    BackwardSGDRegressor,
    _label_classes,
    _validate_training_data,
)
from .orders import ORDERS

#: Each grid parameter and the base estimator's parameter it searches.
GRID_PARAMETERS = {
    "alphas": "alpha",
    "eta0s": "eta0",
    "l1_ratios": "l1_ratio",
    "epsilons": "epsilon",
    "orders": "order",
    "samplings": "sampling",
    "batch_sizes": "batch_size",
}

#: Base parameters whose values get passes of their own: candidates differ
#: in them only between passes (a pass shares one batch sequence).
PASS_PARAMETERS = ("order", "sampling", "batch_size")

#: Parameters of the CV estimators that the base estimator does not have, or
#: that mean something else there (``verbose``, ``n_jobs``).
_SEARCH_ONLY = (*GRID_PARAMETERS, "cv", "scoring", "refit", "n_jobs", "verbose")


def _never(estimator):
    raise AttributeError(
        f"{type(estimator).__name__} has no partial_fit: it searches a grid "
        "with fit. Continue from its best_estimator_ instead."
    )


class _Fold(NamedTuple):
    """One fold's training data, shared by every candidate trained on it.

    Attributes
    ----------
    train, test : ndarray of int64
        The fold's rows (train: increasing).
    targets, weights : list of ndarray of shape (n_samples,)
        One target and weight vector per problem, encoded from the fold's
        training rows as a fit on them alone encodes them, laid out over
        every row of ``X`` (the other rows' entries are never read). The
        same objects for every candidate: a pass stacks them once.
    classes : ndarray or None
        The classes of the fold's training rows (classifiers).
    rows : ndarray of int64 or None
        The rows trained on, in place: ``train``, or with early stopping the
        part of it that its validation split leaves.
    validation : list of (X, y, sample_weight) or None
        With early stopping: the held-out rows per problem.
    seed : int or None
        The seed of the fold's batch sequences.
    error : Exception or None
        Why no candidate can be fitted on this fold (a fit on its rows would
        raise it).
    """

    train: np.ndarray
    test: np.ndarray
    targets: list = ()
    weights: list = ()
    classes: np.ndarray | None = None
    rows: np.ndarray | None = None
    validation: list | None = None
    seed: int | None = None
    error: Exception | None = None


class _CandidateFit(NamedTuple):
    """What a pass returns for one candidate: its training, or why it failed."""

    training: Training | None
    error: Exception | None


def _spread(values, train, n_samples, spread):
    """``values`` (one per training row) laid out over all ``n_samples`` rows.

    ``spread`` maps the id of an array already laid out to its layout, so
    that one object (the weights shared by one-vs-rest classes) stays one.
    """
    if id(values) not in spread:
        full = np.zeros(n_samples, dtype=np.float64)
        full[train] = values
        spread[id(values)] = full
    return spread[id(values)]


def _pass_units(problems, owners):
    """The models of a pass split into the units that train together.

    One group if every model can share it; otherwise each candidate's models
    (``owners[k]`` is model ``k``'s) form a group if they can (one-vs-rest
    classes, a multinomial model's classes), or train one by one (GraB), as
    a fit of that candidate alone trains them.
    """
    everyone = list(range(len(problems)))
    if len(problems) == 1 or groupable(problems):
        return [everyone]
    units = []
    for owner in dict.fromkeys(owners):
        mine = [k for k in everyone if owners[k] == owner]
        if groupable([problems[k] for k in mine]):
            units.append(mine)
        else:
            units.extend([k] for k in mine)
    return units


def _fit_pass(X, fold, estimators, label=None, token=None):
    """Fit the candidates ``estimators`` of one pass over the fold's training rows.

    Runs in a joblib worker: it returns its results and writes into nothing
    of its caller's.

    Parameters
    ----------
    X : ndarray or CSR matrix of shape (n_samples, n_features)
        All the validated rows.
    fold : _Fold
    estimators : list of BaseBackwardSGD
        The candidates, sharing ``order``, ``sampling`` and ``batch_size``
        (and every parameter outside the grid).
    label : str, default=None
        What to print when the pass ends (``verbose``); ``None``: nothing.
    token : int, default=None
        The search's: if it is cancelled (the caller was interrupted), the
        pass stops at its next return to Python.

    Returns
    -------
    fits : list of _CandidateFit
        One per candidate.
    seconds : float
        The pass's time.
    """
    start = time.perf_counter()
    errors = {}
    problems, parameters, owners, shapes, specs = [], [], [], {}, {}
    n_reported = reported_rows(fold.classes)
    for c, estimator in enumerate(estimators):
        try:
            spec = FitSpec.from_estimator(estimator)
            coef, intercept = spec.trained_rows(
                np.zeros((n_reported, X.shape[1])), np.zeros(n_reported)
            )
            mine = build_problems(
                spec,
                X,
                fold.targets,
                fold.weights,
                seed=fold.seed,
                validation=fold.validation,
                n_rows=len(coef),
                rows=fold.rows,
            )
            check_fit_budget(spec, mine)
        except Exception as error:  # noqa: BLE001 - as GridSearchCV's error_score
            errors[c] = error
            continue
        shapes[c], specs[c] = coef.shape, spec
        for problem in mine:
            problem.state.fit_token = token
        problems.extend(mine)
        parameters.extend(problem_parameters(coef, intercept, spec.multinomial))
        owners.extend([c] * len(mine))
    results, fitted = [None] * len(problems), [None] * len(problems)
    if problems:
        # the candidates of a pass share the order and the stopping rule
        first = specs[owners[0]]
        for unit in _pass_units(problems, owners):
            engine = engine_of(
                [problems[k] for k in unit], [parameters[k] for k in unit]
            )
            for k, result, params in zip(
                unit, first.order_rules.fit(engine, first.stop), engine.params
            ):
                results[k], fitted[k] = result, params
    fits = []
    for c in range(len(estimators)):
        mine = [k for k, owner in enumerate(owners) if owner == c]
        failed = [results[k].error for k in mine if results[k].error is not None]
        if c in errors or failed:
            fits.append(_CandidateFit(None, errors[c] if c in errors else failed[0]))
            continue
        outputs = [
            OutputFit(
                *fitted[k],
                results[k].n_iter,
                results[k].converged,
                problems[k].state.running_mean,
            )
            for k in mine
        ]
        n_iter = max(output.n_iter for output in outputs)
        n_maps = n_iter * problems[mine[0]].n_batches
        training = Training(
            *_assemble(specs[c], outputs, shapes[c], n_maps),
            n_iter,
            n_maps,
            problems[mine[0]].eta0,
            all(output.converged for output in outputs),
        )
        fits.append(_CandidateFit(training, None))
    seconds = time.perf_counter() - start
    if label is not None:
        print(f"{label}: {len(estimators)} candidates in {seconds:.3g} s", flush=True)
    return fits, seconds


class _CrossValidated:
    """The search shared by the two CV estimators (a mixin before the base)."""

    # -- the grid -----------------------------------------------------------

    def _base_estimator(self):
        """The base estimator with this one's parameters outside the search."""
        base = self._base_class()
        params = {
            name: value
            for name, value in self.get_params(deep=False).items()
            if name in base.get_params(deep=False) and name not in _SEARCH_ONLY
        }
        # the search reports its own progress; one-vs-rest classes share a
        # pass anyway
        return base.set_params(**params, verbose=0)

    def _grid(self, base):
        """The grid as GridSearchCV's ``param_grid``, each value checked.

        Raises
        ------
        ValueError
            Naming the grid parameter: an empty list, or a value the base
            estimator refuses (a negative ``eta0``, an unknown order).
        """
        grid = {}
        for name, target in GRID_PARAMETERS.items():
            values = getattr(self, name)
            if values is None:
                continue
            if isinstance(values, str) or np.ndim(values) == 0:
                values = [values]
            values = list(values)
            if not values:
                raise ValueError(
                    f"{name} is empty: give at least one value of {target} "
                    f"(or None for the single value {target}="
                    f"{getattr(self, target)!r})."
                )
            if target not in base.get_params(deep=False):
                raise ValueError(
                    f"{name} searches {target}, which "
                    f"{type(base).__name__} does not have."
                )
            for k, value in enumerate(values):
                try:
                    clone(base).set_params(**{target: value})._validate_params()
                except InvalidParameterError as error:
                    raise ValueError(
                        f"{name}[{k}] = {value!r} is not a valid {target}: {error}"
                    ) from None
            grid[target] = values
        return grid

    def _check_search_params(self):
        self._validate_params()
        if self.device != "cpu":
            raise ValueError(
                f"{type(self).__name__} trains on the CPU (device='cpu'): the "
                "models of a pass share one kernel there."
            )

    # -- fitting ------------------------------------------------------------

    @atomic_fit
    def fit(self, X, y, sample_weight=None, groups=None):
        """Cross-validate the grid, then refit the best candidate on all rows.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data (CSR for sparse; the folds' rows are trained on in
            place, never copied).
        y : array-like of shape (n_samples,)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the rows, sliced per fold as
            GridSearchCV slices them (and not passed to the scorer).
        groups : array-like of shape (n_samples,), default=None
            Group labels for a group splitter (``cv``).

        Returns
        -------
        self
            The fitted search.
        """
        self._check_search_params()
        # fitted attributes of an earlier fit go: none may outlive this one
        for name in [name for name in vars(self) if name.endswith("_")]:
            delattr(self, name)
        base = self._base_estimator()
        grid = self._grid(base)
        # the refit, as GridSearchCV's, fits the data as given (its feature
        # names included)
        given = X, y, sample_weight
        X, y = self._validated(X, y)
        sample_weight = base._sample_weight(sample_weight, X)
        cv = check_cv(self.cv, y, classifier=is_classifier(self))
        splits = [
            (np.asarray(train, dtype=np.int64), np.asarray(test, dtype=np.int64))
            for train, test in cv.split(X, y, groups)
        ]
        candidates = list(ParameterGrid(grid))
        estimators = [clone(base).set_params(**params) for params in candidates]
        folds = [self._fold(base, X, y, sample_weight, *split) for split in splits]
        outcomes = self._run_passes(X, folds, estimators)
        self.scorer_ = check_scoring(base, scoring=self.scoring)
        self._score(X, y, folds, estimators, candidates, outcomes)
        self.n_splits_ = len(folds)
        self.best_index_ = int(self.cv_results_["rank_test_score"].argmin())
        self.best_params_ = candidates[self.best_index_]
        self.best_score_ = float(self.cv_results_["mean_test_score"][self.best_index_])
        if self.refit:
            self._refit(base, *given)
        return self

    def _run_passes(self, X, folds, estimators):
        """Fit every candidate on every fold, one pass per fold × pass key.

        Returns
        -------
        list of (int, list of int, (list of _CandidateFit, float))
            Per pass: its fold, its candidates, their fits and its time.
        """
        passes = {}
        for c, estimator in enumerate(estimators):
            key = tuple(getattr(estimator, name) for name in PASS_PARAMETERS)
            passes.setdefault(key, []).append(c)
        # a fold that no fit could train on (one class) fails every candidate
        tasks = [
            (f, key, members)
            for f, fold in enumerate(folds)
            if fold.error is None
            for key, members in passes.items()
        ]
        if self.verbose:
            print(
                f"Fitting {len(folds)} folds for each of {len(estimators)} "
                f"candidates, in {len(tasks)} passes",
                flush=True,
            )
        arguments = [
            (
                X,
                folds[f],
                [estimators[c] for c in members],
                f"[CV {f + 1}/{len(folds)}] pass "
                + ", ".join(f"{n}={v!r}" for n, v in zip(PASS_PARAMETERS, key))
                if self.verbose
                else None,
            )
            for f, key, members in tasks
        ]
        if self.n_jobs in (None, 1) or len(arguments) == 1:
            outcomes = [_fit_pass(*args) for args in arguments]
        else:
            # interrupted (Ctrl-C) or failed, the caller cancels the passes
            # still running in thread workers: they stop within about 0.1 s
            token = next(_FIT_TOKENS)
            try:
                outcomes = Parallel(n_jobs=self.n_jobs, prefer="threads")(
                    delayed(_fit_pass)(*args, token=token) for args in arguments
                )
            except BaseException:
                cancel_fit(token)
                raise
        runs = [
            (f, members, outcome) for (f, _, members), outcome in zip(tasks, outcomes)
        ]
        everyone = list(range(len(estimators)))
        return runs + [
            (f, everyone, ([_CandidateFit(None, fold.error)] * len(everyone), 0.0))
            for f, fold in enumerate(folds)
            if fold.error is not None
        ]

    def _score(self, X, y, folds, estimators, candidates, outcomes):
        """Score every fit on its fold's held-out rows; set ``cv_results_``.

        Raises if every fit failed; warns of failed and unconverged fits.
        """
        shape = (len(candidates), len(folds))
        scores, fit_times = np.full(shape, np.nan), np.zeros(shape)
        score_times, failures, not_converged = np.zeros(shape), [], []
        largest = largest_magnitude(X)
        by_fold = [[] for _ in folds]
        for f, members, outcome in outcomes:
            by_fold[f].append((members, outcome))
        for f, fold in enumerate(folds):
            # one fold's held-out rows at a time: a copy of them, never of X
            test = X[fold.test], y[fold.test]
            for members, (fits, seconds) in by_fold[f]:
                for c, fit in zip(members, fits):
                    fit_times[c, f] = seconds / len(members)  # a pass's time, shared
                    error = fit.error
                    if error is None:
                        start = time.perf_counter()
                        scores[c, f], error = self._fold_score(
                            estimators[c], fit, fold, X, largest, test
                        )
                        score_times[c, f] = time.perf_counter() - start
                        if not fit.training.converged:
                            not_converged.append(estimators[c].order)
                    if error is not None:
                        failures.append((candidates[c], f, error))
        self._report(failures, not_converged, scores.size)
        self.cv_results_ = _results(candidates, scores, fit_times, score_times)

    def _refit(self, base, X, y, sample_weight):
        """Fit the best candidate on every row; take its fitted attributes.

        ``X``, ``y`` and ``sample_weight`` as given to :meth:`fit`.
        """
        start = time.perf_counter()
        best = clone(base).set_params(**self.best_params_)
        if "n_jobs" in best.get_params(deep=False):
            best.set_params(n_jobs=self.n_jobs)
        best.fit(X, y, sample_weight=sample_weight)
        self.refit_time_ = time.perf_counter() - start
        self.best_estimator_ = best
        for name, value in vars(best).items():
            if name.endswith("_"):
                setattr(self, name, value)

    def _fold(self, base, X, y, sample_weight, train, test):
        """A fold's :class:`_Fold`, prepared as a fit on its training rows is.

        The targets are encoded, the validation split (early stopping) made
        and the seed drawn as by GridSearchCV's clone of ``base`` fitted on
        ``X[train]``: from its own copy of ``random_state``, split first.
        """
        fit = clone(base)
        try:
            targets, weights, classes = self._fold_outputs(
                base, y[train], sample_weight[train]
            )
            rows, validation = train, None
            if base.early_stopping:
                rows, validation = fit._split_validation(
                    TrainingData(X, targets, weights, None, None, classes), train
                )
        except ValueError as error:
            return _Fold(train, test, error=error)
        spread, n = {}, y.shape[0]
        return _Fold(
            train,
            test,
            [_spread(t, train, n, spread) for t in targets],
            [_spread(w, train, n, spread) for w in weights],
            classes,
            rows,
            validation,
            draw_seed(fit.random_state),
        )

    def _fold_score(self, estimator, fit, fold, X, largest, test):
        """The candidate's score on the fold's held-out rows ``test``.

        Its model is published as a fit on the fold's rows publishes it
        (``largest`` is ``max |X|``, computed once for every model).

        Returns
        -------
        score : float
            ``nan`` if it failed.
        error : Exception or None
            Why it failed (GridSearchCV's ``error_score``: any error).
        """
        model = copy.copy(estimator)  # unfitted: the candidate's parameters only
        model.n_features_in_ = X.shape[1]
        try:
            model._publish(
                fit.training, fold.classes, X, rows=fold.train, largest=largest
            )
            return self.scorer_(model, *test), None
        except Exception as error:  # noqa: BLE001
            return np.nan, error

    def _report(self, failures, not_converged, n_fits):
        """Raise if every fit failed; warn of failed and unconverged fits.

        ``not_converged`` holds the order of each fit that reached
        ``max_iter`` first.
        """
        if failures and len(failures) == n_fits:
            raise ValueError(
                f"All the {n_fits} fits failed; the first: "
                f"{failures[0][0]} on fold {failures[0][1]}: {failures[0][2]}"
            ) from failures[0][2]
        if failures:
            params, f, error = failures[0]
            warn(
                f"{len(failures)} fits failed out of {n_fits} and score nan (as "
                f"GridSearchCV's error_score=nan); the first: {params} on fold "
                f"{f}: {type(error).__name__}: {error}",
                FitFailedWarning,
            )
        if not_converged:
            criteria = "; ".join(
                f"{order}: {ORDERS[order].stopping_criterion}"
                for order in dict.fromkeys(not_converged)
            )
            warn(
                f"{len(not_converged)} of the {n_fits} fits reached max_iter="
                f"{self.max_iter} before convergence ({criteria}). Consider "
                "increasing max_iter.",
                ConvergenceWarning,
            )

    @available_if(_never)
    def partial_fit(self, X, y, **kwargs):
        """Not available: the search fits with :meth:`fit`.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            A chunk of training data.
        y : array-like of shape (n_samples,)
            Its targets.
        **kwargs : dict
            The base estimator's other ``partial_fit`` arguments.

        Returns
        -------
        self
            Never: accessing the method raises ``AttributeError``.
        """

    def score(self, X, y, sample_weight=None):
        """The search's score of the refitted model on ``(X, y)``.

        With ``scoring``, that scorer (as GridSearchCV's ``score``); without,
        the base estimator's ``score`` (accuracy, or R²).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Test samples.
        y : array-like of shape (n_samples,)
            True targets of ``X``.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        score : float
        """
        if self.scoring is None:
            return super().score(X, y, sample_weight)
        check_is_fitted(self)
        weights = {} if sample_weight is None else {"sample_weight": sample_weight}
        return self.scorer_(self, X, y, **weights)

    def __sklearn_is_fitted__(self):
        return hasattr(self, "coef_")


def _results(candidates, scores, fit_times, score_times):
    """``cv_results_`` as GridSearchCV formats it."""
    results = {}

    def store(name, array, splits=False, rank=False):
        if splits:
            for k in range(array.shape[1]):
                results[f"split{k}_{name}"] = array[:, k]
        means = np.average(array, axis=1)
        results[f"mean_{name}"] = means
        results[f"std_{name}"] = np.sqrt(
            np.average((array - means[:, np.newaxis]) ** 2, axis=1)
        )
        if rank:
            if np.isnan(means).all():
                results[f"rank_{name}"] = np.ones_like(means, dtype=np.int32)
            else:
                # failed candidates tie with the worst, as in GridSearchCV
                filled = np.where(np.isnan(means), np.nanmin(means) - 1, means)
                results[f"rank_{name}"] = rankdata(-filled, method="min").astype(
                    np.int32
                )

    store("fit_time", fit_times)
    store("score_time", score_times)
    for name, column in _yield_masked_array_for_each_param(candidates):
        results[name] = column
    results["params"] = candidates
    store("test_score", scores, splits=True, rank=True)
    return results


_SEARCH_PARAMETERS_DOC = """
    alphas, eta0s, l1_ratios : list or None, default=None
        Values of ``alpha``, ``eta0`` and ``l1_ratio`` to search; a single
        value fixes it, ``None`` keeps the parameter of that name. Candidates
        that differ only in these (and ``epsilons``) train as the models of
        one pass.

    epsilons : list or None, default=None
        Values of ``epsilon`` to search (the losses with a threshold).

    orders, samplings, batch_sizes : list or None, default=None
        Values of ``order``, ``sampling`` and ``batch_size`` to search; each
        value gets passes of its own (one per fold).

    cv : int, cross-validation generator or iterable, default=None
        As in :class:`~sklearn.model_selection.GridSearchCV`: ``None`` for
        5 folds, an int for that many (stratified for the classifier), a
        splitter, or an iterable of ``(train, test)`` index arrays.

    scoring : str, callable or None, default=None
        One scikit-learn scorer; ``None`` uses the estimator's ``score``
        (accuracy, or R²).

    refit : bool, default=True
        Refit the best candidate on all the rows, after which the search
        predicts as that model.

    n_jobs : int or None, default=None
        Workers over the passes (fold × order × sampling × batch size):
        threads by default, or the backend of an enclosing
        ``joblib.parallel_backend`` (processes, Dask). The refit's one-vs-rest
        classes use them too.

    verbose : int, default=0
        Print the number of passes, then one line per pass (its time and
        candidates). Passes print nothing per epoch."""

_SEARCH_ATTRIBUTES_DOC = """
    cv_results_ : dict of ndarray
        GridSearchCV's keys and meaning: ``params``, ``param_<name>`` (the
        base estimator's parameter names), ``split<k>_test_score``,
        ``mean_test_score``, ``std_test_score``, ``rank_test_score``,
        ``mean_fit_time``, ``std_fit_time``, ``mean_score_time``,
        ``std_score_time``. A pass's time is shared equally by its
        candidates. A candidate whose fit failed on a fold scores ``nan``
        there (with a ``FitFailedWarning``) and ranks last.

    best_params_ : dict
        The best candidate's grid values.

    best_score_ : float
        Its mean test score.

    best_index_ : int
        Its index in ``cv_results_``.

    n_splits_ : int
        The number of folds.

    scorer_ : callable
        The scorer used.

    best_estimator_ : estimator
        With ``refit``: the base estimator with the best parameters, fitted
        on all the rows; its fitted attributes (``coef_``, ``intercept_``,
        ``n_iter_``, ``eta0_``, …) are also this estimator's.

    refit_time_ : float
        With ``refit``: seconds spent refitting."""

_SEARCH_NOTES_DOC = """
    Notes
    -----
    With the same splits and ``random_state``, each candidate's
    coefficients on each fold are bit-identical to those of the base
    estimator with its parameters fitted on the fold's training rows alone,
    so ``cv_results_``'s split scores equal those of
    :class:`~sklearn.model_selection.GridSearchCV` over the base estimator
    exactly, and ``best_params_`` is the same. Every fold's training rows are
    trained on in place (never copied; a sparse ``X`` stays sparse). Each
    fold draws its validation split (``early_stopping``) and then its batch
    sequence's seed from a copy of ``random_state``, as the fit of a clone
    on its rows does (with ``random_state=None``, fresh ones per fold).

    ``device="cuda"`` is refused; ``warm_start`` has no effect (every fit
    starts from zero, as GridSearchCV's clones do). Averaged candidates
    share a pass, each with its own running mean; candidates with GraB
    sampling or the multinomial loss cannot share one: they train one by
    one, with the same results."""


class BackwardSGDClassifierCV(_CrossValidated, BackwardSGDClassifier):
    __doc__ = f"""BackwardSGDClassifier with a cross-validated grid of its parameters.

    Searches ``alpha × eta0 × l1_ratio × epsilon × order × sampling ×
    batch_size`` as GridSearchCV would, training per fold the candidates
    that share ``(order, sampling, batch_size)`` with every one-vs-rest class
    as the models of one pass over the rows; then refits the best.

    Parameters
    ----------
    loss, epsilon, order, sampling, penalty, alpha, l1_ratio, fit_intercept, \
max_iter, tol, n_iter_no_change, batch_size, learning_rate, eta0, power_t, \
multi_class, class_weight, warm_start, average, early_stopping, \
validation_fraction, random_state, device
        As in :class:`BackwardSGDClassifier`; the grid's entries override
        theirs.
{_SEARCH_PARAMETERS_DOC}

    Attributes
    ----------
{_SEARCH_ATTRIBUTES_DOC}

    coef_, intercept_, classes_, n_iter_, converged_, t_, eta0_
        With ``refit``: the best estimator's (see
        :class:`BackwardSGDClassifier`).

    n_features_in_ : int
        Number of features seen during ``fit``.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during ``fit``, when ``X`` has string column
        names.

    See Also
    --------
    BackwardSGDClassifier : the estimator searched.
    sklearn.model_selection.GridSearchCV : the search it equals.
{_SEARCH_NOTES_DOC}

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn_order import BackwardSGDClassifierCV
    >>> X, y = load_iris(return_X_y=True)
    >>> search = BackwardSGDClassifierCV(
    ...     orders=["forward", "backward"], eta0s=[0.01, 0.1], alphas=[1e-4, 1e-2],
    ...     max_iter=20, tol=None, cv=3, random_state=0,
    ... )
    >>> model = make_pipeline(StandardScaler(), search).fit(X, y)
    >>> len(model[-1].cv_results_["params"])
    8
    >>> model.score(X, y) > 0.8
    True
    """

    _parameter_constraints: dict = {
        **BackwardSGDClassifier._parameter_constraints,
        "alphas": ["array-like", Real, None],
        "eta0s": ["array-like", Real, StrOptions({"auto"}), None],
        "l1_ratios": ["array-like", Real, None],
        "epsilons": ["array-like", Real, None],
        "orders": ["array-like", str, None],
        "samplings": ["array-like", str, None],
        "batch_sizes": ["array-like", Integral, None],
        "cv": ["cv_object"],
        "scoring": [str, callable, None],
        "refit": ["boolean"],
    }

    _base_class = BackwardSGDClassifier

    def __init__(
        self,
        loss="log_loss",
        *,
        alphas=None,
        eta0s=None,
        l1_ratios=None,
        epsilons=None,
        orders=None,
        samplings=None,
        batch_sizes=None,
        cv=None,
        scoring=None,
        refit=True,
        order="backward",
        sampling="reshuffle",
        penalty="l2",
        alpha=0.0001,
        l1_ratio=0.15,
        fit_intercept=True,
        max_iter=1000,
        tol=1e-3,
        n_iter_no_change=5,
        batch_size=1,
        learning_rate="constant",
        eta0="auto",
        power_t=0.5,
        epsilon=0.1,
        multi_class="ovr",
        class_weight=None,
        warm_start=False,
        average=False,
        early_stopping=False,
        validation_fraction=0.1,
        n_jobs=None,
        random_state=None,
        verbose=0,
        device="cpu",
    ):
        super().__init__(
            loss=loss,
            order=order,
            sampling=sampling,
            penalty=penalty,
            alpha=alpha,
            l1_ratio=l1_ratio,
            fit_intercept=fit_intercept,
            max_iter=max_iter,
            tol=tol,
            n_iter_no_change=n_iter_no_change,
            batch_size=batch_size,
            learning_rate=learning_rate,
            eta0=eta0,
            power_t=power_t,
            epsilon=epsilon,
            multi_class=multi_class,
            class_weight=class_weight,
            warm_start=warm_start,
            average=average,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            n_jobs=n_jobs,
            random_state=random_state,
            verbose=verbose,
            device=device,
        )
        self.alphas = alphas
        self.eta0s = eta0s
        self.l1_ratios = l1_ratios
        self.epsilons = epsilons
        self.orders = orders
        self.samplings = samplings
        self.batch_sizes = batch_sizes
        self.cv = cv
        self.scoring = scoring
        self.refit = refit

    def _validated(self, X, y):
        X, y = _validate_training_data(self, X, y)
        _label_classes(y)  # class labels, or a clear error before any fold
        return X, y

    @staticmethod
    def _fold_outputs(base, y, sample_weight):
        classes = _label_classes(y)
        if classes.size < 2:
            raise ValueError(
                "The number of classes has to be greater than one; got "
                f"{classes.size} class in this fold's training rows."
            )
        targets, weights = base._outputs(y, sample_weight, classes)
        return targets, weights, classes


class BackwardSGDRegressorCV(_CrossValidated, BackwardSGDRegressor):
    __doc__ = f"""BackwardSGDRegressor with a cross-validated grid of its parameters.

    Searches ``alpha × eta0 × l1_ratio × epsilon × order × sampling ×
    batch_size`` as GridSearchCV would, training per fold the candidates
    that share ``(order, sampling, batch_size)`` as the models of one pass
    over the rows; then refits the best.

    Parameters
    ----------
    loss, epsilon, order, sampling, penalty, alpha, l1_ratio, fit_intercept, \
max_iter, tol, n_iter_no_change, batch_size, learning_rate, eta0, power_t, \
warm_start, average, early_stopping, validation_fraction, random_state, device
        As in :class:`BackwardSGDRegressor`; the grid's entries override
        theirs.
{_SEARCH_PARAMETERS_DOC}

    Attributes
    ----------
{_SEARCH_ATTRIBUTES_DOC}

    coef_, intercept_, n_iter_, converged_, t_, eta0_
        With ``refit``: the best estimator's (see
        :class:`BackwardSGDRegressor`).

    n_features_in_ : int
        Number of features seen during ``fit``.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during ``fit``, when ``X`` has string column
        names.

    See Also
    --------
    BackwardSGDRegressor : the estimator searched.
    sklearn.model_selection.GridSearchCV : the search it equals.
{_SEARCH_NOTES_DOC}

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn_order import BackwardSGDRegressorCV
    >>> X, y = load_diabetes(return_X_y=True)
    >>> search = BackwardSGDRegressorCV(
    ...     orders=["forward", "backward"], alphas=[1e-4, 1e-1],
    ...     max_iter=20, tol=None, cv=3, random_state=0,
    ... )
    >>> model = make_pipeline(StandardScaler(), search).fit(X, y)
    >>> sorted(model[-1].best_params_)
    ['alpha', 'order']
    """

    _parameter_constraints: dict = {
        **BackwardSGDRegressor._parameter_constraints,
        **{
            name: BackwardSGDClassifierCV._parameter_constraints[name]
            for name in (*GRID_PARAMETERS, "cv", "scoring", "refit")
        },
        "n_jobs": [Integral, None],
    }

    _base_class = BackwardSGDRegressor

    def __init__(
        self,
        loss="squared_error",
        *,
        alphas=None,
        eta0s=None,
        l1_ratios=None,
        epsilons=None,
        orders=None,
        samplings=None,
        batch_sizes=None,
        cv=None,
        scoring=None,
        refit=True,
        order="backward",
        sampling="reshuffle",
        penalty="l2",
        alpha=0.0001,
        l1_ratio=0.15,
        fit_intercept=True,
        max_iter=1000,
        tol=1e-3,
        n_iter_no_change=5,
        batch_size=1,
        learning_rate="constant",
        eta0="auto",
        power_t=0.25,
        epsilon=0.1,
        warm_start=False,
        average=False,
        early_stopping=False,
        validation_fraction=0.1,
        n_jobs=None,
        random_state=None,
        verbose=0,
        device="cpu",
    ):
        super().__init__(
            loss=loss,
            order=order,
            sampling=sampling,
            penalty=penalty,
            alpha=alpha,
            l1_ratio=l1_ratio,
            fit_intercept=fit_intercept,
            max_iter=max_iter,
            tol=tol,
            n_iter_no_change=n_iter_no_change,
            batch_size=batch_size,
            learning_rate=learning_rate,
            eta0=eta0,
            power_t=power_t,
            epsilon=epsilon,
            warm_start=warm_start,
            average=average,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            random_state=random_state,
            verbose=verbose,
            device=device,
        )
        self.alphas = alphas
        self.eta0s = eta0s
        self.l1_ratios = l1_ratios
        self.epsilons = epsilons
        self.orders = orders
        self.samplings = samplings
        self.batch_sizes = batch_sizes
        self.cv = cv
        self.scoring = scoring
        self.refit = refit
        self.n_jobs = n_jobs

    def _validated(self, X, y):
        return self._validate_xy(X, y, reset=True)

    @staticmethod
    def _fold_outputs(base, y, sample_weight):
        return [y], [sample_weight], None
