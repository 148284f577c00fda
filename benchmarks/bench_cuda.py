"""GPU against CPU, in one run on one machine: ``device="cuda"`` vs ``device="cpu"``.

On a CUDA machine::

    pip install -e ".[cuda,test]"
    python benchmarks/bench_cuda.py --out benchmarks/results

first runs the CUDA tests on the device (``tests/test_cuda.py``), then times,
with this machine's own CPU kernel as the baseline:

- ``log_loss`` on dense ``n=1,000,000 × 256`` data, float32 and float64,
  batch sizes 32, 256 and 4096, both orders: the time per epoch (a 3-epoch
  fit minus a 1-epoch fit, halved: steady state, without the transfers) and
  the GPU's whole 1-epoch fit with its transfers;
- a 10-class one-vs-rest fit (float32, batch 4096; the CPU fits the classes
  in threads on all cores, ``n_jobs=-1``);
- a backward trajectory of 2,000 maps recorded every 10 (200 independent
  chains; threads on all cores on the CPU, one block per chain on the GPU).

Compile time (the first fit of each dtype on a small slice, minus its
steady-state time) is measured and reported separately from the timed fits,
which include the transfers (``X`` copied once per fit) except in the
per-epoch rows. Each row also
reports the largest difference between the GPU and CPU coefficients,
relative to the largest CPU coefficient. A short table is printed at the end
(and written to ``--out`` as ``cuda.md`` and ``cuda.json``).

``--quick`` runs small shapes without the tests (a smoke test; it also runs
under ``NUMBA_ENABLE_CUDASIM=1``, where the times mean nothing).
"""

import argparse
import json
import subprocess
import sys
from pathlib import Path

import _harness
import numpy as np

from sklearn_order import BackwardSGDClassifier, trajectory

ROOT = Path(__file__).parents[1]
#: Epochs of the longer fit of each pair: per-epoch time is the difference.
EPOCHS = 3


def _model(device, **params):
    params = {"max_iter": 1, **params}
    return BackwardSGDClassifier(
        device=device,
        loss="log_loss",
        tol=None,
        alpha=1e-4,
        eta0=0.05,
        random_state=0,
        **params,
    )


def _on_both(function):
    """``(seconds, function(device))`` for the CPU and the GPU, CPU first."""
    return {device: _harness.timed_call(function, device) for device in ("cpu", "cuda")}


def _relative_difference(gpu, cpu):
    gpu, cpu = np.asarray(gpu, dtype=np.float64), np.asarray(cpu, dtype=np.float64)
    return float(np.abs(gpu - cpu).max() / max(np.abs(cpu).max(), 1e-300))


def _compile_times(X, y, batch_size):
    """Seconds spent compiling, per device: first fit minus a repeated one."""

    def fit(device):
        return _model(device, batch_size=batch_size).fit(X, y)

    first, again = _on_both(fit), _on_both(fit)
    return {device: max(first[device][0] - again[device][0], 0.0) for device in first}


def _row(name, cpu_seconds, gpu_seconds, difference, gpu_fit=None):
    return {
        "configuration": name,
        "cpu_s": cpu_seconds,
        "gpu_s": gpu_seconds,
        "speedup": cpu_seconds / max(gpu_seconds, 1e-9),
        "gpu_fit_1_epoch_s": gpu_fit,
        "max_rel_diff": difference,
    }


def measure(quick, progress=None):
    """Time every configuration; return the rows and the compile times.

    ``progress(results)``, if given, is called with the results so far after
    every row, so that a run cut short still leaves its finished rows.
    """
    rng = np.random.default_rng(0)
    n, d = (60, 4) if quick else (1_000_000, 256)
    batch_sizes = (20,) if quick else (32, 256, 4096)
    X64 = rng.normal(size=(n, d))
    w = rng.normal(size=d) / np.sqrt(d)
    y = (X64 @ w + 0.3 * rng.normal(size=n) > 0).astype(np.int64)
    rows, compile_times = [], {}
    results = {"n_samples": n, "n_features": d, "rows": rows}
    results["compile_s"] = compile_times

    def done():
        if progress is not None:
            progress(results)

    for dtype in (np.float32, np.float64):
        X = X64.astype(dtype) if dtype is np.float32 else X64
        small = min(n, 2000)
        times = _compile_times(X[:small], y[:small], batch_sizes[0])
        compile_times[np.dtype(dtype).name] = times
        for batch_size in batch_sizes:
            for order in ("forward", "backward"):
                fits = {}
                for device in ("cpu", "cuda"):

                    def fit(epochs, X=X, batch_size=batch_size, order=order, d=device):
                        model = _model(
                            d, batch_size=batch_size, order=order, max_iter=epochs
                        )
                        return model.fit(X, y)

                    fits[device] = fit
                # steady state: the extra epochs' time, without the transfers
                timings = {
                    device: samples[0]
                    for device, samples in _harness.paired_per_epoch(
                        fits, EPOCHS, repeats=1
                    ).items()
                }
                rows.append(
                    _row(
                        f"{np.dtype(dtype).name} b={batch_size} {order}, per epoch",
                        timings["cpu"]["epoch"],
                        timings["cuda"]["epoch"],
                        _relative_difference(
                            timings["cuda"]["result"].coef_,
                            timings["cpu"]["result"].coef_,
                        ),
                        gpu_fit=timings["cuda"]["short"],
                    )
                )
                done()
        del X
    X = X64.astype(np.float32)
    del X64

    n_classes = 3 if quick else 10
    scores = X[:, :n_classes] + 0.5 * rng.normal(size=(n, n_classes))
    labels = np.argmax(scores, axis=1)
    batch_size = batch_sizes[-1]

    def fit_ovr(device):
        n_jobs = -1 if device == "cpu" else None
        return _model(device, batch_size=batch_size, n_jobs=n_jobs).fit(X, labels)

    fits = _on_both(fit_ovr)
    rows.append(
        _row(
            f"float32 {n_classes}-class OvR b={batch_size} backward, 1 epoch",
            fits["cpu"][0],
            fits["cuda"][0],
            _relative_difference(fits["cuda"][1].coef_, fits["cpu"][1].coef_),
        )
    )
    done()

    n_steps, every = (8, 4) if quick else (2000, 10)
    batch_size = 8 if quick else 256

    def path(device):
        model = _model(device, batch_size=batch_size)
        return trajectory(model, X, y, n_steps=n_steps, every=every, method="replay")

    paths = _on_both(path)
    rows.append(
        _row(
            f"float32 backward trajectory, {n_steps} maps every {every} "
            f"({n_steps // every} chains), b={batch_size}",
            paths["cpu"][0],
            paths["cuda"][0],
            _relative_difference(paths["cuda"][1].coef, paths["cpu"][1].coef),
        )
    )
    done()
    return results


def _device_name():
    try:
        from numba import cuda

        if cuda.is_available():
            name = cuda.get_current_device().name
            return name.decode() if isinstance(name, bytes) else str(name)
    except Exception:  # the simulator, or no device
        pass
    return "none (simulator?)"


def _kernel_resources():
    """Registers per thread and the largest block, per compiled kernel signature."""
    try:
        from sklearn_order.kernels.cuda import apply_steps_kernel

        registers = apply_steps_kernel.get_regs_per_thread()
        threads = apply_steps_kernel.get_max_threads_per_block()
        return [
            {"registers": registers[sig], "max_threads_per_block": threads[sig]}
            for sig in registers
        ]
    except Exception:  # the simulator allocates no registers
        return []


def _kernel_lines(results):
    """A line per distinct kernel resource use (the signatures often share one)."""
    kernels = dict.fromkeys(
        (kernel["registers"], kernel["max_threads_per_block"])
        for kernel in results.get("kernel_resources", [])
    )
    return "".join(
        f"\nKernel: {registers} registers per thread, blocks of at most "
        f"{threads} threads."
        for registers, threads in kernels
    )


def report(results):
    """The results as Markdown: the ratio first, then the times, then a legend."""
    lines = [
        f"GPU: {results['gpu']}; CPU: {results['cpu']}"
        + (f"; measured on {results['date']}" if "date" in results else ""),
        "",
        f"Data: {results['n_samples']:,} × {results['n_features']} dense, log_loss.",
        "",
        "| **CPU ÷ GPU** | configuration | CPU s | GPU s | GPU fit s | max rel diff |",
        "|---|---|---|---|---|---|",
    ]
    for row in results["rows"]:
        fit = row["gpu_fit_1_epoch_s"]
        # a per-epoch time is a difference of two fits: where the fits' fixed
        # costs vary by more than the epochs take, it is noise, not a speed
        noise = min(row["cpu_s"], row["gpu_s"]) <= 0
        speedup = "noise" if noise else f"**{row['speedup']:.2g}×**"
        gpu = "≤ 0 (noise)" if row["gpu_s"] <= 0 else f"{row['gpu_s']:.3f}"
        lines.append(
            f"| {speedup} | {row['configuration']} | {row['cpu_s']:.3f} | {gpu} "
            f"| {'' if fit is None else f'{fit:.3f}'} | {row['max_rel_diff']:.1e} |"
        )
    lines += [
        "",
        "**CPU ÷ GPU**: the CPU's time over the GPU's (above 1: the GPU is "
        "faster). **CPU s**, **GPU s**: seconds per epoch (the difference of two "
        "fits' times over the epochs between them; where the fits' fixed costs "
        "vary by more than the epochs take, it comes out ≤ 0: noise), or per fit "
        "where the configuration says so. **GPU fit s**: a 1-epoch GPU fit with "
        "its transfers and set-up. **max rel diff**: largest relative difference "
        "of the GPU's coefficients from the CPU's.",
        "",
    ]
    for dtype, times in results["compile_s"].items():
        lines.append(
            f"Compile time, {dtype} (excluded above): CPU {times['cpu']:.1f} s, "
            f"GPU {times['cuda']:.1f} s."
        )
        lines.append("")
    return "\n".join(lines)


def markdown(results, tests_log=None):
    """The whole ``cuda.md``: :func:`report`, the kernel's resources, totals.

    Parameters
    ----------
    results : dict
        A run's results (``cuda.json``).
    tests_log : Path, optional
        The CUDA tests' log of the same run, whose summary line is quoted.
    """
    text = report(results) + _kernel_lines(results)
    if "total_s" in results:
        text += f"\n\nTotal {results['total_s']:.0f} s"
        if results.get("tests_passed") is not None:
            passed = results["tests_passed"]
            text += "; CUDA tests " + ("passed" if passed else "FAILED")
            if tests_log is not None and tests_log.is_file():
                summary = tests_log.read_text().strip().splitlines()[-1]
                text += f" ({summary.strip('= ')}: `{tests_log.name}`)"
        text += "."
    return text


def _write(results, out, tests, run, elapsed):
    """Print the table and, with ``out``, write ``cuda.md`` and ``cuda.json``.

    ``run`` is the run's :func:`_harness.stamp`; ``elapsed()`` its seconds so far.
    """
    results["meta"] = run
    results["date"] = run["date"]
    results["gpu"] = _device_name()
    results["cpu"] = run["machine"]["cpu"]
    results["tests_passed"] = None if tests is None else tests.returncode == 0
    results["kernel_resources"] = _kernel_resources()
    results["total_s"] = elapsed()
    text = markdown(results, out / "cuda_tests.log" if out else None)
    _harness.write_results(text, results, out / "cuda.md" if out else None)
    return text


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small shapes, no tests")
    parser.add_argument("--out", type=Path, help="folder for cuda.md and cuda.json")
    _harness.script_arguments(parser)
    parser.add_argument(
        "--report",
        type=Path,
        metavar="CUDA_JSON",
        help="print the report of an earlier run's cuda.json (with --out, also "
        "rewrite cuda.md there), and run nothing",
    )
    args = parser.parse_args(argv)
    if args.report:
        results = json.loads(args.report.read_text())
        text = markdown(results, args.report.with_name("cuda_tests.log"))
        _harness.write_results(text, None, args.out / "cuda.md" if args.out else None)
        print(text)
        return 0
    run, elapsed = _harness.stamp(), _harness.stopwatch()
    tests = None
    if not args.quick:
        tests = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
            + [str(ROOT / "tests" / "test_cuda.py")],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        print(tests.stdout[-2000:], flush=True)
        if args.out:
            args.out.mkdir(parents=True, exist_ok=True)
            (args.out / "cuda_tests.log").write_text(tests.stdout + tests.stderr)
    # the files are rewritten after every row: a run cut short keeps its rows
    results = measure(
        args.quick, lambda partial: _write(partial, args.out, tests, run, elapsed)
    )
    print(_write(results, args.out, tests, run, elapsed))
    _harness.write_results(None, results, json_path=args.json)
    return 0 if tests is None or tests.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
