"""Penalties and the maps that apply them.

The update map ``T_B`` applies the penalty ``R(w) = α ((1 − ρ)/2 ‖w‖²
+ ρ ‖w‖₁)`` (``ρ = l1_ratio``) to the weights only, never to the intercept,
and holds no state between steps:

- the L2 part is scikit-learn's per-step weight decay, ``w ← (1 − η α (1 − ρ))₊ w``,
  applied to the pre-update weights together with the gradient step (it is an
  explicit gradient step on ``α (1 − ρ)/2 ‖w‖²``; the clamp at zero is
  scikit-learn's guard against a step so large that it would flip the signs);
- the L1 part is its proximal map, soft-thresholding by ``η α ρ`` after the
  gradient step. scikit-learn's SGD instead keeps a cumulative-penalty vector
  (Tsuruoka et al., 2009), which is hidden state: with it an update would not
  be a map of θ and composition orders would not be defined.
"""

import numpy as np

from ._jit import jit_inline, jit_inline_dual

#: The accepted values of ``penalty``.
PENALTIES = (None, "l2", "l1", "elasticnet")


def penalty_strengths(penalty, alpha, l1_ratio):
    """Split ``alpha`` into the L2 and L1 strengths the kernels apply.

    Parameters
    ----------
    penalty : {"l2", "l1", "elasticnet"} or None
    alpha : float
    l1_ratio : float
        Used only for ``"elasticnet"``.

    Returns
    -------
    l2_strength, l1_strength : float
        ``α (1 − ρ)`` and ``α ρ``.
    """
    if penalty is None:
        return 0.0, 0.0
    rho = {"l2": 0.0, "l1": 1.0, "elasticnet": l1_ratio}[penalty]
    return float(alpha * (1.0 - rho)), float(alpha * rho)


def penalty_value(coef, l2_strength, l1_strength):
    """Return ``R(w) = l2/2 ‖w‖² + l1 ‖w‖₁`` (the training objective's penalty)."""
    coef = np.asarray(coef, dtype=np.float64)
    return 0.5 * l2_strength * float(coef @ coef) + l1_strength * float(
        np.abs(coef).sum()
    )


@jit_inline_dual
def l2_decay(eta, l2_strength):
    """Weight-decay factor ``(1 − η · l2)₊`` of one step."""
    factor = 1.0 - eta * l2_strength
    return factor if factor > 0.0 else 0.0


@jit_inline_dual
def shrink(w, threshold):
    """The L1 proximal map of one weight: ``sign(w) (|w| − threshold)₊``."""
    if w > threshold:
        return w - threshold
    elif w < -threshold:
        return w + threshold
    return 0.0


@jit_inline
def soft_threshold(coef, threshold):
    """Apply :func:`shrink` to every weight of ``coef``, in place."""
    for j in range(coef.shape[0]):
        coef[j] = shrink(coef[j], threshold)
