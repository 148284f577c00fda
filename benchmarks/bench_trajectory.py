"""Backward trajectory: exact affine composition against replay, side by side.

For squared error every update map is affine, so the whole backward
trajectory ``θ̃_1 … θ̃_K`` costs O(K d² b) by affine composition, against
O(K² d b) by replaying each ``θ̃_k`` as its own chain (parallel over chains).
Both run in the same process on the same problem; the script reports their
ratio and their largest relative difference (compile time excluded).

Run::

    python benchmarks/bench_trajectory.py           # K=10,000, d=20
    python benchmarks/bench_trajectory.py --quick   # K=2,000
"""

import argparse
import os
import platform
import time

import numba
import numpy as np

from sklearn_order import BackwardSGDRegressor, trajectory


def time_methods(n_steps, n_features, n_samples, batch_size):
    """Time the affine and the replay backward trajectory on one problem.

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
        start = time.perf_counter()
        paths[method] = trajectory(model, X, y, n_steps=n_steps, method=method)
        timings[method] = time.perf_counter() - start
    affine, replay = paths["affine"].thetas(), paths["replay"].thetas()
    timings["max_relative_difference"] = float(
        np.abs(affine - replay).max() / np.abs(replay).max()
    )
    return timings


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-steps", type=int, default=10_000)
    parser.add_argument("--n-features", type=int, default=20)
    parser.add_argument("--n-samples", type=int, default=2_000)
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="K=2,000")
    args = parser.parse_args()
    if args.quick:
        args.n_steps = 2_000
    timings = time_methods(
        args.n_steps, args.n_features, args.n_samples, args.batch_size
    )
    print(
        f"# Backward trajectory, squared error + L2, K={args.n_steps:,} maps, "
        f"d={args.n_features}, batch {args.batch_size}"
    )
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"{numba.get_num_threads()} Numba threads for replay\n"
    )
    print("| method | seconds | replay / method |")
    print("|---|---|---|")
    for method in ("affine", "replay"):
        ratio = timings["replay"] / timings[method]
        print(f"| {method} | {timings[method]:.3f} | **{ratio:.0f}×** |")
    print(
        "\nlargest relative difference affine vs replay: "
        f"{timings['max_relative_difference']:.1e}"
    )


if __name__ == "__main__":
    main()
