"""
Sampling schemes compared
=========================

L2-regularized logistic regression with a constant learning rate, every
sampling scheme, both orders. For each we measure the training-objective gap
to the optimum after a fixed number of epochs, averaged over seeds. The
scheme changes how good the sequence of minibatches is; the order changes
whether the final iterate keeps moving.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_classification
from sklearn.preprocessing import StandardScaler

from sklearn_order import BackwardSGDClassifier, training_objective
from sklearn_order.sampling import SAMPLINGS

X, y = make_classification(n_samples=400, n_features=8, flip_y=0.1, random_state=0)
X = StandardScaler().fit_transform(X)
params = dict(alpha=0.01, eta0=0.2, batch_size=4, tol=None)

# the optimum, from a long run with a small step size
reference = BackwardSGDClassifier(
    alpha=0.01, eta0=0.005, batch_size=4, tol=None, max_iter=400, random_state=0
).fit(X, y)
best = training_objective(reference, X, y)

gaps = {}
for order in ("forward", "backward"):
    for sampling in SAMPLINGS:
        values = [
            training_objective(
                BackwardSGDClassifier(
                    order=order,
                    sampling=sampling,
                    max_iter=20,
                    random_state=seed,
                    **params,
                ).fit(X, y),
                X,
                y,
            )
            for seed in range(5)
        ]
        gaps[order, sampling] = max(np.mean(values) - best, 1e-12)

names = list(SAMPLINGS)
positions = np.arange(len(names))
figure, axis = plt.subplots(figsize=(8, 3.8))
for offset, order in ((-0.2, "forward"), (0.2, "backward")):
    axis.bar(
        positions + offset, [gaps[order, s] for s in names], width=0.4, label=order
    )
axis.set_xticks(positions, names)
axis.set_yscale("log")
axis.set(
    ylabel="objective gap after 20 epochs",
    title="Sampling schemes, constant step size (mean of 5 seeds)",
)
axis.grid(alpha=0.3, axis="y")
axis.legend()
figure.tight_layout()

for (order, sampling), gap in sorted(gaps.items(), key=lambda item: item[1]):
    print(f"{order:>8} {sampling:<17} gap {gap:.2e}")
