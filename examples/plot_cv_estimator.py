"""
A grid cross-validated in few passes: BackwardSGDClassifierCV
=============================================================

Tunes ``order × eta0 × alpha`` (18 candidates, 5 folds) for the ten digits
of scikit-learn's bundled ``load_digits``, twice: with
``GridSearchCV(BackwardSGDClassifier())``, which fits each candidate on each
fold on its own, and with ``BackwardSGDClassifierCV``, which trains the
candidates of a fold that share an order as the models of one pass over the
fold's rows (18 × 10 one-vs-rest models in 2 passes per fold). The scores,
ranks and best parameters are the same, exactly; the times are printed.

The kernels are compiled (or loaded from the cache) by a warm-up before
anything is timed, so the two times compare the searches.

Run: ``python examples/plot_cv_estimator.py``
"""

import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV
from sklearn.preprocessing import StandardScaler

from sklearn_order import BackwardSGDClassifier, BackwardSGDClassifierCV

ORDERS = ["forward", "backward"]
ETA0S = [0.003, 0.03, 0.3]
ALPHAS = [1e-4, 1e-3, 1e-2]
COMMON = dict(max_iter=10, tol=None, batch_size=4, random_state=0)


def timed(search, X, y):
    """The fitted search and its time in seconds."""
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tol=None: max_iter warnings
        search.fit(X, y)
    return search, time.perf_counter() - start


def plot(search):
    """Mean cross-validated accuracy per eta0 × alpha, one panel per order."""
    results = search.cv_results_
    low, high = np.min(results["mean_test_score"]), np.max(results["mean_test_score"])
    figure, axes = plt.subplots(1, 2, figsize=(8, 3.4), sharey=True)
    for axis, order in zip(axes, ORDERS):
        grid = np.array(
            [
                [
                    [
                        results["mean_test_score"][i]
                        for i, params in enumerate(results["params"])
                        if params == {"alpha": alpha, "eta0": eta0, "order": order}
                    ][0]
                    for eta0 in ETA0S
                ]
                for alpha in ALPHAS
            ]
        )
        image = axis.imshow(grid, vmin=low, vmax=high, cmap="viridis")
        axis.set_xticks(range(len(ETA0S)), ETA0S)
        axis.set_yticks(range(len(ALPHAS)), ALPHAS)
        axis.set_xlabel("eta0")
        axis.set_title(f"order={order!r}")
        for (row, column), score in np.ndenumerate(grid):
            color = "black" if score > (low + high) / 2 else "white"
            axis.text(column, row, f"{score:.3f}", ha="center", va="center", c=color)
    axes[0].set_ylabel("alpha")
    figure.colorbar(image, ax=axes, label="mean CV accuracy")


def main():
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    for order in ORDERS:  # warm-up: compile or load the kernels
        timed(BackwardSGDClassifierCV(orders=order, cv=2, **COMMON), X, y)
    reference, reference_time = timed(
        GridSearchCV(
            BackwardSGDClassifier(**COMMON),
            {"order": ORDERS, "eta0": ETA0S, "alpha": ALPHAS},
            cv=5,
        ),
        X,
        y,
    )
    search, search_time = timed(
        BackwardSGDClassifierCV(
            orders=ORDERS, eta0s=ETA0S, alphas=ALPHAS, cv=5, **COMMON
        ),
        X,
        y,
    )
    print(f"GridSearchCV(BackwardSGDClassifier): {reference_time:.2f} s")
    print(f"BackwardSGDClassifierCV:             {search_time:.2f} s")
    same = all(
        np.array_equal(search.cv_results_[key], reference.cv_results_[key])
        for key in reference.cv_results_
        if key.startswith(("split", "rank", "mean_test"))
    )
    print("every split score and rank equal:", same)
    print("best parameters:", search.best_params_, "=", reference.best_params_)
    print(f"best cross-validated accuracy: {search.best_score_:.4f}")
    assert same and search.best_params_ == reference.best_params_
    plot(search)


main()
