"""``order="forward", sampling="cyclic", batch_size=1`` is scikit-learn's SGD."""

import warnings

import numpy as np
import pytest
from scipy import sparse
from sklearn.datasets import make_classification, make_regression
from sklearn.linear_model import SGDClassifier, SGDRegressor
from sklearn.preprocessing import StandardScaler

from sklearn_order import BackwardSGDClassifier, BackwardSGDRegressor
from sklearn_order.losses import CLASSIFICATION_LOSSES, REGRESSION_LOSSES

SHARED = dict(alpha=0.01, eta0=0.02, max_iter=4, tol=None)
OURS = dict(order="forward", sampling="cyclic", batch_size=1)


def _relative_error(a, b):
    return np.linalg.norm(np.ravel(a) - np.ravel(b)) / np.linalg.norm(np.ravel(b))


def _classification(n_classes):
    X, y = make_classification(
        n_samples=120,
        n_features=6,
        n_informative=4,
        n_classes=n_classes,
        random_state=0,
    )
    return StandardScaler().fit_transform(X), y


def _regression():
    X, y = make_regression(n_samples=150, n_features=5, noise=5.0, random_state=0)
    return StandardScaler().fit_transform(X), (y - y.mean()) / y.std()


def _fit_both(ours, theirs, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scikit-learn's max_iter warnings
        theirs.fit(X, y)
    ours.fit(X, y)
    return ours, theirs


def _assert_same_model(ours, theirs):
    assert ours.coef_.shape == theirs.coef_.shape
    assert _relative_error(ours.coef_, theirs.coef_) < 1e-9
    assert _relative_error(ours.intercept_, theirs.intercept_) < 1e-9


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("penalty", [None, "l2"])
@pytest.mark.parametrize("loss", CLASSIFICATION_LOSSES + REGRESSION_LOSSES)
def test_classifier_reproduces_sgdclassifier(loss, penalty, n_classes):
    """Every loss scikit-learn's classifier takes, the regression losses
    (one-vs-rest regressions on ``±1``, with ``epsilon``) included."""
    X, y = _classification(n_classes)
    params = dict(
        loss=loss, penalty=penalty, learning_rate="constant", epsilon=0.2, **SHARED
    )
    ours, theirs = _fit_both(
        BackwardSGDClassifier(**params, **OURS),
        SGDClassifier(**params, shuffle=False),
        X,
        y,
    )
    _assert_same_model(ours, theirs)
    assert ours.t_ == X.shape[0] * SHARED["max_iter"] == theirs.t_ - 1


@pytest.mark.parametrize("penalty", [None, "l2"])
@pytest.mark.parametrize("loss", REGRESSION_LOSSES)
def test_regressor_reproduces_sgdregressor(loss, penalty):
    X, y = _regression()
    params = dict(
        loss=loss, penalty=penalty, learning_rate="constant", epsilon=0.2, **SHARED
    )
    ours, theirs = _fit_both(
        BackwardSGDRegressor(**params, **OURS),
        SGDRegressor(**params, shuffle=False),
        X,
        y,
    )
    _assert_same_model(ours, theirs)


@pytest.mark.parametrize("learning_rate", ["optimal", "invscaling"])
def test_decreasing_schedules_reproduce_scikit_learn(learning_rate):
    X, y = _classification(2)
    params = dict(loss="hinge", penalty="l2", learning_rate=learning_rate, **SHARED)
    ours, theirs = _fit_both(
        BackwardSGDClassifier(**params, **OURS),
        SGDClassifier(**params, shuffle=False),
        X,
        y,
    )
    assert _relative_error(ours.coef_, theirs.coef_) < 1e-9


def test_class_weight_binary_reproduces_scikit_learn():
    X, y = _classification(2)
    params = dict(
        loss="log_loss",
        learning_rate="constant",
        class_weight={0: 0.3, 1: 2.0},
        **SHARED,
    )
    weights = np.linspace(0.5, 1.5, X.shape[0])
    theirs = SGDClassifier(**params, shuffle=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs.fit(X, y, sample_weight=weights)
    ours = BackwardSGDClassifier(**params, **OURS).fit(X, y, sample_weight=weights)
    assert _relative_error(ours.coef_, theirs.coef_) < 1e-9


def test_forward_stopping_criterion_matches_scikit_learn():
    """Same objective, same tol rule: the same number of epochs (no penalty)."""
    X, y = _classification(2)
    params = dict(
        loss="log_loss",
        penalty=None,
        learning_rate="constant",
        eta0=0.01,
        max_iter=200,
        tol=1e-3,
        n_iter_no_change=3,
    )
    ours, theirs = _fit_both(
        BackwardSGDClassifier(**params, **OURS),
        SGDClassifier(**params, shuffle=False),
        X,
        y,
    )
    assert ours.n_iter_ == theirs.n_iter_ < 200
    assert _relative_error(ours.coef_, theirs.coef_) < 1e-9


@pytest.mark.parametrize("average", [True, 50, 10_000])
@pytest.mark.parametrize("penalty", [None, "l2"])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_averaged_classifier_reproduces_scikit_learn(n_classes, penalty, average):
    """``average`` (Polyak–Ruppert; 10,000 > the maps run: no average yet)."""
    X, y = _classification(n_classes)
    params = dict(
        loss="log_loss",
        penalty=penalty,
        learning_rate="constant",
        average=average,
        **SHARED,
    )
    ours, theirs = _fit_both(
        BackwardSGDClassifier(**params, **OURS),
        SGDClassifier(**params, shuffle=False),
        X,
        y,
    )
    _assert_same_model(ours, theirs)


@pytest.mark.parametrize("loss", ["squared_error", "huber"])
def test_averaged_regressor_reproduces_scikit_learn(loss):
    X, y = _regression()
    params = dict(loss=loss, learning_rate="constant", average=True, **SHARED)
    ours, theirs = _fit_both(
        BackwardSGDRegressor(**params, **OURS),
        SGDRegressor(**params, shuffle=False),
        X,
        y,
    )
    _assert_same_model(ours, theirs)


# -- passive-aggressive steps -------------------------------------------------------

PA_SHARED = dict(alpha=0.01, eta0=0.3, max_iter=4, tol=None)


def _passive_aggressive_pair(task, learning_rate, penalty, fit_intercept, **extra):
    params = dict(
        learning_rate=learning_rate,
        penalty=penalty,
        fit_intercept=fit_intercept,
        **PA_SHARED,
        **extra,
    )
    if task == "classification":
        params["loss"] = "hinge"
        return BackwardSGDClassifier(**params, **OURS), SGDClassifier(
            **params, shuffle=False
        )
    params.update(loss="epsilon_insensitive", epsilon=0.2)
    return BackwardSGDRegressor(**params, **OURS), SGDRegressor(**params, shuffle=False)


def _task_data(task, n_classes):
    if task == "classification":
        return _classification(n_classes)
    return _regression()


PA_TASKS = [("classification", 2), ("classification", 3), ("regression", None)]


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("penalty", [None, "l2"])
@pytest.mark.parametrize("learning_rate", ["pa1", "pa2"])
@pytest.mark.parametrize("task, n_classes", PA_TASKS)
def test_passive_aggressive_reproduces_scikit_learn(
    task, n_classes, learning_rate, penalty, fit_intercept
):
    X, y = _task_data(task, n_classes)
    X[5] = 0.0  # PA-I skips a row with x = 0, as scikit-learn does
    ours, theirs = _fit_both(
        *_passive_aggressive_pair(task, learning_rate, penalty, fit_intercept), X, y
    )
    if fit_intercept:
        _assert_same_model(ours, theirs)
    else:
        assert ours.coef_.shape == theirs.coef_.shape
        assert _relative_error(ours.coef_, theirs.coef_) < 1e-9
        assert np.all(ours.intercept_ == 0.0) and np.all(theirs.intercept_ == 0.0)


@pytest.mark.parametrize("learning_rate", ["pa1", "pa2"])
@pytest.mark.parametrize("task, n_classes", PA_TASKS)
def test_passive_aggressive_on_sparse_input_reproduces_scikit_learn(
    task, n_classes, learning_rate
):
    """CSR rows: scikit-learn's model without an intercept (with one it damps
    the intercept's steps by 0.01 on sparse input, a documented difference);
    with an intercept, our sparse model is our dense one."""
    X, y = _task_data(task, n_classes)
    X = X * (np.random.default_rng(0).random(X.shape) < 0.5)
    X[5] = 0.0
    X_csr = sparse.csr_matrix(X)
    ours, theirs = _fit_both(
        *_passive_aggressive_pair(task, learning_rate, "l2", False), X_csr, y
    )
    assert ours.coef_.shape == theirs.coef_.shape
    assert _relative_error(ours.coef_, theirs.coef_) < 1e-9
    csr, _ = _passive_aggressive_pair(task, learning_rate, "l2", True)
    dense, _ = _passive_aggressive_pair(task, learning_rate, "l2", True)
    csr.fit(X_csr, y)
    dense.fit(X, y)
    assert _relative_error(csr.coef_, dense.coef_) < 1e-9
    assert _relative_error(csr.intercept_, dense.intercept_) < 1e-9


@pytest.mark.parametrize("learning_rate", ["pa1", "pa2"])
@pytest.mark.parametrize("task, n_classes", PA_TASKS)
def test_averaged_passive_aggressive_reproduces_scikit_learn(
    task, n_classes, learning_rate
):
    X, y = _task_data(task, n_classes)
    ours, theirs = _fit_both(
        *_passive_aggressive_pair(task, learning_rate, "l2", True, average=True),
        X,
        y,
    )
    _assert_same_model(ours, theirs)


@pytest.mark.parametrize("learning_rate", ["pa1", "pa2"])
def test_weighted_passive_aggressive_reproduces_scikit_learn(learning_rate):
    """Sample × class weights scale each row's step ``τ_i`` after the PA-I cap,
    as in scikit-learn (binary: both weight the negative class alike)."""
    X, y = _classification(2)
    weights = np.linspace(0.5, 1.5, X.shape[0])
    ours, theirs = _passive_aggressive_pair(
        "classification", learning_rate, "l2", True, class_weight={0: 0.3, 1: 2.0}
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs.fit(X, y, sample_weight=weights)
    ours.fit(X, y, sample_weight=weights)
    _assert_same_model(ours, theirs)


@pytest.mark.parametrize("random_state", [0, 1, 2, 3])
@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_early_stopping_holds_out_scikit_learns_rows_and_stops_at_its_epoch(
    task, random_state
):
    """The validation split is scikit-learn's (``StratifiedShuffleSplit`` for a
    classifier, ``ShuffleSplit`` for a regressor, seeded by ``random_state``),
    so with the same loss the fit stops at scikit-learn's epoch with its
    model. The classifiers' default losses differ (``"log_loss"`` here,
    ``"hinge"`` there): compared with the defaults, the epochs differ."""
    params = dict(
        early_stopping=True,
        validation_fraction=0.1,
        learning_rate="constant",
        eta0=0.01,
        alpha=1e-4,
        max_iter=200,
    )
    if task == "regression":
        X, y = _regression()
        ours, theirs = BackwardSGDRegressor, SGDRegressor
    else:
        X, y = _classification(2 if task == "binary" else 3)
        ours, theirs = BackwardSGDClassifier, SGDClassifier
        params["loss"] = "hinge"
    ours, theirs = _fit_both(
        ours(random_state=random_state, **params, **OURS),
        theirs(random_state=random_state, shuffle=False, **params),
        X,
        y,
    )
    assert ours.n_iter_ == theirs.n_iter_
    _assert_same_model(ours, theirs)
