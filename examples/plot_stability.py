"""
Backward iterates converge to a point, forward iterates do not
==============================================================

Ridge regression with a constant learning rate. The backward trajectory
:math:`\\tilde\\theta_k = T_1 \\circ \\dots \\circ T_k(\\theta_0)` (computed
exactly by affine composition) settles on a point: its step norm falls
geometrically to rounding. The forward trajectory keeps moving at a noise
floor set by the learning rate. Backward iterates started from different
points meet (coalescence), which certifies that the maps contract. Neither
order is closer to the least-squares solution than the other on average.
"""

import matplotlib.pyplot as plt
import numpy as np

from sklearn_order import BackwardSGDRegressor, coalescence, trajectory

rng = np.random.default_rng(0)
X = rng.normal(size=(500, 5))
y = X @ rng.normal(size=5) + 0.5 * rng.normal(size=500)
model = BackwardSGDRegressor(alpha=0.01, eta0=0.05, batch_size=2, random_state=0)

backward = trajectory(model, X, y, n_steps=3000)
forward = trajectory(model.set_params(order="forward"), X, y, n_steps=3000)
report = coalescence(
    model.set_params(order="backward"), X, y, n_steps=3000, n_inits=3, random_state=0
)

# one panel above the other, sharing the step axis: legible at the page's width
figure, (left, middle, right) = plt.subplots(3, 1, figsize=(7, 9), sharex=True)
for path, label in ((forward, "forward"), (backward, "backward")):
    left.semilogy(path.steps, np.maximum(path.step_norms(), 1e-17), label=label, lw=0.8)
    middle.plot(path.steps, path.coef[:, 0], label=label, lw=0.8)
left.set(ylabel=r"$\|\theta_k - \theta_{k-1}\|$", title="Step norm")
middle.set(ylabel="first coefficient", title="A coefficient's path")
right.semilogy(report.steps, np.maximum(report.distances, 1e-17))
right.set(
    xlabel="step k",
    ylabel="largest distance",
    title=f"Coalescence, 3 chains (rate {report.rate:.3f})",
)
for axis in (left, middle, right):
    axis.grid(alpha=0.3)
left.legend()
middle.legend()
figure.tight_layout()

print(f"last backward step norm: {backward.step_norms()[-1]:.2e}")
print(
    f"median forward step norm over the last 500 steps: "
    f"{np.median(forward.step_norms()[-500:]):.2e}"
)
print(f"coalescence certified: {report.contractive}")
