"""Long fits return to Python often: Ctrl-C stops them quickly and changes nothing."""

import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from sklearn_order import (
    BackwardSGDClassifier,
    BackwardSGDRegressor,
    _problem,
    trajectory,
)

LONG_FIT = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    from sklearn_order import BackwardSGDRegressor
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100_000, 50)); y = X[:, 0]
    model = BackwardSGDRegressor(order=sys.argv[1], max_iter=1, tol=None,
                                 random_state=0).fit(X[:100], y[:100])
    before = model.coef_.copy()
    model.set_params(max_iter=10_000)
    print("fitting", flush=True)
    try:
        model.fit(X, y)
    except KeyboardInterrupt:
        stopped = time.perf_counter()
        same = model.coef_.shape == before.shape and (model.coef_ == before).all()
        print("interrupted", stopped, same, model.n_features_in_, flush=True)
    """
)


@pytest.mark.parametrize("order", ["forward", "backward"])
def test_ctrl_c_stops_a_long_fit_within_a_second_and_keeps_the_estimator(order):
    process = subprocess.Popen(
        [sys.executable, "-c", LONG_FIT, order], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout.readline().strip() == "fitting"
        time.sleep(1.5)  # well into the fit (compiled kernels load from cache)
        sent = time.perf_counter()
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=30)
    finally:
        process.kill()
    words = out.split()
    assert words[0] == "interrupted", out
    assert float(words[1]) - sent < 1.0
    assert words[2] == "True"  # coefficients as before the interrupted fit
    assert words[3] == "50"  # not even n_features_in_ changed (it was 50)


@pytest.mark.parametrize("sampling", ["reshuffle", "grab"])
@pytest.mark.parametrize("order", ["forward", "backward"])
def test_splitting_a_fit_into_many_kernel_calls_changes_nothing(
    order, sampling, monkeypatch
):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(60, 4)), rng.integers(0, 3, size=60)
    params = dict(
        order=order,
        sampling=sampling,
        batch_size=4,
        tol=None,
        max_iter=5,
        random_state=0,
    )
    whole = BackwardSGDClassifier(**params).fit(X, y)
    path = trajectory(BackwardSGDRegressor(**params), X, X[:, 0], every=3)
    monkeypatch.setattr(_problem, "_WORK_PER_CALL", 7)  # one map per call
    pieces = BackwardSGDClassifier(**params).fit(X, y)
    assert_array_equal(pieces.coef_, whole.coef_)
    assert_array_equal(pieces.intercept_, whole.intercept_)
    assert_array_equal(
        trajectory(BackwardSGDRegressor(**params), X, X[:, 0], every=3).thetas(),
        path.thetas(),
    )
