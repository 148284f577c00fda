"""Backward trajectories by coupling: bitwise the replay's, interruptible, budgeted."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numba
import numpy as np
import pytest
from numpy.testing import assert_array_equal
from scipy import sparse

import sklearn_order._backward_trajectory as backward
import sklearn_order._problem as problem_module
from sklearn_order import BackwardSGDClassifier, BackwardSGDRegressor, trajectory
from sklearn_order.diagnostics import _prepared

ROOT = Path(__file__).resolve().parents[1]

# strongly regularized: some chains meet bit for bit within a few hundred maps
MEETING = dict(alpha=1.0, eta0=0.9)
# weakly regularized: chains stay an ulp apart or more, never meet
APART = dict(alpha=1e-4, eta0=0.05)


def _data(rng, n=40, d=2, dtype=np.float64, storage="dense", classes=3):
    X = rng.normal(size=(n, d)).astype(dtype)
    X[rng.random(size=X.shape) < 0.3] = 0.0
    y = rng.integers(0, classes, n)
    if storage == "csr":
        X = sparse.csr_matrix(X)
    return X, y


def _one_call_chains(estimator, X, y, steps):
    """Each ``θ̃_k`` as one uninterrupted reversed kernel call (the former replay)."""
    estimator, data, problems = _prepared(estimator, X, y, None, None, None)
    rows = []
    for k in steps:
        per_output = []
        for c, problem in enumerate(problems):
            coef, intercept = data.coef[c].copy(), data.intercept[c : c + 1].copy()
            assert problem._maps_per_call(0) >= k  # one kernel call
            problem.apply_maps(
                coef,
                intercept,
                first_step=0,
                n_steps=int(k),
                reverse=True,
                eta=float(estimator.eta0),
            )
            per_output.append(np.append(coef, intercept))
        rows.append(
            np.concatenate([p[:-1] for p in per_output] + [[p[-1] for p in per_output]])
        )
    return np.array(rows)


def _maps(estimator, X, y, steps, coupling):
    """Maps each output's backward iterates applied, and the iterates."""
    estimator, data, problems = _prepared(estimator, X, y, None, None, None)
    counts, iterates = [], []
    for c, problem in enumerate(problems):
        theta0 = np.append(data.coef[c], data.intercept[c])
        out, n_maps, _ = backward.backward_iterates(
            problem, steps, theta0, float(estimator.eta0), coupling=coupling
        )
        counts.append(n_maps)
        iterates.append(out)
    return counts, iterates


@pytest.mark.parametrize("regime", ["meeting", "apart"])
@pytest.mark.parametrize("storage", ["dense", "csr"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    "Estimator, loss",
    [
        (BackwardSGDClassifier, "log_loss"),
        (BackwardSGDClassifier, "hinge"),
        (BackwardSGDClassifier, "modified_huber"),
        (BackwardSGDRegressor, "huber"),
    ],
)
def test_coupling_is_bitwise_the_replay(Estimator, loss, dtype, storage, regime, rng):
    X, y = _data(rng, dtype=dtype, storage=storage)
    if Estimator is BackwardSGDRegressor:
        y = rng.normal(size=X.shape[0])
    params = MEETING if regime == "meeting" else APART
    estimator = Estimator(loss=loss, batch_size=2, random_state=3, **params)
    steps = np.arange(1, 401)
    coupled = trajectory(estimator, X, y, n_steps=400, method="coupling")
    replay = trajectory(estimator, X, y, n_steps=400, method="replay")
    assert coupled.method == "coupling" and replay.method == "replay"
    assert coupled.thetas().tobytes() == replay.thetas().tobytes()
    # the replay is the former one-call replay, bit for bit
    former = _one_call_chains(estimator, X, y, steps[::37])
    assert replay.thetas()[steps[::37] - 1].tobytes() == former.tobytes()
    counts, _ = _maps(estimator, X, y, steps, coupling=True)
    full = int(steps.sum())
    if regime == "meeting" and storage == "dense":
        # chains did meet: fewer maps than the replay's
        assert max(counts) < full
    elif regime == "apart":
        assert min(counts) == full
    # (CSR rows with an L2 penalty keep the weights lazily scaled, and two
    # chains at the same level are at different scales: they never meet)


@pytest.mark.parametrize(
    "request_", [dict(n_steps=300, every=7), dict(n_steps=300, every=30, start=90)]
)
def test_coupling_on_spaced_records(request_, rng):
    X, y = _data(rng, classes=2)
    estimator = BackwardSGDClassifier(batch_size=1, random_state=0, **MEETING)
    coupled = trajectory(estimator, X, y, method="coupling", **request_)
    replay = trajectory(estimator, X, y, method="replay", **request_)
    assert coupled.thetas().tobytes() == replay.thetas().tobytes()
    assert coupled.initial_coef.tobytes() == replay.initial_coef.tobytes()
    steps = np.array([5, 6, 150, 151, 299, 300])
    coupled = trajectory(estimator, X, y, steps=steps, method="coupling")
    replay = trajectory(estimator, X, y, steps=steps, method="replay")
    assert coupled.thetas().tobytes() == replay.thetas().tobytes()


def test_coupling_does_not_depend_on_threads_calls_or_ring(rng, monkeypatch):
    X, y = _data(rng, classes=2)
    estimator = BackwardSGDClassifier(batch_size=1, random_state=1, **MEETING)
    expected = trajectory(estimator, X, y, n_steps=500, method="replay").thetas()
    before = numba.get_num_threads()
    try:
        for threads in (1, numba.config.NUMBA_NUM_THREADS):
            numba.set_num_threads(threads)
            for work, window, ring_bytes in ((10**8, 4096, 2**24), (50, 40, 1600)):
                # kernel calls of a few maps; a short window; rings of few slots
                monkeypatch.setattr(problem_module, "_WORK_PER_CALL", work)
                monkeypatch.setattr(backward, "COUPLING_WINDOW", window)
                monkeypatch.setattr(backward, "RING_BYTES", ring_bytes)
                path = trajectory(estimator, X, y, n_steps=500, method="coupling")
                assert path.thetas().tobytes() == expected.tobytes()
    finally:
        numba.set_num_threads(before)


def test_affine_trajectory_in_several_calls_is_unchanged(rng, monkeypatch):
    X = rng.normal(size=(30, 4))
    y = X @ rng.normal(size=4)
    estimator = BackwardSGDRegressor(batch_size=3, random_state=0)
    whole = trajectory(estimator, X, y, n_steps=200, every=3, method="affine")
    monkeypatch.setattr(problem_module, "_WORK_PER_CALL", 500)  # a few maps a call
    pieces = trajectory(estimator, X, y, n_steps=200, every=3, method="affine")
    assert pieces.thetas().tobytes() == whole.thetas().tobytes()


def test_requests_beyond_the_budget_are_refused(rng):
    X, y = _data(rng, classes=2)
    estimator = BackwardSGDClassifier(batch_size=1, random_state=0, **APART)
    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"steps=\[…\] needs at least .*max_maps="):
        trajectory(estimator, X, y, steps=[2**62])
    with pytest.raises(ValueError, match="n_steps=2000000000 needs at least"):
        trajectory(estimator, X, y, n_steps=2 * 10**9)
    assert time.perf_counter() - start < 5.0
    # the replay's cost is known: refused before any work
    with pytest.raises(ValueError, match=r"n_steps=100 needs 5,050 update maps"):
        trajectory(estimator, X, y, n_steps=100, method="replay", max_maps=5000)
    # coupling: stopped once the budget is spent (these chains never meet)
    with pytest.raises(ValueError, match=r"needs more than .* raise max_maps"):
        trajectory(estimator, X, y, n_steps=100, method="coupling", max_maps=5000)
    # one-vs-rest: the budget covers every output
    X3, y3 = _data(rng, classes=3)
    with pytest.raises(ValueError, match="at least 300 update maps"):
        trajectory(estimator, X3, y3, n_steps=100, max_maps=299)
    path = trajectory(estimator, X, y, n_steps=100, max_maps=5050)
    assert path.coef.shape == (100, 1, 2)
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="max_maps must be an integer"):
            trajectory(estimator, X, y, n_steps=10, max_maps=bad)


def _child(code, env=None, timeout=300):
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_ctrl_c_stops_a_long_trajectory_within_a_second():
    child = _child(
        """
        import time
        import numpy as np
        from sklearn_order import BackwardSGDClassifier, trajectory
        rng = np.random.default_rng(0)
        X = rng.normal(size=(60, 5)); y = (X[:, 0] > 0).astype(int)
        model = BackwardSGDClassifier(alpha=1e-6, batch_size=1, random_state=0)
        trajectory(model, X, y, n_steps=50)  # compile first
        X_before = X.copy()
        print("running", flush=True)
        try:
            trajectory(model, X, y, max_maps=10**12)  # minutes of work
        except KeyboardInterrupt:
            print(time.time(), np.array_equal(X, X_before), flush=True)
        """
    )
    try:
        assert child.stdout.readline().strip() == "running"
        time.sleep(0.5)
        sent = time.time()
        child.send_signal(signal.SIGINT)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    caught, untouched = child.stdout.read().split()
    assert untouched == "True", child.stderr.read()
    assert float(caught) - sent < 1.0


def test_concurrent_trajectories_match_serial():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = rng.integers(0, 3, 40)
    models = [
        BackwardSGDClassifier(alpha=a, batch_size=2, random_state=0)
        for a in (1.0, 0.1, 0.01, 1e-4)
    ]

    def run(model):
        return trajectory(model, X, y, n_steps=300).thetas()

    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(run, models))
    alone = [run(model) for model in models]
    assert all(a.tobytes() == b.tobytes() for a, b in zip(together, alone))


@pytest.mark.parametrize("storage", ["dense", "csr"])
@pytest.mark.parametrize(
    "Estimator, loss",
    [
        (BackwardSGDClassifier, "log_loss"),
        (BackwardSGDClassifier, "modified_huber"),
        (BackwardSGDClassifier, "squared_hinge"),
        (BackwardSGDRegressor, "huber"),
    ],
)
@pytest.mark.parametrize("tol", [1e-10, 1e-6])
def test_coupling_tolerance_bounds_the_error(Estimator, loss, storage, tol, rng):
    X, y = _data(rng, n=60, d=4, storage=storage)
    X = 0.3 * X  # small rows: a large step is non-expansive
    if Estimator is BackwardSGDRegressor:
        y = rng.normal(size=X.shape[0])
    # no intercept: the L2 decay contracts every parameter (the intercept
    # contracts only as fast as the loss curves)
    estimator = Estimator(
        loss=loss,
        alpha=1.0,
        eta0=0.3,
        batch_size=1,
        fit_intercept=False,
        random_state=0,
    )
    steps = np.arange(1, 801)
    replay = trajectory(estimator, X, y, n_steps=800, method="replay")
    coupled = trajectory(estimator, X, y, n_steps=800, coupling_tol=tol)
    assert coupled.method == "coupling"
    n_records = len(steps)
    for output in range(coupled.intercept.shape[1]):

        def params(path, o=output):
            coef = path.coef.reshape(n_records, -1, X.shape[1])[:, o]
            return np.column_stack([coef, path.intercept[:, o]])

        error = np.linalg.norm(params(coupled) - params(replay), axis=1)
        assert error.max() <= coupled.error_bound * (1 + 1e-9) + 1e-15
    assert 0.0 < coupled.error_bound <= tol
    # the chains met within the tolerance: fewer maps than the replay's
    counts, _ = _maps_with_tol(estimator, X, y, steps, tol)
    assert max(counts) < 0.5 * steps.sum()


def _maps_with_tol(estimator, X, y, steps, tol):
    estimator, data, problems = _prepared(estimator, X, y, None, None, None)
    counts, bounds = [], []
    for c, problem in enumerate(problems):
        theta0 = np.append(data.coef[c], data.intercept[c])
        _, n_maps, bound = backward.backward_iterates(
            problem, steps, theta0, float(estimator.eta0), tol=tol
        )
        counts.append(n_maps)
        bounds.append(bound)
    return counts, bounds


def test_coupling_tolerance_needs_non_expansive_maps(rng):
    X, y = _data(rng, classes=2)
    with pytest.raises(ValueError, match="needs a smooth loss"):
        trajectory(
            BackwardSGDClassifier(loss="hinge"), X, y, n_steps=10, coupling_tol=1e-6
        )
    with pytest.raises(ValueError, match="needs non-expansive maps"):
        trajectory(
            BackwardSGDClassifier(eta0=10.0), X, y, n_steps=10, coupling_tol=1e-6
        )
    with pytest.raises(ValueError, match="method='replay' is exact"):
        trajectory(
            BackwardSGDClassifier(),
            X,
            y,
            n_steps=10,
            method="replay",
            coupling_tol=1e-6,
        )
    for bad in (-1.0, np.inf, np.nan, "1e-6", True):
        with pytest.raises(ValueError, match="coupling_tol must be a finite number"):
            trajectory(BackwardSGDClassifier(), X, y, n_steps=10, coupling_tol=bad)
    # the exact paths ignore it
    forward = BackwardSGDClassifier(order="forward", random_state=0)
    assert_array_equal(
        trajectory(forward, X, y, n_steps=10, coupling_tol=1e-6).thetas(),
        trajectory(forward, X, y, n_steps=10).thetas(),
    )
