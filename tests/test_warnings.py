"""Every warning the package raises names the user's line, as scikit-learn's do."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from sklearn_order import (
    BackwardSGDClassifier,
    BackwardSGDRegressor,
    ContractionWarning,
    coalescence,
    trajectory,
)

X = np.random.default_rng(0).normal(size=(40, 3))
Y_REG = X @ [1.0, -2.0, 0.5]
Y_CLS = (X[:, 0] > 0).astype(int)
Y_3 = np.arange(40) % 3

# (category, the estimator's parameters, a message fragment)
CASES = {
    "convergence": (ConvergenceWarning, dict(max_iter=1, tol=10.0), "max_iter"),
    "backward-decaying": (
        UserWarning,
        dict(order="backward", learning_rate="invscaling", max_iter=3, tol=None),
        "decaying",
    ),
    "power_t": (
        FutureWarning,
        dict(power_t=-0.5, max_iter=3, tol=None),
        "power_t",
    ),
}


def _caught(category, call):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call()
    return [w for w in caught if issubclass(w.category, category)]


def _assert_named_here(found, fragment):
    assert found, f"no warning about {fragment}"
    for w in found:
        assert fragment in str(w.message)
        assert w.filename == __file__, (w.filename, str(w.message))


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize(
    "Estimator, y",
    [
        (BackwardSGDRegressor, Y_REG),
        (BackwardSGDClassifier, Y_CLS),
        (BackwardSGDClassifier, Y_3),  # one-vs-rest
    ],
)
def test_fit_warnings_name_the_callers_line(case, Estimator, y):
    category, params, fragment = CASES[case]
    model = Estimator(random_state=0, **params)
    _assert_named_here(_caught(category, lambda: model.fit(X, y)), fragment)


@pytest.mark.parametrize("case", ["backward-decaying", "power_t"])
def test_partial_fit_warnings_name_the_callers_line(case):
    category, params, fragment = CASES[case]
    params = {k: v for k, v in params.items() if k not in ("max_iter", "tol")}
    regressor = BackwardSGDRegressor(random_state=0, **params)
    _assert_named_here(
        _caught(category, lambda: regressor.partial_fit(X, Y_REG)), fragment
    )
    classifier = BackwardSGDClassifier(random_state=0, **params)
    _assert_named_here(
        _caught(category, lambda: classifier.partial_fit(X, Y_3, classes=[0, 1, 2])),
        fragment,
    )


def test_diagnostics_warnings_name_the_callers_line():
    separable = np.array([[-2.0, 0.5], [-1.0, -0.3], [1.0, 0.2], [2.0, -0.4]] * 5)
    labels = np.array([0, 0, 1, 1] * 5)
    estimator = BackwardSGDClassifier(penalty=None, eta0=0.5, random_state=0)
    found = _caught(
        ContractionWarning,
        lambda: coalescence(estimator, separable, labels, n_steps=2000, random_state=0),
    )
    _assert_named_here(found, "did not coalesce")
    decaying = BackwardSGDRegressor(learning_rate="invscaling", random_state=0)
    found = _caught(UserWarning, lambda: trajectory(decaying, X, Y_REG, n_steps=10))
    _assert_named_here(found, "decaying")
