"""Trajectories and coalescence against plain-NumPy references."""

import warnings

import numba
import numpy as np
import pytest
import reference
from conftest import ALL_LOSSES, make_targets
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.linear_model import SGDRegressor

from sklearn_order import (
    BackwardSGDClassifier,
    BackwardSGDRegressor,
    ContractionWarning,
    coalescence,
    training_objective,
    trajectory,
)
from sklearn_order._training import draw_seed
from sklearn_order.losses import LOSSES, loss_parameter
from sklearn_order.penalties import penalty_strengths
from sklearn_order.sampling import epoch_batches, n_batches


def _estimator(loss, **params):
    if LOSSES[loss].task == "classification":
        return BackwardSGDClassifier(loss=loss, **params)
    return BackwardSGDRegressor(loss=loss, epsilon=0.3, **params)


def _seed(estimator):
    """The batch-sequence seed an estimator with an int random_state draws."""
    return draw_seed(estimator.random_state)


def _reference_path(X, y, estimator, n_steps, order):
    """θ_k for k = 1..n_steps: a short double loop over prefixes (one output)."""
    n = X.shape[0]
    batches = [
        rows
        for e in range(n_steps // n_batches(n, estimator.batch_size) + 1)
        for rows in epoch_batches(
            estimator.sampling, n, estimator.batch_size, _seed(estimator), e
        )
    ][:n_steps]
    l2, l1 = penalty_strengths(estimator.penalty, estimator.alpha, estimator.l1_ratio)
    rule = dict(
        loss=estimator.loss,
        param=loss_parameter(estimator.loss, 0.3),
        l2=l2,
        l1=l1,
        fit_intercept=estimator.fit_intercept,
    )
    s = np.ones(n)
    path = []
    for k in range(1, n_steps + 1):
        w, b = reference.compose(
            X,
            y,
            s,
            batches[:k],
            np.zeros(X.shape[1]),
            0.0,
            order=order,
            eta=estimator.eta0,
            **dict(rule),
        )
        path.append(np.append(w, b))
    return np.array(path)


@pytest.mark.parametrize("order", ["forward", "backward"])
@pytest.mark.parametrize("loss", ALL_LOSSES)
def test_trajectory_matches_the_reference_double_loop(loss, order, rng):
    n, d, n_steps = 13, 3, 12
    X = rng.normal(size=(n, d))
    y = make_targets(loss, rng, n)
    estimator = _estimator(
        loss,
        order=order,
        batch_size=3,
        eta0=0.1,
        penalty="l2",
        alpha=0.01,
        random_state=4,
    )
    path = trajectory(estimator, X, y, n_steps=n_steps)
    assert path.method == (
        "pass"
        if order == "forward"
        else "affine"
        if loss == "squared_error"
        else "coupling"
    )
    expected = _reference_path(X, y, estimator, n_steps, order)
    assert_allclose(path.thetas(), expected, rtol=1e-10, atol=1e-12)
    assert_array_equal(path.steps, np.arange(1, n_steps + 1))


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("penalty", [None, "l2"])
@pytest.mark.parametrize("sampling", ["reshuffle", "with_replacement", "flipflop"])
def test_affine_trajectory_matches_replay(penalty, fit_intercept, sampling, rng):
    n, d = 50, 6
    X, y = rng.normal(size=(n, d)), rng.normal(size=n)
    estimator = BackwardSGDRegressor(
        penalty=penalty,
        alpha=0.01,
        batch_size=4,
        eta0=0.05,
        sampling=sampling,
        fit_intercept=fit_intercept,
        random_state=1,
    )
    affine = trajectory(estimator, X, y, n_steps=300, every=7, method="affine")
    replay = trajectory(estimator, X, y, n_steps=300, every=7, method="replay")
    assert affine.method == "affine" and replay.method == "replay"
    scale = np.abs(replay.thetas()).max()
    assert np.abs(affine.thetas() - replay.thetas()).max() < 1e-10 * scale
    if not fit_intercept:
        assert np.all(affine.intercept == 0)


@pytest.mark.parametrize("order", ["forward", "backward"])
@pytest.mark.parametrize(
    "estimator, multiclass",
    [
        (BackwardSGDClassifier(loss="hinge"), True),
        (BackwardSGDClassifier(loss="log_loss"), False),
        (BackwardSGDRegressor(loss="huber"), False),
        (BackwardSGDRegressor(), False),
    ],
)
def test_trajectory_ends_where_fit_ends(estimator, multiclass, order, rng):
    n, d, epochs, batch_size = 24, 4, 3, 5
    X = rng.normal(size=(n, d))
    if isinstance(estimator, BackwardSGDClassifier):
        y = rng.integers(0, 3 if multiclass else 2, size=n)
    else:
        y = rng.normal(size=n)
    estimator = estimator.set_params(
        order=order, batch_size=batch_size, random_state=3, tol=None, max_iter=epochs
    )
    path = trajectory(estimator, X, y, every=n_batches(n, batch_size))
    fitted = estimator.fit(X, y)
    assert path.coef.shape == (epochs, *fitted.coef_.shape)
    assert path.intercept.shape == (epochs, *fitted.intercept_.shape)
    assert_allclose(path.coef[-1], fitted.coef_, rtol=1e-10, atol=1e-13)
    assert_allclose(path.intercept[-1], fitted.intercept_, rtol=1e-10, atol=1e-13)


def test_trajectory_does_not_touch_the_estimator(rng):
    X, y = rng.normal(size=(20, 3)), rng.normal(size=20)
    estimator = BackwardSGDRegressor(random_state=0)
    trajectory(estimator, X, y, n_steps=10)
    assert not hasattr(estimator, "coef_") and not hasattr(estimator, "n_features_in_")


def _ridge(rng, n=200, d=5):
    X = rng.normal(size=(n, d))
    y = X @ rng.normal(size=d) + 0.5 * rng.normal(size=n)
    return X, y


def test_ridge_backward_steps_fall_geometrically_forward_steps_do_not(rng):
    X, y = _ridge(rng)
    params = dict(penalty="l2", alpha=0.01, eta0=0.05, batch_size=2, random_state=0)
    backward = trajectory(BackwardSGDRegressor(**params), X, y, n_steps=3000)
    forward = trajectory(
        BackwardSGDRegressor(order="forward", **params), X, y, n_steps=3000
    )
    back, fwd = backward.step_norms(), forward.step_norms()
    assert back[-1] < 1e-8
    # geometric: every 200 steps divide the largest step of a block by > 100
    block_max = [back[start : start + 100].max() for start in (0, 200, 400)]
    assert block_max[1] < 1e-2 * block_max[0]
    assert block_max[2] < 1e-2 * block_max[1]
    # forward stays at its noise floor, far above
    assert np.median(fwd[-500:]) > 1e-3
    assert np.median(fwd[-500:]) > 0.2 * np.median(fwd[1000:1500])


def test_replay_does_not_depend_on_the_number_of_threads(rng):
    X, y = rng.normal(size=(30, 4)), rng.choice([0, 1], size=30)
    estimator = BackwardSGDClassifier(batch_size=3, random_state=2)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = trajectory(estimator, X, y, n_steps=40).thetas()
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        many = trajectory(estimator, X, y, n_steps=40).thetas()
    finally:
        numba.set_num_threads(before)
    assert one.tobytes() == many.tobytes()


def test_coalescence_certifies_ridge(rng):
    X, y = _ridge(rng)
    estimator = BackwardSGDRegressor(
        alpha=0.01, eta0=0.05, batch_size=2, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", ContractionWarning)
        report = coalescence(estimator, X, y, n_steps=2000, n_inits=3, random_state=0)
    assert report.contractive
    assert report.rate < 0.999
    assert report.distances[-1] < 1e-8 * report.initial_distance
    # geometric: log-distance falls linearly
    assert report.distances[1500] < 1e-3 * report.distances[500]


def test_coalescence_with_given_starting_points(rng):
    X, y = _ridge(rng)
    estimator = BackwardSGDRegressor(
        alpha=0.01, eta0=0.05, batch_size=2, random_state=0
    )
    inits = [(np.zeros(5), [0.0]), (np.full(5, 3.0), [1.0])]
    report = coalescence(estimator, X, y, inits=inits, n_steps=1500)
    assert_allclose(report.initial_distance, np.sqrt(5 * 9 + 1))
    assert report.contractive


def test_coalescence_warns_on_separable_unregularized_logistic():
    X = np.array([[-2.0, 0.5], [-1.0, -0.3], [1.0, 0.2], [2.0, -0.4]] * 5)
    y = np.array([0, 0, 1, 1] * 5)
    estimator = BackwardSGDClassifier(penalty=None, eta0=0.5, random_state=0)
    with pytest.warns(ContractionWarning, match="did not coalesce"):
        report = coalescence(estimator, X, y, n_steps=2000, random_state=0)
    assert not report.contractive


def test_bad_arguments():
    X, y = np.random.default_rng(0).normal(size=(10, 2)), np.arange(10.0)
    estimator = BackwardSGDRegressor(random_state=0)
    for every in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="every must be an integer >= 1"):
            trajectory(estimator, X, y, every=every)
    with pytest.raises(ValueError, match="fewer than every=5 maps"):
        trajectory(estimator, X, y, n_steps=3, every=5)
    with pytest.raises(ValueError, match="start must be a non-negative multiple"):
        trajectory(estimator, X, y, n_steps=20, every=5, start=3)
    with pytest.raises(ValueError, match="method must be one of"):
        trajectory(estimator, X, y, method="magic")
    with pytest.raises(ValueError, match="method='affine' needs loss='squared_error'"):
        trajectory(BackwardSGDRegressor(loss="huber"), X, y, n_steps=5, method="affine")
    with pytest.raises(ValueError, match="method='affine' needs"):
        trajectory(BackwardSGDRegressor(penalty="l1"), X, y, n_steps=5, method="affine")
    # the L1 penalty is not affine: "auto" replays, with coupling
    assert (
        trajectory(BackwardSGDRegressor(penalty="l1"), X, y, n_steps=5).method
        == "coupling"
    )
    with pytest.raises(TypeError, match="expected a BackwardSGDClassifier"):
        trajectory(SGDRegressor(), X, y)
    with pytest.raises(ValueError, match="n_inits must be at least 2"):
        coalescence(estimator, X, y, n_inits=1)
    with pytest.raises(ValueError, match="at least two starting points"):
        coalescence(estimator, X, y, inits=[(np.zeros(2), [0.0])])


@pytest.mark.parametrize("method", ["replay", "coupling", "affine"])
def test_diverging_trajectory_is_an_error(method):
    rng = np.random.default_rng(0)
    X, y = 1e3 * rng.normal(size=(20, 2)), rng.normal(size=20)
    with pytest.raises(ValueError, match="eta0"):
        trajectory(BackwardSGDRegressor(eta0=10.0), X, y, n_steps=40, method=method)


@pytest.mark.parametrize(
    "estimator, method",
    [
        (BackwardSGDRegressor(), "affine"),
        (BackwardSGDRegressor(), "replay"),
        (BackwardSGDRegressor(order="forward"), "auto"),
        (BackwardSGDClassifier(), "replay"),
        (BackwardSGDClassifier(), "coupling"),
    ],
)
def test_trajectory_from_a_later_start_is_the_tail_of_the_whole_one(
    estimator, method, rng
):
    X = rng.normal(size=(30, 3))
    y = rng.integers(0, 3, 30) if hasattr(estimator, "predict_proba") else X[:, 0]
    estimator.set_params(batch_size=2, random_state=0)
    whole = trajectory(estimator, X, y, n_steps=60, every=3, method=method)
    tail = trajectory(estimator, X, y, n_steps=60, every=3, start=45, method=method)
    assert_array_equal(tail.steps, [48, 51, 54, 57, 60])
    assert_allclose(tail.thetas(), whole.thetas()[-5:], rtol=1e-12, atol=1e-14)
    # the initial point is the iterate at `start`
    assert_allclose(tail.step_norms(), whole.step_norms()[-5:], rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("penalty", [None, "l2", "elasticnet"])
@pytest.mark.parametrize("loss", ["log_loss", "hinge", "huber", "squared_error"])
def test_training_objective_matches_reference(loss, penalty, rng):
    X = rng.normal(size=(40, 3))
    estimator = _estimator(
        loss, penalty=penalty, alpha=0.05, random_state=0, max_iter=3, tol=None
    )
    classify = isinstance(estimator, BackwardSGDClassifier)
    y = rng.integers(0, 3, size=40) if classify else rng.normal(size=40)
    weights = rng.uniform(0.5, 2, size=40)
    estimator.fit(X, y, sample_weight=weights)
    coef = np.atleast_2d(estimator.coef_)
    targets = (
        [np.where(y == c, 1.0, -1.0) for c in estimator.classes_] if classify else [y]
    )
    l2, l1 = penalty_strengths(penalty, 0.05, estimator.l1_ratio)
    expected = np.mean(
        [
            np.mean(weights * reference.loss_value(loss, t, X @ w + b, 0.3))
            + 0.5 * l2 * w @ w
            + l1 * np.abs(w).sum()
            for t, w, b in zip(targets, coef, estimator.intercept_)
        ]
    )
    got = training_objective(estimator, X, y, sample_weight=weights)
    assert_allclose(got, expected, rtol=1e-12)
    # several points at once
    both = training_objective(
        estimator,
        X,
        y,
        coef=np.stack([estimator.coef_] * 2),
        intercept=np.stack([estimator.intercept_] * 2),
        sample_weight=weights,
    )
    assert_allclose(both, [expected, expected], rtol=1e-12)


@pytest.mark.parametrize(
    "estimator, method",
    [
        (BackwardSGDRegressor(), "affine"),
        (BackwardSGDRegressor(), "replay"),
        (BackwardSGDRegressor(), "coupling"),
        (BackwardSGDClassifier(order="forward"), "auto"),
    ],
)
def test_trajectory_at_explicit_steps(estimator, method, rng):
    X = rng.normal(size=(20, 3))
    y = rng.integers(0, 2, 20) if hasattr(estimator, "predict_proba") else X[:, 0]
    estimator.set_params(batch_size=3, random_state=0)
    whole = trajectory(estimator, X, y, n_steps=40, method=method)
    steps = np.array([1, 2, 17, 18, 39, 40])
    picked = trajectory(estimator, X, y, steps=steps, method=method)
    assert_array_equal(picked.steps, steps)
    assert_allclose(picked.thetas(), whole.thetas()[steps - 1], rtol=1e-12, atol=1e-14)
    for bad in ([], [0, 1], [3, 2], [1.5]):
        with pytest.raises(ValueError, match="steps must be increasing"):
            trajectory(estimator, X, y, steps=bad)
