"""Large targets: reaching the derivative's clipping bound is not divergence.

The loss derivative is clipped to ``±1e12`` as in scikit-learn. A target of
1e12 or more reaches the bound at ``θ = 0``; the clipped steps then walk the
predictions toward it, and the fit must end where scikit-learn's does. Targets
that no ``max_iter`` epochs of clipped steps can reach are refused with a
``ValueError`` that says so, and a step that really diverges is still a
``DivergenceError``.
"""

import functools
import warnings

import numpy as np
import pytest
from scipy import sparse
from sklearn.linear_model import SGDRegressor

from sklearn_order import BackwardSGDRegressor, DivergenceError, trajectory

SCALES = [1e12, 1e13, 1e14]


def _data(scale):
    """The issue's data: two standard normal features, targets ``scale + x·(1, 2)``."""
    X = np.random.default_rng(0).normal(size=(100, 2))
    return X, scale + X @ [1.0, 2.0]


def _storage(X, storage):
    return sparse.csr_matrix(X) if storage == "csr" else X


@functools.cache
def _scikit_learn_r2(scale):
    """R² of scikit-learn's ``SGDRegressor`` with a constant step of 0.01."""
    X, y = _data(scale)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = SGDRegressor(learning_rate="constant", eta0=0.01, random_state=0)
        return model.fit(X, y).score(X, y)


@pytest.mark.parametrize("storage", ["dense", "csr"])
@pytest.mark.parametrize("order", ["forward", "backward"])
@pytest.mark.parametrize("scale", SCALES)
def test_large_targets_fit_as_scikit_learn_with_the_default_step(scale, order, storage):
    # before: DivergenceError in epoch 1 ("... or use eta0='auto'", in use)
    X, y = _data(scale)
    X = _storage(X, storage)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # backward may use all of max_iter
        model = BackwardSGDRegressor(order=order, random_state=0).fit(X, y)
    reference = _scikit_learn_r2(scale)
    assert reference > 0.99  # scikit-learn fits them
    assert model.score(X, y) >= reference - 1e-3
    assert model.eta0_ > 0.01  # the step was "auto", not scikit-learn's


def test_clipped_steps_are_scikit_learns():
    """Forward cyclic single-row SGD takes scikit-learn's clipped steps
    exactly: the first 200 maps are clipped (the residual starts at 2e12 and
    the intercept moves 0.01 · 1e12 a map). Dense rows: on sparse rows
    scikit-learn scales the intercept's step by 0.01 (a documented difference).
    """
    X, y = _data(2e12)
    params = dict(learning_rate="constant", eta0=0.01, alpha=1e-4, max_iter=3, tol=None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = SGDRegressor(shuffle=False, **params).fit(X, y)
    ours = BackwardSGDRegressor(
        order="forward", sampling="cyclic", batch_size=1, **params
    ).fit(X, y)
    np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=1e-9)
    np.testing.assert_allclose(ours.intercept_, theirs.intercept_, rtol=1e-12)


@pytest.mark.parametrize("storage", ["dense", "csr"])
@pytest.mark.parametrize("order", ["forward", "backward"])
def test_targets_beyond_reach_are_refused_as_too_large(order, storage):
    X, y = _data(1e30)
    model = BackwardSGDRegressor(order=order, random_state=0)
    with pytest.raises(ValueError) as error:
        model.fit(_storage(X, storage), y)
    message = str(error.value)
    assert not isinstance(error.value, DivergenceError)  # not a step problem
    assert "targets are too large for the clipped loss derivative" in message
    assert "TransformedTargetRegressor" in message
    assert "max_iter=1000" in message
    assert "eta0" not in message
    with pytest.raises(ValueError, match="targets are too large"):
        model.partial_fit(_storage(X, storage), y)


def test_the_reach_counts_max_iter():
    """The same targets fit with enough epochs and are refused with too few:
    the bound is the reach of ``max_iter`` epochs of clipped steps."""
    X, y = _data(1e16)  # about 1e16 / 1e12 = 1e4 clipped maps from θ = 0
    with pytest.raises(ValueError, match="max_iter=10 epochs"):
        BackwardSGDRegressor(max_iter=10, random_state=0).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = BackwardSGDRegressor(
            order="forward", max_iter=1000, random_state=0
        ).fit(X, y)
    assert abs(model.intercept_[0] - 1e16) < 1e-6 * 1e16


@pytest.mark.parametrize("order", ["forward", "backward"])
def test_a_diverging_step_on_large_targets_is_still_divergence(order):
    X, y = _data(1e13)
    model = BackwardSGDRegressor(order=order, eta0=100.0, random_state=0)
    with pytest.raises(DivergenceError, match="eta0=100") as error:
        model.fit(X, y)
    assert "grew past what the targets explain" in str(error.value)


def test_the_message_never_advises_the_step_in_use():
    """With ``eta0="auto"`` a numerical failure does not advise ``eta0='auto'``."""
    from sklearn_order._problem import DERIVATIVE_AT_BOUND, Problem
    from sklearn_order.diagnostics import training_problems

    X, y = _data(0.0)
    model = BackwardSGDRegressor(random_state=0)
    _, problems = training_problems(model, X, y)
    assert isinstance(problems[0], Problem) and problems[0].auto_step
    message = str(problems[0]._divergence_error(DERIVATIVE_AT_BOUND, 0))
    assert "The step was eta0='auto' (=" in message
    assert "use eta0='auto'" not in message
    assert "too large" not in message
    _, problems = training_problems(model.set_params(eta0=0.5), X, y)
    message = str(problems[0]._divergence_error(DERIVATIVE_AT_BOUND, 0))
    assert "use eta0='auto'" in message


def test_trajectory_on_large_targets_replays_the_clipped_maps():
    """The affine path composes unclipped maps: with targets at the bound
    ``"auto"`` replays the maps instead, and ``"affine"`` says why it cannot
    (before: a DivergenceError from either)."""
    X, y = _data(2e12)
    model = BackwardSGDRegressor(random_state=0)
    path = trajectory(model, X, y, n_steps=300)
    assert path.method != "affine"
    replayed = trajectory(model, X, y, n_steps=300, method="replay")
    np.testing.assert_array_equal(path.coef, replayed.coef)
    assert abs(path.intercept[-1, 0] - 2e12) < 1e3
    with pytest.raises(ValueError, match="Use method='replay'") as error:
        trajectory(model, X, y, n_steps=300, method="affine")
    assert not isinstance(error.value, DivergenceError)
