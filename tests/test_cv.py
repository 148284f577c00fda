"""The CV estimators: the same search as GridSearchCV, in few passes.

The contract is bitwise: each candidate's model on each fold is the base
estimator's fit on that fold's rows alone. The tests check it through a
scorer that returns a fingerprint of the fold model's coefficients (so equal
split "scores" mean bit-identical coefficients), and through the ordinary
scores, ranks and choice of the best candidate.
"""

import hashlib
import os
import pickle
import signal
import threading
import time
import warnings

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from scipy import sparse
from sklearn.base import clone
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import FitFailedWarning, NotFittedError
from sklearn.model_selection import GridSearchCV, GroupKFold, KFold, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_order import (
    BackwardSGDClassifier,
    BackwardSGDClassifierCV,
    BackwardSGDRegressor,
    BackwardSGDRegressorCV,
)
from sklearn_order import _training as training
from sklearn_order._cv import GRID_PARAMETERS
from sklearn_order._engine import GroupEngine

_GRID_NAME = {base: grid for grid, base in GRID_PARAMETERS.items()}
_SEARCHES = {
    BackwardSGDClassifier: BackwardSGDClassifierCV,
    BackwardSGDRegressor: BackwardSGDRegressorCV,
}


def fingerprint(estimator, X, y):
    """A scorer: the fold model's coefficients and intercepts, bit for bit.

    An exact integer below 2**48 (a float holds it exactly), so two equal
    split scores mean (up to a hash collision) bit-identical models.
    """
    coef = np.ascontiguousarray(estimator.coef_)
    digest = hashlib.sha256(
        coef.dtype.str.encode() + coef.tobytes() + estimator.intercept_.tobytes()
    ).digest()
    return float(int.from_bytes(digest[:6], "little"))


def _searches(Estimator, grid, cv, *, scoring=fingerprint, fit_params=None, **params):
    """GridSearchCV over ``Estimator(**params)`` and the CV estimator, both fitted
    on the data given to the returned function."""
    search = _SEARCHES[Estimator](
        **{_GRID_NAME[name]: values for name, values in grid.items()},
        cv=cv,
        scoring=scoring,
        **params,
    )
    reference = GridSearchCV(Estimator(**params), grid, cv=cv, scoring=scoring)

    def fit(X, y, **fit_params):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # both warn alike (failures, max_iter)
            return reference.fit(X, y, **fit_params), search.fit(X, y, **fit_params)

    return fit


def assert_same_search(reference, search):
    """Every key of GridSearchCV's ``cv_results_`` but the times, and the choice."""
    assert search.n_splits_ == reference.n_splits_
    keys = [key for key in reference.cv_results_ if "time" not in key]
    assert sorted(keys) == sorted(k for k in search.cv_results_ if "time" not in k)
    for key in keys:
        if key == "params":
            assert search.cv_results_[key] == reference.cv_results_[key]
        else:
            assert_array_equal(
                np.asarray(search.cv_results_[key]),
                np.asarray(reference.cv_results_[key]),
                err_msg=key,
            )
    assert search.best_params_ == reference.best_params_
    assert search.best_index_ == reference.best_index_
    assert search.best_score_ == reference.best_score_ or (
        np.isnan(search.best_score_) and np.isnan(reference.best_score_)
    )
    n_candidates = len(search.cv_results_["params"])
    assert search.cv_results_["mean_fit_time"].shape == (n_candidates,)


def _classification(n_classes=2, n_samples=150, sparse_X=False, seed=0):
    X, y = make_classification(
        n_samples=n_samples,
        n_features=6,
        n_informative=4,
        n_classes=n_classes,
        flip_y=0.05,
        random_state=seed,
    )
    X = StandardScaler().fit_transform(X)
    if sparse_X:
        X[np.abs(X) < 0.6] = 0.0
        X = sparse.csr_matrix(X)
    return X, y


def test_binary_dense_grid_equals_grid_search():
    X, y = _classification()
    fit = _searches(
        BackwardSGDClassifier,
        {"alpha": [1e-4, 1e-2], "eta0": [0.01, 0.1], "order": ["forward", "backward"]},
        cv=3,
        max_iter=8,
        tol=None,
        batch_size=4,
        random_state=0,
    )
    assert_same_search(*fit(X, y))


def test_one_vs_rest_csr_over_samplings_and_penalties_equals_grid_search():
    X, y = _classification(n_classes=3, sparse_X=True)
    fit = _searches(
        BackwardSGDClassifier,
        {
            "eta0": [0.02, 0.2],
            "l1_ratio": [0.0, 0.5],
            "order": ["forward", "backward"],
            "sampling": ["cyclic", "once", "flipflop", "with_replacement"],
        },
        cv=StratifiedKFold(3, shuffle=True, random_state=1),
        loss="hinge",
        penalty="elasticnet",
        max_iter=6,
        tol=None,
        batch_size=3,
        random_state=3,
    )
    assert_same_search(*fit(X, y))


def test_stopping_per_model_weights_and_auto_step_equal_grid_search():
    # tol stops each model on its own (forward: objective; backward: the
    # doubling), eta0="auto" is sized on each fold's rows and weights,
    # sample weights are sliced per fold and class weights computed on it
    X, y = _classification(n_classes=3, n_samples=180, seed=4)
    weights = np.random.default_rng(0).uniform(0.2, 3.0, size=y.size)
    fit = _searches(
        BackwardSGDClassifier,
        {"alpha": [1e-3, 1e-2, 1e-1], "order": ["forward", "backward"]},
        cv=4,
        class_weight="balanced",
        max_iter=60,
        tol=1e-3,
        random_state=5,
    )
    reference, search = fit(X, y, sample_weight=weights)
    assert_same_search(reference, search)
    assert len(set(reference.cv_results_["split0_test_score"])) > 1


def test_multinomial_grab_and_averaging_give_grid_search_results():
    # multinomial and GraB candidates cannot share a pass (averaged ones
    # can); average with the backward order fails in both searches (nan
    # scores at the same places)
    X, y = _classification(n_classes=3)
    for params, grid in [
        (
            dict(multi_class="multinomial"),
            {"eta0": [0.05, 0.5], "order": ["forward", "backward"]},
        ),
        (
            dict(average=True),
            {
                "eta0": [0.05, 0.5],
                "order": ["forward", "backward"],
                "sampling": ["reshuffle", "grab"],
            },
        ),
    ]:
        fit = _searches(
            BackwardSGDClassifier,
            grid,
            cv=3,
            max_iter=5,
            tol=None,
            batch_size=2,
            random_state=0,
            **params,
        )
        reference, search = fit(X, y)
        assert_same_search(reference, search)
    assert np.isnan(search.cv_results_["mean_test_score"]).sum() == 4
    assert not np.isnan(search.best_score_)


@pytest.mark.parametrize("sparse_X", [False, True])
@pytest.mark.parametrize(
    "Estimator, average",
    [
        (BackwardSGDClassifier, True),
        (BackwardSGDClassifier, 40),
        (BackwardSGDRegressor, True),
    ],
)
def test_averaged_candidates_share_a_pass_and_equal_grid_search(
    sparse_X, Estimator, average, monkeypatch
):
    """Averaged candidates (their running means start at the same map) train
    as the models of one pass, each bit-identical to its fit alone: the
    reference search fits every model alone, each one-vs-rest class too."""
    passes = []
    grouped_run = GroupEngine.run_epochs

    def counted(engine, models, **run):
        passes.append(len(models))
        return grouped_run(engine, models, **run)

    if Estimator is BackwardSGDClassifier:
        X, y = _classification(n_classes=3, sparse_X=sparse_X)
    else:
        X, y = make_regression(n_samples=120, n_features=5, noise=5.0, random_state=0)
        X, y = StandardScaler().fit_transform(X), y / y.std()
        if sparse_X:
            X = sparse.csr_matrix(np.where(np.abs(X) > 0.6, X, 0.0))
    fit = _searches(
        Estimator,
        # alpha 0.5 with eta0 0.5: a strong decay, the lazy means fold often
        {"alpha": [1e-3, 0.5], "eta0": [0.05, 0.5], "l1_ratio": [0.0, 0.3]},
        cv=3,
        order="forward",
        penalty="elasticnet",
        average=average,
        max_iter=6,
        tol=1e-3,
        batch_size=2,
        random_state=0,
    )
    monkeypatch.setattr(GroupEngine, "run_epochs", counted)
    reference, search = fit(X, y)
    assert_same_search(reference, search)
    alone = clone(reference)
    with monkeypatch.context() as patch, warnings.catch_warnings():
        patch.setattr(training, "groupable", lambda problems: False)
        warnings.simplefilter("ignore")
        alone.fit(X, y)
    assert_same_search(alone, search)
    n_models = 8 * (3 if Estimator is BackwardSGDClassifier else 1)
    assert max(passes) == n_models  # every candidate's models in one pass
    assert len(set(reference.cv_results_["split0_test_score"])) == 8


@pytest.mark.parametrize("sparse_X", [False, True])
def test_regression_grid_equals_grid_search(sparse_X):
    X, y = make_regression(n_samples=120, n_features=5, noise=5.0, random_state=0)
    X = StandardScaler().fit_transform(X)
    y = (y - y.mean()) / y.std()
    if sparse_X:
        X[np.abs(X) < 0.5] = 0.0
        X = sparse.csr_matrix(X)
    fit = _searches(
        BackwardSGDRegressor,
        {
            "epsilon": [0.1, 1.0],
            "alpha": [1e-4, 1e-1],
            "order": ["forward", "backward"],
            "batch_size": [1, 8],
        },
        cv=KFold(3, shuffle=True, random_state=0),
        loss="huber",
        max_iter=5,
        tol=None,
        random_state=2,
    )
    assert_same_search(*fit(X, y, sample_weight=np.linspace(0.5, 2.0, y.size)))


def test_float32_and_a_random_state_instance_equal_grid_search():
    # GridSearchCV's clones draw every fit's seed from a copy of the state
    X, y = _classification(n_classes=3)
    state = np.random.RandomState(7)
    fit = _searches(
        BackwardSGDClassifier,
        {"eta0": [0.01, 0.1], "order": ["forward", "backward"]},
        cv=3,
        max_iter=4,
        tol=None,
        random_state=state,
    )
    before = state.get_state()[1].copy()
    assert_same_search(*fit(X.astype(np.float32), y))
    assert_array_equal(state.get_state()[1], before)  # the caller's state unused


@pytest.mark.parametrize("scoring", [None, "neg_log_loss"])
def test_ordinary_scores_choice_and_refit_equal_grid_search(scoring):
    X, y = _classification(n_classes=3)
    fit = _searches(
        BackwardSGDClassifier,
        {"alpha": [1e-4, 1e-1], "eta0": [0.005, 0.5], "order": ["forward", "backward"]},
        cv=3,
        scoring=scoring,
        max_iter=10,
        tol=None,
        random_state=0,
    )
    reference, search = fit(X, y)
    assert_same_search(reference, search)
    assert len(set(reference.cv_results_["mean_test_score"])) > 2
    # the refit is the best candidate on all the rows: it predicts as its model
    assert_array_equal(search.coef_, reference.best_estimator_.coef_)
    assert_array_equal(search.intercept_, reference.best_estimator_.intercept_)
    assert search.n_iter_ == reference.best_estimator_.n_iter_
    assert search.eta0_ == reference.best_estimator_.eta0_
    assert_array_equal(search.predict(X), reference.predict(X))
    assert_array_equal(search.predict_proba(X), reference.predict_proba(X))
    assert_array_equal(search.decision_function(X), reference.decision_function(X))
    assert search.score(X, y) == reference.score(X, y)


def test_group_splits_equal_grid_search():
    X, y = _classification(n_classes=3)
    groups = np.arange(y.size) % 7
    fit = _searches(
        BackwardSGDClassifier,
        {"eta0": [0.01, 0.1], "order": ["forward", "backward"]},
        cv=GroupKFold(3),
        max_iter=4,
        tol=None,
        random_state=0,
    )
    assert_same_search(*fit(X, y, groups=groups))


def test_without_refit_the_search_does_not_predict():
    X, y = _classification()
    search = BackwardSGDClassifierCV(eta0s=[0.01, 0.1], cv=2, max_iter=2, tol=None)
    search.fit(X, y).set_params(refit=False).fit(X, y)  # no earlier model kept
    assert search.best_params_ in search.cv_results_["params"]
    assert not hasattr(search, "best_estimator_")
    with pytest.raises(NotFittedError):
        search.predict(X)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # predicting row 0 overflows
def test_held_out_rows_do_not_decide_whether_a_fold_fit_overflows():
    # a held-out row overflows any float32 prediction: each fold's model is
    # checked on its training rows only, as a fit on them is (no refit: a
    # fit on every row does overflow)
    X, y = _classification()
    X = X.astype(np.float32)
    folds = [(np.arange(1, y.size), np.arange(1)), (np.arange(2, y.size), [0, 1])]
    params = dict(max_iter=2, tol=None, random_state=0)
    # row 0 along the sign of fold 0's models: its prediction overflows
    fold_model = BackwardSGDClassifier(eta0=0.1, **params).fit(X[1:], y[1:])
    assert np.abs(fold_model.coef_).sum() > 1.2
    X[0] = 3e38 * np.sign(fold_model.coef_[0])
    reference = GridSearchCV(
        BackwardSGDClassifier(**params), {"eta0": [0.1, 1.0]}, cv=folds, refit=False
    ).fit(X, y)
    search = BackwardSGDClassifierCV(
        eta0s=[0.1, 1.0], cv=folds, refit=False, **params
    ).fit(X, y)
    assert_same_search(reference, search)
    assert not np.isnan(search.cv_results_["mean_test_score"]).any()


def test_workers_over_the_passes_equal_the_serial_search():
    X, y = _classification(n_classes=3)
    search = BackwardSGDClassifierCV(
        eta0s=[0.01, 0.1],
        orders=["forward", "backward"],
        samplings=["reshuffle", "cyclic"],
        cv=3,
        scoring=fingerprint,
        max_iter=5,
        tol=None,
        random_state=0,
    )
    serial = clone(search).fit(X, y)
    parallel = clone(search).set_params(n_jobs=2).fit(X, y)
    assert_same_search(serial, parallel)


def test_a_fold_with_one_class_fails_its_fits_as_in_grid_search():
    X, y = _classification()
    n = y.size
    # fold 0 trains on rows of one class only
    folds = [
        (np.flatnonzero(y == 0)[:40], np.arange(n - 30, n)),
        (np.arange(0, n, 2), np.arange(1, n, 2)),
    ]
    fit = _searches(
        BackwardSGDClassifier,
        {"eta0": [0.01, 0.1]},
        cv=folds,
        max_iter=3,
        tol=None,
        random_state=0,
    )
    reference, search = fit(X, y)
    assert_same_search(reference, search)
    assert np.isnan(search.cv_results_["split0_test_score"]).all()
    with pytest.warns(FitFailedWarning, match="fits failed out of 4"):
        clone(search).fit(X, y)


def test_every_fit_failing_raises():
    X, y = _classification()
    search = BackwardSGDClassifierCV(
        orders=["backward"], average=True, cv=2, max_iter=2, tol=None
    )
    with pytest.raises(ValueError, match="All the 2 fits failed"):
        search.fit(X, y)


@pytest.mark.parametrize(
    "grid, match",
    [
        (dict(alphas=[]), "alphas is empty"),
        (dict(eta0s=[0.1, -0.1]), r"eta0s\[1\] = -0.1 is not a valid eta0"),
        (dict(orders=["forward", "sideways"]), r"orders\[1\] = 'sideways'.*order"),
        (dict(samplings="zigzag"), r"samplings\[0\] = 'zigzag'.*sampling"),
        (dict(batch_sizes=[0]), r"batch_sizes\[0\] = 0.*batch_size"),
        (dict(l1_ratios=[1.5]), r"l1_ratios\[0\] = 1.5.*l1_ratio"),
    ],
)
def test_bad_grids_are_refused_by_name(grid, match):
    X, y = _classification()
    for Search in (BackwardSGDClassifierCV, BackwardSGDRegressorCV):
        with pytest.raises(ValueError, match=match):
            Search(**grid, cv=2).fit(X, y)


def test_partial_fit_is_not_available():
    assert not hasattr(BackwardSGDClassifierCV(), "partial_fit")
    assert not hasattr(BackwardSGDRegressorCV(), "partial_fit")


@pytest.mark.parametrize("random_state", [3, np.random.RandomState(3)])
def test_early_stopping_holds_out_the_rows_of_a_fit_on_the_fold(random_state):
    # each fold's validation split is drawn inside its training rows (before
    # the seed, from the same copy of the state) as its fit alone draws it
    X, y = _classification(n_classes=3, n_samples=200)
    weights = np.random.default_rng(1).uniform(0.5, 2.0, size=y.size)
    grid = {
        "alpha": [1e-4, 1e-2],
        "eta0": [0.01, 0.1],
        "order": ["forward", "backward"],
    }
    fit = _searches(
        BackwardSGDClassifier,
        grid,
        cv=3,
        early_stopping=True,
        validation_fraction=0.2,
        n_iter_no_change=2,
        max_iter=50,
        tol=1e-3,
        random_state=random_state,
    )
    assert_same_search(*fit(X, y, sample_weight=weights))
    Xr, yr = make_regression(n_samples=150, n_features=5, noise=5.0, random_state=0)
    fit = _searches(
        BackwardSGDRegressor,
        grid,
        cv=3,
        early_stopping=True,
        n_iter_no_change=2,
        max_iter=50,
        random_state=random_state,
    )
    reference, search = fit(StandardScaler().fit_transform(Xr), yr / yr.std())
    assert_same_search(reference, search)
    assert len(set(search.cv_results_["split0_test_score"])) > 4


def test_a_single_value_fixes_a_grid_entry():
    X, y = _classification()
    search = BackwardSGDClassifierCV(
        orders="forward", eta0s=0.05, alphas=[1e-4, 1e-2], cv=2, max_iter=3, tol=None
    ).fit(X, y)
    assert search.cv_results_["params"] == [
        {"alpha": 1e-4, "eta0": 0.05, "order": "forward"},
        {"alpha": 1e-2, "eta0": 0.05, "order": "forward"},
    ]


def test_pipeline_last_step_clone_and_pickle():
    X, y = _classification(n_classes=3)
    search = BackwardSGDClassifierCV(
        orders=["forward", "backward"],
        eta0s=[0.01, 0.1],
        cv=3,
        max_iter=5,
        tol=None,
        random_state=0,
    )
    pipe = make_pipeline(StandardScaler(), search).fit(X, y)
    assert pipe.score(X, y) > 0.6
    copy = clone(pipe)
    assert copy[-1].get_params() == search.get_params()
    restored = pickle.loads(pickle.dumps(pipe))
    assert_array_equal(restored.predict_proba(X), pipe.predict_proba(X))
    assert restored[-1].best_params_ == pipe[-1].best_params_
    regression = make_pipeline(
        StandardScaler(),
        BackwardSGDRegressorCV(alphas=[1e-4, 1e-1], cv=3, random_state=0),
    )
    Xr, yr = make_regression(n_samples=90, n_features=4, noise=1.0, random_state=0)
    regression.fit(Xr, yr / yr.std())
    assert_array_equal(
        pickle.loads(pickle.dumps(regression)).predict(Xr), regression.predict(Xr)
    )


def test_feature_names_reach_the_refitted_model_as_in_grid_search():
    pandas = pytest.importorskip("pandas")
    X, y = _classification()
    frame = pandas.DataFrame(X, columns=[f"x{k}" for k in range(X.shape[1])])
    fit = _searches(
        BackwardSGDClassifier,
        {"eta0": [0.01, 0.1]},
        cv=2,
        scoring=None,
        max_iter=2,
        tol=None,
        random_state=0,
    )
    reference, search = fit(frame, y)
    assert_same_search(reference, search)
    assert_array_equal(search.feature_names_in_, frame.columns)
    assert_array_equal(search.best_estimator_.feature_names_in_, frame.columns)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "fitted without feature names"
        assert_array_equal(
            search.best_estimator_.predict(frame), reference.predict(frame)
        )


def test_verbose_reports_each_pass(capsys):
    X, y = _classification()
    BackwardSGDClassifierCV(
        orders=["forward", "backward"],
        eta0s=[0.01, 0.1],
        cv=2,
        max_iter=2,
        tol=None,
        verbose=1,
    ).fit(X, y)
    out = capsys.readouterr().out
    assert "Fitting 2 folds for each of 4 candidates, in 4 passes" in out
    assert out.count("candidates in") == 4
    assert "[CV 2/2] pass order='backward', sampling='reshuffle', batch_size=1" in out


_SMALL_GRID = dict(orders=["forward", "backward"], eta0s=[0.01, "auto"], cv=3)


@parametrize_with_checks(
    [BackwardSGDClassifierCV(**_SMALL_GRID), BackwardSGDRegressorCV(**_SMALL_GRID)],
    expected_failed_checks=lambda estimator: {
        "check_sample_weight_equivalence_on_dense_data": (
            "SGD: a sample of weight k is one update of size k, not k updates, "
            "so weighting is not equivalent to repeating rows (as for the base "
            "estimators and scikit-learn's SGD)."
        ),
        "check_sample_weight_equivalence_on_sparse_data": (
            "SGD: weighting is not equivalent to repeating rows (as for the "
            "base estimators and scikit-learn's SGD)."
        ),
    },
)
def test_sklearn_compatible_search(estimator, check):
    check(estimator)


def test_ctrl_c_stops_the_passes_running_in_thread_workers(monkeypatch):
    # passes of max_iter=10**7 epochs run for hours: they can only end within
    # seconds of the interrupt because they were cancelled
    from sklearn_order import _cv

    X, y = _classification(n_classes=3)
    search = BackwardSGDClassifierCV(
        orders=["forward", "backward"], cv=2, max_iter=2, tol=None, n_jobs=2
    )
    search.fit(X, y)  # kernels compiled or loaded before the clock starts
    before = search.coef_
    ended, fit_pass = [], _cv._fit_pass

    def recorded(*args, **kwargs):
        try:
            return fit_pass(*args, **kwargs)
        finally:
            ended.append(time.perf_counter())

    monkeypatch.setattr(_cv, "_fit_pass", recorded)
    search.set_params(max_iter=10**7)
    timer = threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            search.fit(X, y)
    finally:
        timer.cancel()
    interrupted = time.perf_counter()
    deadline = interrupted + 30
    while len(ended) < 2 and time.perf_counter() < deadline:
        time.sleep(0.05)
    assert len(ended) >= 2  # both running passes stopped
    assert search.coef_ is before  # the search left as it was
