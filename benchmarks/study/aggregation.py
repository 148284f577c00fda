"""Per-seed metrics summarized per cell, the queries over the cells, numbers
formatted for the report."""

from __future__ import annotations

import numpy as np

# --------------------------------------------------------------------------
# The study: aggregate over seeds
# --------------------------------------------------------------------------


def summary_stats(values):
    """Mean, standard deviation, min and max of a list (``None`` if empty)."""
    if not values:
        return {"mean": None, "std": None, "min": None, "max": None}
    values = np.asarray(values, dtype=float)
    return {
        "mean": float(values.mean()),
        "std": float(values.std(ddof=1)) if len(values) > 1 else 0.0,
        "min": float(values.min()),
        "max": float(values.max()),
    }


def aggregate_cell(per_seed):
    """Aggregate one (problem, method, eta0) cell over seeds.

    Parameters
    ----------
    per_seed : list of dict
        :func:`run_seed` entries of one method, one per seed.

    Returns
    -------
    dict
    """
    finite = [r for r in per_seed if not r["diverged"]]
    errors = sorted({r["error"] for r in per_seed if r["diverged"]})
    cell = {
        "n_seeds": len(per_seed),
        "n_diverged": len(per_seed) - len(finite),
        "divergence_errors": errors[:1],
    }
    for key in ("distance", "jitter", "epoch_move", "score"):
        cell[key] = summary_stats([r[key] for r in finite])
    cell["per_seed"] = {
        key: [r[key] if not r["diverged"] else None for r in per_seed]
        for key in ("distance", "jitter", "epoch_move", "score")
    }
    cell["fit_mismatch_max"] = max((r["fit_mismatch"] for r in finite), default=None)
    cell["trajectory_method"] = finite[0]["trajectory_method"] if finite else None
    return cell


def largest_stable_eta(cells):
    """Largest ``eta0`` below which (inclusive) no seed diverged.

    Parameters
    ----------
    cells : list of dict
        Aggregated cells in increasing ``eta0``, each with ``eta0``.

    Returns
    -------
    largest : float or None
        ``None`` if even the smallest ``eta0`` diverged.
    first_diverging : float or None
        The smallest ``eta0`` at which some seed diverged (``None``: none).
    """
    largest, first = None, None
    for cell in cells:
        if cell["n_diverged"]:
            first = cell["eta0"]
            break
        largest = cell["eta0"]
    return largest, first


def largest_useful_eta(cells, theta_star_norm):
    """Largest ``eta0`` up to which every cell is finite and mean ``‖θ − θ*‖ < ‖θ*‖``.

    Finite is not useful: a run may stay below the library's divergence
    bound and still return coefficients far from the optimum.

    Parameters
    ----------
    cells : list of dict
        Aggregated cells in increasing ``eta0``.
    theta_star_norm : float

    Returns
    -------
    float or None
    """
    largest = None
    for cell in cells:
        if cell["n_diverged"] or not cell["distance"]["mean"] < theta_star_norm:
            break
        largest = cell["eta0"]
    return largest


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------


def fmt(value, spec=".3g"):
    """Format a number, ``—`` for missing."""
    return "—" if value is None else format(value, spec)


def fmt_pm(stats, spec=".3g"):
    """``mean ± std`` of a stats dict."""
    if stats["mean"] is None:
        return "diverged"
    return f"{format(stats['mean'], spec)} ± {format(stats['std'], spec)}"


def cell_at(entry, method, eta0):
    """The aggregated cell of ``method`` at ``eta0``."""
    return next(c for c in entry["methods"][method] if c["eta0"] == eta0)


def both_finite_etas(entry, methods=("forward", "backward")):
    """Grid ``eta0`` at which no seed of the given methods diverged."""
    return [
        eta
        for eta in entry["eta_grid"]
        if all(cell_at(entry, m, eta)["n_diverged"] == 0 for m in methods)
    ]


def best_cell(entry, method):
    """The cell of ``method`` with the smallest mean distance to ``θ*``."""
    cells = [
        c
        for c in entry["methods"][method]
        if c["n_diverged"] == 0 and c["distance"]["mean"] is not None
    ]
    return min(cells, key=lambda c: c["distance"]["mean"]) if cells else None


def coalescence_rows(entry):
    """Per ``eta0``: forward and backward jitter, ``η μ K`` and the certificate.

    Parameters
    ----------
    entry : dict
        A problem's JSON entry.

    Returns
    -------
    list of dict
        Only the ``eta0`` at which neither order diverged.
    """
    rows = []
    for eta in both_finite_etas(entry):
        forward = cell_at(entry, "forward", eta)["jitter"]["mean"]
        backward_cell = cell_at(entry, "backward", eta)
        backward = backward_cell["jitter"]["mean"]
        rows.append(
            {
                "eta0": eta,
                "eta_mu_K": eta * entry["curvature"] * entry["n_steps"],
                "forward": forward,
                "backward": backward,
                "ratio": backward / forward if forward > 0 else None,
                **backward_cell["coalescence"],
            }
        )
    return rows
