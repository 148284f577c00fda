"""The data sets scikit-learn ships (no download), standardized."""

from benchopt import BaseDataset
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.preprocessing import StandardScaler

LOADERS = {"breast_cancer": load_breast_cancer, "diabetes": load_diabetes}


class Dataset(BaseDataset):
    """``breast_cancer`` (569 × 30, two classes) or ``diabetes`` (442 × 10).

    Features are standardized and the target centered (the objectives fit no
    intercept by default). The objective uses the target as it is for ridge
    and as ±1 labels for logistic regression (the two classes of
    ``breast_cancer``; ``diabetes``' target around its median).
    """

    name = "sklearn-bundled"

    parameters = {"data": ["breast_cancer", "diabetes"]}

    def get_data(self):
        X, y = LOADERS[self.data](return_X_y=True)
        return dict(X=StandardScaler().fit_transform(X), y=y - y.mean())
