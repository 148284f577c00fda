"""Write the pickled-model fixture that later versions must keep loading.

Run once per released format (``python tests/data/make_fixtures.py``); the
test ``test_model_pickled_by_an_earlier_version_still_loads`` loads the file
and checks the stored predictions. Never regenerate an existing fixture to
make that test pass: add a new file instead.
"""

import pickle
from pathlib import Path

import numpy as np

import sklearn_order
from sklearn_order import BackwardSGDClassifier, BackwardSGDRegressor


def main():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 4))
    y = np.where(X[:, 0] + X[:, 1] > 0, "yes", "no")
    params = dict(alpha=0.01, batch_size=4, max_iter=20, tol=None, random_state=0)
    classifier = BackwardSGDClassifier(**params)
    regressor = BackwardSGDRegressor(**params)
    classifier.fit(X, y)
    regressor.fit(X, X @ [1.0, -1.0, 0.5, 0.0])
    fixture = {
        "version": sklearn_order.__version__,
        "X": X,
        "classifier": classifier,
        "classifier_proba": classifier.predict_proba(X),
        "regressor": regressor,
        "regressor_prediction": regressor.predict(X),
    }
    path = Path(__file__).with_name(f"models_v{sklearn_order.__version__}.pkl")
    path.write_bytes(pickle.dumps(fixture, protocol=4))
    print("wrote", path)


if __name__ == "__main__":
    main()
