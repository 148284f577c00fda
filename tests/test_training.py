"""The outputs' workers return their fits: every joblib backend gives the serial model.

Under a process backend (loky, multiprocessing, Dask) a worker that wrote into
arrays captured from the caller would write into its own copy; the fitted
coefficients would silently stay zero.
"""

import _thread
import logging
import threading
import time

import joblib
import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.datasets import load_iris
from sklearn.model_selection import GridSearchCV

import sklearn_order._training as training
from sklearn_order import BackwardSGDClassifier

CONFIGURATIONS = [
    dict(order="forward"),
    dict(order="forward", average=True),
    dict(order="backward"),
    dict(order="forward", multi_class="multinomial"),
]


def _iris():
    X, y = load_iris(return_X_y=True)
    return (X - X.mean(axis=0)) / X.std(axis=0), y


def _fit(params, n_jobs):
    X, y = _iris()
    model = BackwardSGDClassifier(
        n_jobs=n_jobs, random_state=0, max_iter=20, eta0=0.05, **params
    )
    return model.fit(X, y)


@pytest.mark.parametrize("params", CONFIGURATIONS)
@pytest.mark.parametrize("backend", ["threading", "loky", "multiprocessing"])
def test_one_vs_rest_under_every_backend_equals_serial(backend, params):
    serial = _fit(params, n_jobs=1)
    with joblib.parallel_backend(backend, n_jobs=2):
        parallel = _fit(params, n_jobs=2)
    assert serial.coef_.any()
    assert_array_equal(parallel.coef_, serial.coef_)
    assert_array_equal(parallel.intercept_, serial.intercept_)
    assert parallel.n_iter_ == serial.n_iter_


@pytest.mark.parametrize("order", ["forward", "backward"])
@pytest.mark.parametrize("average", [False, True])
def test_partial_fit_under_a_process_backend_equals_serial(order, average):
    if order == "backward" and average:
        pytest.skip("average is defined for the forward order only")
    X, y = _iris()
    models = []
    for n_jobs, backend in ((1, "threading"), (2, "loky")):
        model = BackwardSGDClassifier(
            order=order, average=average, n_jobs=n_jobs, random_state=0, eta0=0.05
        )
        with joblib.parallel_backend(backend, n_jobs=n_jobs):
            for chunk in np.array_split(np.arange(len(y)), 3):
                model.partial_fit(X[chunk], y[chunk], classes=np.unique(y))
        models.append(model)
    assert models[0].coef_.any()
    assert_array_equal(models[1].coef_, models[0].coef_)
    assert_array_equal(models[1].intercept_, models[0].intercept_)


@pytest.fixture
def dask_client():
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=logging.ERROR,
    )
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close(timeout=30)
        cluster.close(timeout=30)


def test_one_vs_rest_and_grid_search_on_a_dask_cluster_equal_serial(dask_client):
    X, y = _iris()
    for params in CONFIGURATIONS[:3]:
        serial = _fit(params, n_jobs=1)
        with joblib.parallel_backend("dask"):
            on_cluster = _fit(params, n_jobs=2)
        assert_array_equal(on_cluster.coef_, serial.coef_)
        assert_array_equal(on_cluster.intercept_, serial.intercept_)
    grid = {"order": ["forward", "backward"], "eta0": [0.01, 0.1]}

    def search(n_jobs):
        model = BackwardSGDClassifier(n_jobs=2, max_iter=20, random_state=0)
        return GridSearchCV(model, grid, cv=2, n_jobs=n_jobs)

    serial = search(1).fit(X, y)
    with joblib.parallel_backend("dask", scatter=[X, y]):  # the documented recipe
        on_cluster = search(-1).fit(X, y)
    assert serial.best_params_ == on_cluster.best_params_
    assert_array_equal(
        serial.cv_results_["mean_test_score"], on_cluster.cv_results_["mean_test_score"]
    )
    assert_array_equal(serial.best_estimator_.coef_, on_cluster.best_estimator_.coef_)


def test_thread_workers_stop_soon_after_the_caller_is_interrupted(monkeypatch):
    """Ctrl-C during a one-vs-rest fit in threads: the caller raises at once,
    restored, and every worker stops within a fraction of a second."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100_000, 50))
    y = rng.integers(0, 4, size=len(X))
    # a million epochs without tolerance: the workers are still fitting when
    # the signal comes, however fast the machine
    model = BackwardSGDClassifier(n_jobs=2, max_iter=20, tol=None, random_state=0)
    model.fit(X[:200], y[:200])  # compiled, and a fitted state to restore
    before = model.coef_.copy()
    model.set_params(max_iter=10**6)
    finished = []
    original = training.fit_outputs

    def recorded(*args, **kwargs):
        try:
            return original(*args, **kwargs)
        finally:
            finished.append(time.perf_counter())

    monkeypatch.setattr(training, "fit_outputs", recorded)
    threading.Timer(1.0, _thread.interrupt_main).start()
    with pytest.raises(KeyboardInterrupt):
        model.fit(X, y)
    interrupted = time.perf_counter()
    assert_array_equal(model.coef_, before)
    # wait for the two workers that were running (a worker that never stops
    # fails here, after a minute, rather than passing unseen)
    deadline = interrupted + 60.0
    while len(finished) < 2 and time.perf_counter() < deadline:
        time.sleep(0.01)
    assert len(finished) >= 2
    # each stops after its current kernel call (~0.1 s of work; more on a
    # loaded machine), not after the hours the fit had left
    assert max(finished) - interrupted < 1.0
