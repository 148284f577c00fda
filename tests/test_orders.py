"""The composition orders at the estimator level: exact identities and convergence."""

import warnings

import numpy as np
import pytest
from conftest import ALL_LOSSES
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from sklearn_order import BackwardSGDClassifier, BackwardSGDRegressor
from sklearn_order.losses import LOSSES
from sklearn_order.orders import doubling_schedule


def _estimator(loss, **params):
    Estimator = (
        BackwardSGDClassifier
        if LOSSES[loss].task == "classification"
        else BackwardSGDRegressor
    )
    return Estimator(loss=loss, **params)


def _data(loss, n=48, d=5, seed=0):
    if LOSSES[loss].task == "classification":
        X, y = make_classification(n_samples=n, n_features=d, random_state=seed)
    else:
        X, y = make_regression(n_samples=n, n_features=d, noise=1.0, random_state=seed)
        y = y / y.std()
    return StandardScaler().fit_transform(X), y


def _block_reversed(n, batch_size):
    """Rows of ``range(n)`` with the batches listed last first, rows kept in order."""
    blocks = np.arange(n).reshape(-1, batch_size)
    return blocks[::-1].ravel()


@pytest.mark.parametrize("loss", ALL_LOSSES)
def test_backward_equals_forward_on_batches_in_reversed_order(loss):
    """Design fact 1, exactly: backward on (X, y) is forward on reversed batches."""
    X, y = _data(loss)
    batch_size = 4  # divides n_samples
    params = dict(
        sampling="cyclic", batch_size=batch_size, tol=None, max_iter=3, eta0=0.05
    )
    backward = _estimator(loss, order="backward", **params).fit(X, y)
    rows = _block_reversed(X.shape[0], batch_size)
    forward = _estimator(loss, order="forward", **params).fit(X[rows], y[rows])
    assert_array_equal(backward.coef_, forward.coef_)
    assert_array_equal(backward.intercept_, forward.intercept_)
    assert backward.t_ == forward.t_ == 3 * X.shape[0] // batch_size


def test_orders_differ_and_agree_on_one_batch():
    """One epoch of one batch is a single map: both orders give the same result."""
    X, y = _data("squared_error", n=16)
    params = dict(batch_size=16, tol=None, max_iter=1, random_state=0)
    f = BackwardSGDRegressor(order="forward", **params).fit(X, y)
    b = BackwardSGDRegressor(order="backward", **params).fit(X, y)
    assert_array_equal(f.coef_, b.coef_)
    f = BackwardSGDRegressor(order="forward", **{**params, "batch_size": 2}).fit(X, y)
    b = BackwardSGDRegressor(order="backward", **{**params, "batch_size": 2}).fit(X, y)
    assert not np.array_equal(f.coef_, b.coef_)


def test_doubling_schedule():
    assert doubling_schedule(1) == [1]
    assert doubling_schedule(8) == [1, 2, 4, 8]
    assert doubling_schedule(10) == [1, 2, 4, 8, 10]


STRONGLY_CONVEX = [
    pytest.param(
        BackwardSGDRegressor,
        lambda: make_regression(
            n_samples=300, n_features=8, noise=10.0, random_state=1
        ),
        id="ridge",
    ),
    pytest.param(
        BackwardSGDClassifier,
        lambda: make_classification(
            n_samples=300, n_features=8, flip_y=0.1, random_state=1
        ),
        id="l2-logistic",
    ),
]


def _standardized(make):
    X, y = make()
    X = StandardScaler().fit_transform(X)
    if y.dtype.kind == "f":
        y = (y - y.mean()) / y.std()
    return X, y


@pytest.mark.parametrize("Estimator, make", STRONGLY_CONVEX)
def test_backward_converges_to_a_point_forward_does_not(Estimator, make):
    X, y = _standardized(make)
    tol = 1e-6
    params = dict(
        penalty="l2", alpha=0.01, eta0=0.05, batch_size=4, random_state=0, tol=tol
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        short = Estimator(order="backward", max_iter=300, **params).fit(X, y)
        long = Estimator(order="backward", max_iter=2000, **params).fit(X, y)
    assert short.n_iter_ < 300
    assert short.n_iter_ == long.n_iter_
    theta = np.append(short.coef_, short.intercept_)
    assert np.linalg.norm(np.append(long.coef_, long.intercept_) - theta) <= tol * (
        np.linalg.norm(theta)
    )
    # The backward iterate at twice the epochs agrees to tol as well.
    doubled = Estimator(
        order="backward", **{**params, "tol": None, "max_iter": 2 * short.n_iter_}
    ).fit(X, y)
    change = np.linalg.norm(np.append(doubled.coef_, doubled.intercept_) - theta)
    assert change <= 10 * tol * np.linalg.norm(theta)

    # Forward iterates at successive epochs keep moving by far more than tol.
    forward = [
        Estimator(order="forward", **{**params, "tol": None, "max_iter": k}).fit(X, y)
        for k in (short.n_iter_, short.n_iter_ + 1)
    ]
    step = np.linalg.norm(
        np.append(forward[1].coef_, forward[1].intercept_)
        - np.append(forward[0].coef_, forward[0].intercept_)
    )
    assert step > 100 * tol * np.linalg.norm(theta)


def test_backward_warns_when_iterates_do_not_agree():
    # Separable, unregularized logistic regression: the weights grow without
    # bound, so the backward iterates do not converge.
    X = np.array([[-2.0], [-1.0], [1.0], [2.0]])
    y = np.array([0, 0, 1, 1])
    model = BackwardSGDClassifier(penalty=None, max_iter=64, eta0=0.5, random_state=0)
    with pytest.warns(ConvergenceWarning, match="backward iterates"):
        model.fit(X, y)
    assert model.n_iter_ == 64


def test_forward_warns_at_max_iter():
    X, y = _standardized(STRONGLY_CONVEX[0].values[1])
    with pytest.warns(ConvergenceWarning, match="max_iter=2") as record:
        BackwardSGDRegressor(order="forward", max_iter=2, tol=1e-12).fit(X, y)
    assert record[0].filename == __file__  # points at the caller's fit


@pytest.mark.parametrize("order", ["forward", "backward"])
def test_partial_fit_is_one_pass_in_the_estimators_order(order):
    X, y = _data("squared_error", n=40)
    params = dict(order=order, sampling="cyclic", batch_size=5, tol=None, max_iter=1)
    fitted = BackwardSGDRegressor(**params).fit(X, y)
    partial = BackwardSGDRegressor(**params).partial_fit(X, y)
    assert_array_equal(fitted.coef_, partial.coef_)
    assert partial.t_ == 8
    partial.partial_fit(X, y)
    assert partial.t_ == 16


def test_forward_partial_fit_over_chunks_is_forward_sgd_over_their_concatenation():
    X, y = _data("log_loss", n=40)
    params = dict(
        order="forward",
        sampling="cyclic",
        batch_size=4,
        tol=None,
        max_iter=1,
        learning_rate="invscaling",
        eta0=0.01,  # a float: the chunks compose the same maps as the fit
    )
    whole = BackwardSGDClassifier(**params).fit(X, y)
    chunks = BackwardSGDClassifier(**params)
    for rows in np.split(np.arange(40), [12, 24]):
        chunks.partial_fit(X[rows], y[rows], classes=[0, 1])
    assert_allclose(chunks.coef_, whole.coef_, rtol=1e-13)
    assert chunks.t_ == whole.t_ == 10


def test_backward_partial_fit_composes_chunks_forward():
    """Within a chunk the maps run newest first; each chunk is applied on top."""
    X, y = _data("squared_error", n=40)
    params = dict(order="backward", sampling="cyclic", batch_size=4, tol=None)
    model = BackwardSGDRegressor(**params)
    first, second = np.arange(20), np.arange(20, 40)
    model.partial_fit(X[first], y[first]).partial_fit(X[second], y[second])
    step_one = BackwardSGDRegressor(**params, max_iter=1).fit(X[first], y[first])
    step_two = BackwardSGDRegressor(**params, max_iter=1).fit(
        X[second],
        y[second],
        coef_init=step_one.coef_,
        intercept_init=step_one.intercept_,
    )
    assert_array_equal(model.coef_, step_two.coef_)
