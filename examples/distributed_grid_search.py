"""
Grid search over order on a Dask cluster
========================================

A 48-fit ``GridSearchCV`` over ``order × sampling × eta0 × batch_size``, run
serially and then on a ``dask.distributed`` cluster (here a ``LocalCluster``
of two worker processes; point ``Client`` at your scheduler instead) through
``joblib.parallel_backend("dask")``. Same ``random_state``, same answer.

Needs the ``distributed`` extra: ``pip install -e ".[distributed]"``. Not
executed when the documentation is built (it starts a cluster).
"""

# sphinx_gallery_thumbnail_path = "_static/dask_thumbnail.png"

import logging
import time

import joblib
import numpy as np
from distributed import Client, LocalCluster
from sklearn.datasets import make_classification
from sklearn.model_selection import GridSearchCV

from sklearn_order import BackwardSGDClassifier

GRID = {
    "order": ["forward", "backward"],
    "sampling": ["reshuffle", "flipflop", "grab"],
    "eta0": [0.01, 0.05],
    "batch_size": [1, 8],
}


def main():
    X, y = make_classification(
        n_samples=4000, n_features=20, flip_y=0.1, random_state=0
    )
    search = GridSearchCV(
        BackwardSGDClassifier(alpha=0.01, tol=None, max_iter=300, random_state=0),
        GRID,
        cv=2,
        n_jobs=-1,
    )
    start = time.perf_counter()
    serial = search.set_params(n_jobs=1).fit(X, y)
    serial_seconds = time.perf_counter() - start
    n_fits = len(serial.cv_results_["params"]) * 2

    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=logging.ERROR,
    ) as cluster:
        with Client(cluster) as client:
            client.run(lambda: BackwardSGDClassifier(max_iter=1).fit(X[:50], y[:50]))
            start = time.perf_counter()
            # scatter=[X, y]: every worker gets the data once, and keeps it
            # should another worker die
            with joblib.parallel_backend("dask", scatter=[X, y]):
                distributed = search.set_params(n_jobs=-1).fit(X, y)
            cluster_seconds = time.perf_counter() - start

    same = serial.best_params_ == distributed.best_params_ and np.array_equal(
        serial.cv_results_["mean_test_score"],
        distributed.cv_results_["mean_test_score"],
    )
    print(
        f"{n_fits} fits: serial {serial_seconds:.1f} s, 2-worker cluster "
        f"{cluster_seconds:.1f} s, speed-up {serial_seconds / cluster_seconds:.2f}×"
    )
    print("best parameters:", serial.best_params_)
    print("serial and distributed searches agree:", same)


if __name__ == "__main__":
    main()
