"""Beyond one machine: grid search on a Dask cluster, out-of-core partial_fit.

Each test starts a real ``LocalCluster`` (two worker processes on localhost)
and always shuts it down.
"""

import logging
import os
import signal
import threading
import time

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.model_selection import GridSearchCV

from sklearn_order import (
    BackwardSGDClassifier,
    BackwardSGDClassifierCV,
    BackwardSGDRegressor,
)

distributed = pytest.importorskip("distributed")
joblib = pytest.importorskip("joblib")
da = pytest.importorskip("dask.array")
wrappers = pytest.importorskip("dask_ml.wrappers")

GRID = {
    "order": ["forward", "backward"],
    "sampling": ["reshuffle", "flipflop", "grab"],
    "eta0": [0.02, 0.2],
    "batch_size": [1, 8],
}  # 24 candidates


@pytest.fixture
def cluster():
    """Two single-threaded worker processes; shut down whatever happens."""
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=logging.ERROR,
        memory_limit="1GiB",  # per worker: less than the out-of-core data set
    )
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close(timeout=30)
        cluster.close(timeout=30)


def _data():
    return make_classification(n_samples=300, n_features=6, flip_y=0.1, random_state=0)


def _search(X, y):
    estimator = BackwardSGDClassifier(alpha=0.01, max_iter=40, random_state=0)
    return GridSearchCV(estimator, GRID, cv=2, n_jobs=-1)


def test_grid_search_over_order_on_the_cluster_equals_serial(cluster):
    X, y = _data()
    serial = _search(X, y).set_params(n_jobs=1).fit(X, y)
    with joblib.parallel_backend("dask"):
        on_cluster = _search(X, y).fit(X, y)
    assert serial.best_params_ == on_cluster.best_params_
    assert_array_equal(
        serial.cv_results_["mean_test_score"], on_cluster.cv_results_["mean_test_score"]
    )
    # the fitted models came back as plain arrays: they predict here
    assert_array_equal(serial.predict(X), on_cluster.predict(X))


def test_cv_estimator_passes_run_on_the_cluster_as_serially(cluster):
    # each pass (fold x order x sampling) is a task; the results are the
    # serial search's, bit for bit
    X, y = make_classification(
        n_samples=300, n_features=6, n_classes=3, n_informative=4, random_state=0
    )
    search = BackwardSGDClassifierCV(
        orders=["forward", "backward"],
        samplings=["reshuffle", "grab"],
        eta0s=[0.02, 0.2],
        alphas=[1e-4, 1e-2],
        cv=3,
        max_iter=20,
        tol=None,
        random_state=0,
        n_jobs=-1,
    )
    serial = clone(search).set_params(n_jobs=1).fit(X, y)
    with distributed.get_task_stream(cluster) as tasks:
        with joblib.parallel_backend("dask"):
            on_cluster = clone(search).fit(X, y)
    assert len(tasks.data) >= 3 * 2 * 2  # every pass ran on the workers
    for key in serial.cv_results_:
        if "time" not in key and key != "params":
            assert_array_equal(on_cluster.cv_results_[key], serial.cv_results_[key])
    assert on_cluster.best_params_ == serial.best_params_
    assert_array_equal(on_cluster.coef_, serial.coef_)


def test_a_worker_that_dies_mid_search_does_not_lose_it(cluster):
    # joblib's dask backend scatters every argument over 1 kB to *one* worker,
    # and scattered data lost with its worker cannot be recovered. So: the
    # data are broadcast to every worker (scatter=[X, y]) and the folds are
    # small enough (index arrays under 1 kB) to travel inside the tasks; then
    # killing a worker loses only running fits, which dask reschedules.
    X, y = make_classification(n_samples=200, n_features=6, flip_y=0.1, random_state=0)
    search = GridSearchCV(
        BackwardSGDClassifier(alpha=0.01, tol=None, max_iter=2000, random_state=0),
        GRID,
        cv=2,
        n_jobs=-1,
    )
    start = time.perf_counter()
    serial = clone(search).set_params(n_jobs=1).fit(X, y)
    serial_seconds = time.perf_counter() - start
    pids = list(cluster.run(os.getpid).values())

    def kill_one_worker():
        time.sleep(serial_seconds / 4)  # the search is under way
        os.kill(pids[0], signal.SIGKILL)

    killer = threading.Thread(target=kill_one_worker)
    killer.start()
    start = time.perf_counter()
    with joblib.parallel_backend("dask", scatter=[X, y]):
        on_cluster = clone(search).fit(X, y)
    parallel_seconds = time.perf_counter() - start
    killer.join()
    assert parallel_seconds > serial_seconds / 4  # it died during the search
    assert pids[0] not in cluster.run(os.getpid).values()
    assert serial.best_params_ == on_cluster.best_params_
    assert_array_equal(
        serial.cv_results_["mean_test_score"], on_cluster.cv_results_["mean_test_score"]
    )


@pytest.mark.parametrize("order", ["forward", "backward"])
@pytest.mark.parametrize("Estimator", [BackwardSGDClassifier, BackwardSGDRegressor])
def test_out_of_core_partial_fit_with_incremental(cluster, Estimator, order):
    # 1.2 GB of float64 in 48 chunks, more than one worker's 1 GiB budget:
    # the chunks are made on the workers and never held at once.
    n, d, rows = 1_536_000, 100, 32_000
    X = da.random.RandomState(0).normal(size=(n, d), chunks=(rows, d))
    weights = np.linspace(-1, 1, d)
    target = X @ weights
    y = (target > 0).astype(int) if Estimator is BackwardSGDClassifier else target
    assert X.nbytes > 2**30 and X.numblocks[0] == 48
    model = Estimator(order=order, batch_size=16, alpha=1e-3, random_state=0)
    fit_params = {"classes": [0, 1]} if Estimator is BackwardSGDClassifier else {}
    incremental = wrappers.Incremental(model, shuffle_blocks=False)
    incremental.fit(X, y, **fit_params)
    fitted = incremental.estimator_
    assert fitted.t_ == n // 16
    # the same as partial_fit over the same chunks, in order, in this process
    reference = Estimator(order=order, batch_size=16, alpha=1e-3, random_state=0)
    for block in range(3):  # (the first chunks: the whole stream would be slow here)
        reference.partial_fit(
            X.blocks[block].compute(), y.blocks[block].compute(), **fit_params
        )
    partial = (
        wrappers.Incremental(
            Estimator(order=order, batch_size=16, alpha=1e-3, random_state=0),
            shuffle_blocks=False,
        )
        .fit(X[: 3 * rows], y[: 3 * rows], **fit_params)
        .estimator_
    )
    assert_array_equal(partial.coef_, reference.coef_)
    # and it learned the problem
    sample = slice(0, 20_000)
    assert fitted.score(X[sample].compute(), y[sample].compute()) > 0.9
