"""Backward trajectories: affine composition and coupling against replay, side by side.

Two engines against plain replay (each ``θ̃_k`` its own reversed chain of
``k`` maps, O(K²) maps, chains in parallel threads):

- squared error: the whole trajectory by affine composition, O(K d² b);
- other losses: coupling — a chain stops where its state meets the thread's
  anchor chain bit for bit (``coupling_tol=0``, the replay's results) or
  within a tolerance (every iterate within ``coupling_tol`` of the replay's).

Every case runs both engines in the same process on the same problem and
reports the time ratio (for coupling: the median over ``--repeats``
alternating pairs, as the load of a shared machine shifts), the maps each
applied, and the largest difference of the results (compile time excluded).

Run::

    python benchmarks/bench_trajectory.py           # every case
    python benchmarks/bench_trajectory.py --quick   # shorter trajectories
"""

import argparse
import sys
from functools import partial

import _harness
import numba
import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from sklearn_order import BackwardSGDClassifier, BackwardSGDRegressor, trajectory


def time_methods(n_steps, n_features, n_samples, batch_size, repeats=1):
    """Time the affine and the replay backward trajectory of a ridge problem.

    Returns
    -------
    dict
        ``{"affine": seconds, "replay": seconds, "max_relative_difference": …}``
    """
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n_samples, n_features))
    y = X @ rng.standard_normal(n_features) + 0.5 * rng.standard_normal(n_samples)
    model = BackwardSGDRegressor(
        alpha=0.01, eta0=0.01, batch_size=batch_size, random_state=0
    )
    for method in ("affine", "replay"):  # compile (or load) the kernels
        trajectory(model, X[:50], y[:50], n_steps=20, method=method)
    timings, paths = {}, {}
    for method in ("affine", "replay"):
        timings[method], paths[method] = _harness.best_of(
            repeats, trajectory, model, X, y, n_steps=n_steps, method=method
        )
    affine, replay = paths["affine"].thetas(), paths["replay"].thetas()
    timings["max_relative_difference"] = float(
        np.abs(affine - replay).max() / np.abs(replay).max()
    )
    return timings


def breast_cancer_job():
    """The main job's ``compare`` problem: breast cancer, scaled, its training split."""
    X, y = load_breast_cancer(return_X_y=True)
    X_train, _, y_train, _ = train_test_split(
        X, y, test_size=0.25, random_state=0, stratify=y
    )
    return StandardScaler().fit(X_train).transform(X_train), y_train


def coupling_cases(quick=False):
    """The coupling benchmark's problems: ``(name, model, X, y, n_steps, tols)``.

    - the main job's settings (``python -m sklearn_order compare``: log loss,
      ``alpha=0.01``, ``eta0=0.05``, batch 8) on breast cancer, K ≈ 5,400
      (100 epochs);
    - synthetic logistic, d = 20, batch 1, K = 10,000, with the same weak
      penalty, and with a strong one (``alpha=0.1, eta0=0.1``);
    - a non-contracting case: unregularized logistic on separable data.
    """
    rng = np.random.default_rng(0)
    X_bc, y_bc = breast_cancer_job()
    X_syn = rng.standard_normal((2_000, 20))
    y_syn = (X_syn @ rng.standard_normal(20) + rng.standard_normal(2_000) > 0).astype(
        int
    )
    X_sep = rng.standard_normal((500, 20))
    y_sep = (X_sep @ rng.standard_normal(20) > 0).astype(int)
    scale = 5 if quick else 1
    job = dict(loss="log_loss", random_state=0)
    return [
        (
            "breast cancer, main job settings (alpha=0.01, eta0=0.05, batch 8)",
            BackwardSGDClassifier(alpha=0.01, eta0=0.05, batch_size=8, **job),
            X_bc,
            y_bc,
            5_400 // scale,
            (0.0,),  # a tolerance is refused: these maps are not provably
            # non-expansive (eta0 times the worst batch's smoothness > 2)
        ),
        (
            "synthetic d=20, batch 1, alpha=0.01, eta0=0.05",
            BackwardSGDClassifier(alpha=0.01, eta0=0.05, batch_size=1, **job),
            X_syn,
            y_syn,
            10_000 // scale,
            (0.0, 1e-6),
        ),
        (
            "synthetic d=20, batch 1, alpha=0.1, eta0=0.1",
            BackwardSGDClassifier(alpha=0.1, eta0=0.1, batch_size=1, **job),
            X_syn,
            y_syn,
            10_000 // scale,
            (0.0, 1e-10, 1e-6),
        ),
        (
            "separable, unregularized (penalty=None), batch 1",
            BackwardSGDClassifier(penalty=None, eta0=0.05, batch_size=1, **job),
            X_sep,
            y_sep,
            5_000 // scale,
            (0.0,),
        ),
    ]


def time_coupling(quick=False, repeats=3):
    """Replay against coupling on :func:`coupling_cases`, side by side.

    Returns
    -------
    list of dict
        One row per case and tolerance: replay and coupling seconds (best
        of ``repeats``), the median and range of the ratios of ``repeats``
        alternating pairs, the maps each applied, whether the iterates are
        bitwise equal and their largest distance against the stated bound.
    """
    rows = []
    for name, model, X, y, n_steps, tols in coupling_cases(quick):
        for tol in tols:  # compile (or load) the kernels
            trajectory(model, X[:40], y[:40], n_steps=30, coupling_tol=tol)
        trajectory(model, X[:40], y[:40], n_steps=30, method="replay")
        for tol in tols:
            # replay and coupling alternate: a shared machine's load shifts
            # between runs, so each pair gives one ratio; report the median
            runs = _harness.alternate(
                {
                    "replay": partial(
                        _harness.timed_call,
                        trajectory,
                        model,
                        X,
                        y,
                        n_steps=n_steps,
                        method="replay",
                    ),
                    "coupling": partial(
                        _harness.timed_call,
                        trajectory,
                        model,
                        X,
                        y,
                        n_steps=n_steps,
                        coupling_tol=tol,
                    ),
                },
                repeats,
            )
            replay_times = [seconds for seconds, _ in runs["replay"]]
            coupling_times = [seconds for seconds, _ in runs["coupling"]]
            replay, coupled = runs["replay"][-1][1], runs["coupling"][-1][1]
            ratios = np.array(replay_times) / np.array(coupling_times)
            distance = np.linalg.norm(coupled.thetas() - replay.thetas(), axis=1)
            rows.append(
                {
                    "case": name,
                    "n_steps": n_steps,
                    "coupling_tol": tol,
                    "replay": min(replay_times),
                    "coupling": min(coupling_times),
                    "speedup": float(np.median(ratios)),
                    "speedup_range": (float(ratios.min()), float(ratios.max())),
                    "replay_maps": replay.n_maps,
                    "coupling_maps": coupled.n_maps,
                    "bitwise_equal": coupled.thetas().tobytes()
                    == replay.thetas().tobytes(),
                    "max_distance": float(distance.max()),
                    "error_bound": coupled.error_bound,
                    "last_step_norm": float(replay.step_norms()[-1]),
                }
            )
    return rows


def coupling_table(rows):
    """The coupling results as a Markdown table, ratios first, cases in a legend."""
    cases = list(dict.fromkeys(r["case"] for r in rows))
    lines = [
        "| **replay / coupling** | range | case | K | tol | maps | bitwise "
        "| distance (bound) | last step |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| **{r['speedup']:.2f}×** "
            f"| {r['speedup_range'][0]:.2f}–{r['speedup_range'][1]:.2f} "
            f"| {chr(ord('a') + cases.index(r['case']))} | {r['n_steps']:,} "
            f"| {r['coupling_tol']:g} | {r['coupling_maps'] / r['replay_maps']:.3f} "
            f"| {'yes' if r['bitwise_equal'] else 'no'} "
            f"| {r['max_distance']:.1e} ({r['error_bound']:.1e}) "
            f"| {r['last_step_norm']:.1e} |"
        )
    lines += [
        "",
        "**replay / coupling**: median ratio of the times (range over the "
        "repeats). **tol**: `coupling_tol`. **maps**: the maps coupling applied "
        "over those replay applied. **bitwise**: the iterates equal the replay's "
        "bit for bit. **distance (bound)**: largest distance from the replay's "
        "iterates, and the bound coupling guarantees. **last step**: norm of the "
        "last map's step. Cases: "
        + "; ".join(f"**{chr(ord('a') + i)}** {case}" for i, case in enumerate(cases))
        + ".",
    ]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-steps", type=int, default=10_000)
    parser.add_argument("--n-features", type=int, default=20)
    parser.add_argument("--n-samples", type=int, default=2_000)
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--affine-repeats",
        type=int,
        help="repeats of the affine and replay timings (default: --repeats)",
    )
    parser.add_argument("--quick", action="store_true", help="shorter trajectories")
    _harness.script_arguments(parser)
    args = parser.parse_args(argv)
    if args.quick:
        args.n_steps, args.repeats = 2_000, 1
    run = _harness.stamp()
    print(
        _harness.provenance(run, args.quick)
        + f" {numba.get_num_threads()} Numba threads for replay and coupling.\n"
    )
    timings = time_methods(
        args.n_steps,
        args.n_features,
        args.n_samples,
        args.batch_size,
        args.affine_repeats or args.repeats,
    )
    print(
        f"## Squared error + L2: affine vs replay (K={args.n_steps:,} maps, "
        f"d={args.n_features}, batch {args.batch_size})\n"
    )
    print("| method | seconds | replay / method |")
    print("|---|---|---|")
    for method in ("affine", "replay"):
        ratio = timings["replay"] / timings[method]
        print(f"| {method} | {timings[method]:.3f} | **{ratio:.0f}×** |")
    print(
        "\nlargest relative difference affine vs replay: "
        f"{timings['max_relative_difference']:.1e}\n"
    )
    coupling = time_coupling(args.quick, args.repeats)
    print("## Log loss: coupling vs replay\n")
    print(coupling_table(coupling))
    data = {
        "meta": run,
        "n_steps": args.n_steps,
        "n_features": args.n_features,
        **timings,
        "coupling": coupling,
    }
    _harness.write_results(None, data, json_path=args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
