"""Grid search over order × sampling × eta0: serial and parallel agree."""

from numpy.testing import assert_array_equal
from sklearn.datasets import make_classification
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_order import BackwardSGDClassifier
from sklearn_order.orders import ORDERS
from sklearn_order.sampling import SAMPLINGS


def _search(X, y, n_jobs):
    pipe = make_pipeline(
        StandardScaler(),
        BackwardSGDClassifier(alpha=0.01, batch_size=4, max_iter=64, random_state=0),
    )
    grid = {
        "backwardsgdclassifier__order": list(ORDERS),
        "backwardsgdclassifier__sampling": list(SAMPLINGS),
        "backwardsgdclassifier__eta0": [0.02, 0.2],
    }
    return GridSearchCV(pipe, grid, cv=3, n_jobs=n_jobs).fit(X, y)


def test_parallel_grid_search_over_order_equals_serial():
    X, y = make_classification(n_samples=150, n_features=6, flip_y=0.1, random_state=0)
    serial = _search(X, y, n_jobs=1)
    parallel = _search(X, y, n_jobs=2)
    assert serial.best_params_ == parallel.best_params_
    assert_array_equal(
        serial.cv_results_["mean_test_score"], parallel.cv_results_["mean_test_score"]
    )
    # the search did look at every order and sampling scheme
    seen = {tuple(sorted(p.items())) for p in serial.cv_results_["params"]}
    assert len(seen) == len(ORDERS) * len(SAMPLINGS) * 2
    assert serial.best_score_ > 0.75
