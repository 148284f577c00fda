"""A problem's fit state is typed (FitState), its own, and fresh in every copy;
the backward trajectory takes the problem as an argument (its engine's chains
on the CPU)."""

import dataclasses

import numpy as np
from numpy.testing import assert_array_equal

from sklearn_order import BackwardSGDRegressor
from sklearn_order import _backward_trajectory as backward
from sklearn_order._engine import SingleEngine, build_engine
from sklearn_order._problem import FitState, GrabState, Problem
from sklearn_order._spec import FitSpec
from sklearn_order._training import build_problems


def _problem(rng, **params):
    X = rng.normal(size=(30, 3))
    y = X @ np.array([1.0, -2.0, 0.5])
    estimator = BackwardSGDRegressor(order="forward", random_state=0, **params)
    return build_problems(
        FitSpec.from_estimator(estimator), X, [y], [np.ones(30)], seed=4
    )[0]


def test_forward_calls_keep_grab_and_the_running_mean_as_typed_state(rng):
    problem = _problem(rng, sampling="grab", average=True)
    assert problem.state == FitState()
    coef, intercept = np.zeros(3), np.zeros(1)
    problem.run_epochs(
        coef, intercept, first_epoch=0, n_epochs=2, reverse=False, t_start=0, eta=0.01
    )
    assert isinstance(problem.state.grab, GrabState)
    assert problem.state.grab.table.shape == (2, 30)
    assert problem.state.running_mean.shape == (problem.n_parameters,)
    assert problem.state.running_mean is problem.running_average()
    assert problem.state.fit_token is None


def test_a_copy_starts_with_its_own_empty_state(rng):
    problem = _problem(rng, average=True)
    problem.running_average()[:] = 1.0
    copy = dataclasses.replace(problem)
    assert copy.state == FitState()
    assert copy.state is not problem.state
    assert_array_equal(problem.state.running_mean, np.ones(problem.n_parameters))


def test_the_backward_trajectory_takes_the_problem(rng):
    problem = _problem(rng)
    assert not hasattr(Problem, "backward_iterates")
    theta0 = np.zeros(problem.n_parameters)
    engine = build_engine([problem], [(theta0[:-1].copy(), theta0[-1:].copy())])
    assert isinstance(engine, SingleEngine) and engine.couples_chains  # on the CPU
    chains, n_maps, bounds = backward.backward_iterates(problem, [3, 7], theta0, 0.01)
    assert_array_equal(engine.backward_iterates(0, [3, 7], 0.01)[0], chains)
    affine = backward.backward_affine_iterates(problem, 7, 1, theta0, 0.01)
    # the affine composition's iterates are the chains' (to rounding)
    np.testing.assert_allclose(chains, affine[[2, 6]], rtol=1e-12, atol=1e-14)
    assert n_maps <= 10 and not bounds.any()
