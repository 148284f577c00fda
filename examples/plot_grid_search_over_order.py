"""
Grid search over the iteration order
====================================

Tunes ``Pipeline(StandardScaler(), BackwardSGDClassifier())`` by
``GridSearchCV`` over the composition order, the sampling scheme and the
learning rate, in parallel processes, and shows that the result is the same
as a serial search with the same ``random_state``.

Run: ``python examples/plot_grid_search_over_order.py``
"""

import time

import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_order import BackwardSGDClassifier
from sklearn_order.orders import ORDERS
from sklearn_order.sampling import SAMPLINGS

PARAM_GRID = {
    "backwardsgdclassifier__order": list(ORDERS),
    "backwardsgdclassifier__sampling": list(SAMPLINGS),
    "backwardsgdclassifier__eta0": [0.05, 0.2],
}


def search(X, y, n_jobs):
    """The fitted grid search."""
    pipe = make_pipeline(
        StandardScaler(),
        BackwardSGDClassifier(alpha=0.01, batch_size=8, random_state=0),
    )
    return GridSearchCV(pipe, PARAM_GRID, cv=3, n_jobs=n_jobs).fit(X, y)


def main():
    """Run the search serially and on two processes; compare."""
    X, y = load_breast_cancer(return_X_y=True)
    results = {}
    for n_jobs in (1, 2):
        start = time.perf_counter()
        results[n_jobs] = search(X, y, n_jobs)
        print(f"n_jobs={n_jobs}: {time.perf_counter() - start:.1f} s")
    serial, parallel = results[1], results[2]
    print("best parameters:", serial.best_params_)
    print(f"best cross-validated accuracy: {serial.best_score_:.4f}")
    same = serial.best_params_ == parallel.best_params_ and np.array_equal(
        serial.cv_results_["mean_test_score"], parallel.cv_results_["mean_test_score"]
    )
    print("serial and parallel searches agree:", same)
    ranking = np.argsort(serial.cv_results_["rank_test_score"])
    print("\nrank  score   order     sampling          eta0")
    for i in ranking:
        params = serial.cv_results_["params"][i]
        print(
            f"{serial.cv_results_['rank_test_score'][i]:>4}  "
            f"{serial.cv_results_['mean_test_score'][i]:.4f}  "
            f"{params['backwardsgdclassifier__order']:<9} "
            f"{params['backwardsgdclassifier__sampling']:<17} "
            f"{params['backwardsgdclassifier__eta0']}"
        )


main()
