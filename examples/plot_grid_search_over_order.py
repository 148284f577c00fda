"""
Grid search over the iteration order
====================================

Tunes ``Pipeline(StandardScaler(), BackwardSGDClassifier())`` by
``GridSearchCV`` over the composition order, the sampling scheme and the
learning rate, in parallel processes, and shows that the result is the same
as a serial search with the same ``random_state``. Every kernel is compiled
(or loaded from the cache) by a warm-up fit before either search is timed,
so the two times compare the searches, not the compilation.

Run: ``python examples/plot_grid_search_over_order.py``
"""

import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_order import BackwardSGDClassifier
from sklearn_order.orders import ORDERS
from sklearn_order.sampling import SAMPLINGS

KEY = "backwardsgdclassifier__"
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


def warm_up(X, y):
    """Compile (or load) every order × sampling kernel before anything is timed."""
    for order in ORDERS:
        for sampling in SAMPLINGS:
            BackwardSGDClassifier(
                order=order, sampling=sampling, max_iter=1, tol=None, batch_size=8
            ).fit(X, y)


def plot(search):
    """Mean cross-validated accuracy of each order × sampling, per eta0."""
    results = search.cv_results_
    labels = [f"{order}\n{sampling}" for order in ORDERS for sampling in SAMPLINGS]
    figure, axis = plt.subplots(figsize=(9, 3.8))
    width = 0.4
    for offset, eta0 in zip((-width / 2, width / 2), PARAM_GRID[KEY + "eta0"]):
        scores = [
            results["mean_test_score"][i]
            for order in ORDERS
            for sampling in SAMPLINGS
            for i, params in enumerate(results["params"])
            if params[KEY + "order"] == order
            and params[KEY + "sampling"] == sampling
            and params[KEY + "eta0"] == eta0
        ]
        axis.bar(np.arange(len(labels)) + offset, scores, width, label=f"eta0={eta0}")
    axis.set_xticks(np.arange(len(labels)), labels, fontsize=7)
    axis.set_ylim(0.9, 1.0)
    axis.set_ylabel("mean CV accuracy")
    axis.legend()
    figure.tight_layout()


def main():
    """Run the search serially and on two processes; compare."""
    X, y = load_breast_cancer(return_X_y=True)
    warm_up(StandardScaler().fit_transform(X), y)
    results = {}
    for n_jobs in (1, 2):
        start = time.perf_counter()
        results[n_jobs] = search(X, y, n_jobs)
        # n_jobs=2 also starts its worker processes, which load the kernels
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
    plot(serial)


main()
