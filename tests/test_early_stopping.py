"""Early stopping on a held-out split, for both orders."""

import tracemalloc
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import sparse
from sklearn.datasets import load_iris, make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import ShuffleSplit, StratifiedShuffleSplit
from sklearn.preprocessing import StandardScaler

from sklearn_order import BackwardSGDClassifier, BackwardSGDRegressor
from sklearn_order.sampling import SAMPLINGS


def _classification(n_classes=3):
    X, y = make_classification(
        n_samples=400,
        n_features=8,
        n_informative=5,
        n_classes=n_classes,
        flip_y=0.05,
        random_state=0,
    )
    return StandardScaler().fit_transform(X), y


@pytest.mark.parametrize("order", ["forward", "backward"])
def test_early_stopping_stops_on_the_held_out_score(order):
    X, y = _classification()
    model = BackwardSGDClassifier(
        order=order,
        early_stopping=True,
        alpha=1e-4,
        eta0=0.05,
        max_iter=512,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model.fit(X, y)
    assert model.n_iter_ < 512
    assert model.score(X, y) > 0.7
    if order == "backward":  # evaluated at 1, 2, 4, … epochs
        assert model.n_iter_ & (model.n_iter_ - 1) == 0


@pytest.mark.parametrize("order", ["forward", "backward"])
@pytest.mark.parametrize("Estimator", [BackwardSGDClassifier, BackwardSGDRegressor])
def test_early_stopping_trains_on_the_rest_exactly(Estimator, order):
    """The stopped model is the model of its epoch count on the training rows,
    visited in data order.

    (Binary: with one-vs-rest each class stops at its own epoch count.)
    """
    if Estimator is BackwardSGDClassifier:
        X, y = _classification(n_classes=2)
        split = StratifiedShuffleSplit(n_splits=1, test_size=0.2, random_state=3)
    else:
        X, y = make_regression(n_samples=300, n_features=5, noise=5.0, random_state=0)
        y = y / y.std()
        split = ShuffleSplit(n_splits=1, test_size=0.2, random_state=3)
    params = dict(order=order, eta0=0.05, batch_size=4, random_state=3)
    stopped = Estimator(
        early_stopping=True, validation_fraction=0.2, max_iter=256, **params
    ).fit(X, y)
    train = np.sort(next(split.split(X, y))[0])
    again = Estimator(tol=None, max_iter=stopped.n_iter_, **params).fit(
        X[train], y[train]
    )
    assert_allclose(stopped.coef_, again.coef_, rtol=1e-12)
    assert_allclose(stopped.intercept_, again.intercept_, rtol=1e-12)


def test_a_validation_set_too_small_is_an_error():
    X, y = _classification(n_classes=3)
    with pytest.raises(ValueError, match="validation_fraction=0.001 cannot make"):
        BackwardSGDClassifier(early_stopping=True, validation_fraction=0.001).fit(X, y)


@pytest.mark.parametrize("sampling", list(SAMPLINGS))
@pytest.mark.parametrize("order", ["forward", "backward"])
@pytest.mark.parametrize("storage", ["dense", "csr"])
def test_training_rows_are_visited_as_a_fit_on_them_in_data_order(
    storage, order, sampling
):
    """The reproducer of the parity issue, for every scheme: the training rows
    are not reordered by the validation split (scikit-learn masks them)."""
    X, y = load_iris(return_X_y=True)
    X = sparse.csr_matrix(X) if storage == "csr" else X
    kw = dict(order=order, sampling=sampling, tol=None, max_iter=6, random_state=0)
    stopped = BackwardSGDClassifier(
        early_stopping=True, validation_fraction=0.4, **kw
    ).fit(X, y)
    split = StratifiedShuffleSplit(n_splits=1, test_size=0.4, random_state=0)
    train = np.sort(next(split.split(X, y))[0])
    on_rows = BackwardSGDClassifier(**kw).fit(X[train], y[train])
    assert_array_equal(stopped.coef_, on_rows.coef_)
    assert_array_equal(stopped.intercept_, on_rows.intercept_)


def test_early_stopping_does_not_copy_the_training_rows():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100_000, 200))  # 160 MB: per-row vectors are small beside it
    y = (X[:, 0] > 0).astype(int)
    model = BackwardSGDClassifier(
        early_stopping=True, validation_fraction=0.1, max_iter=1, tol=None
    )
    model.fit(X[:1000], y[:1000])  # compile outside the measurement
    tracemalloc.start()
    try:
        model.fit(X, y)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # the held-out rows (10 %) are copied, the training rows are not
    assert peak < 0.3 * X.nbytes


@pytest.mark.parametrize("Estimator", [BackwardSGDClassifier, BackwardSGDRegressor])
def test_held_out_rows_without_weight_are_refused_before_training(Estimator):
    X, y = load_iris(return_X_y=True)
    split = (
        StratifiedShuffleSplit if Estimator is BackwardSGDClassifier else ShuffleSplit
    )(n_splits=1, test_size=0.2, random_state=0)
    _, held_out = next(split.split(X, y))
    weight = np.ones(len(y))
    weight[held_out] = 0.0
    model = Estimator(early_stopping=True, validation_fraction=0.2, random_state=0)
    with pytest.raises(ValueError, match="validation split .* sum to zero"):
        model.fit(X, y, sample_weight=weight)
