"""Instructions per row: our kernel's epoch against the minimal loop's, counted exactly.

Timing an epoch against the minimal loop that does only its memory accesses
and arithmetic (``bench_epoch.minimal_dense_epoch``,
``bench_sparse.minimal_epoch``) gives a ratio that moves with the machine
and with where each loop's machine code lands in memory (up to 35%,
``bench_code_placement.py``). The number of instructions an epoch executes
moves with neither: Valgrind's callgrind counts them, and the package's
code is the same whatever the machine's load. Where rows are read in
storage order (``sampling="cyclic"``) an epoch is bound by its arithmetic,
not by memory, so the instructions beyond the minimal loop's are what the
kernel's generality costs there.

Each count runs in a fresh process under ``valgrind --tool=callgrind
--instr-atstart=no``: the process builds the data and the epoch, runs it
once (the kernels compiled or loaded, the data touched), then switches the
counting on (callgrind's client requests, from a small C library built
here with the system's C compiler), runs one more epoch and switches it
off. Needs ``valgrind`` with its headers and a C compiler.

Run::

    python benchmarks/bench_instructions.py     # docs/benchmarks/instructions.{md,json}
    python benchmarks/bench_instructions.py --quick    # small smoke run, writes nothing
"""

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import _harness

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = ROOT / "docs" / "benchmarks" / "instructions.md"

#: The storages counted: ``(label, n_features, non-zeros per row or None)``.
STORAGES = [("dense float64", 400, None), ("csr float64", 100_000, 50)]
#: What each process counts: our kernel's epoch, the minimal loop's, and the
#: epoch's row order alone (the kernel draws it inside its epoch; the minimal
#: loop is handed it).
LOOPS = ("kernel", "minimal", "order")

_CLIENT_REQUESTS = """
#include <valgrind/callgrind.h>
void start(void) { CALLGRIND_ZERO_STATS; CALLGRIND_START_INSTRUMENTATION; }
void stop(void) { CALLGRIND_STOP_INSTRUMENTATION; }
"""


def client_library(directory):
    """Build the start/stop library: its path, ``None`` without the tools."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None or shutil.which("valgrind") is None:
        return None
    source = Path(directory) / "counting.c"
    library = Path(directory) / "libcounting.so"
    source.write_text(_CLIENT_REQUESTS)
    done = subprocess.run(
        [compiler, "-O2", "-shared", "-fPIC", "-o", library, source],
        capture_output=True,
        text=True,
    )
    return library if done.returncode == 0 else None


def epoch_loops(storage, n_samples, sampling):
    """``{loop: callable}``: one epoch of each loop of :data:`LOOPS`, same rows."""
    import bench_epoch
    import bench_sparse
    import numpy as np
    from _data import COMMON, make_data, make_sparse_data

    from sklearn_order.sampling import SAMPLINGS, fill_epoch_order

    label, n_features, nnz = storage
    if nnz is None:
        X, y = make_data(n_samples, n_features, np.float64)
    else:
        X, y = make_sparse_data(n_samples, n_features, nnz)
    signs = np.where(y == 1, 1.0, -1.0)
    kernel, order = bench_epoch.kernel_epoch(X, signs, sampling)
    w = np.zeros(n_features)
    eta, alpha = COMMON["eta0"], COMMON["alpha"]
    if nnz is None:

        def minimal():
            bench_epoch.minimal_dense_epoch(X, signs, w, order, eta, alpha)

    else:
        columns = X.indices.view(np.uint32)

        def minimal():
            bench_sparse.minimal_epoch(
                X.data, columns, X.indptr, signs, w, order, eta, alpha
            )

    scratch = np.empty_like(order)

    def draw_order():
        fill_epoch_order(SAMPLINGS[sampling], 0, 1, scratch)

    return {"kernel": kernel, "minimal": minimal, "order": draw_order}


def child(args):
    """Count one loop's epoch (run under callgrind by :func:`count`)."""
    import ctypes

    storage = STORAGES[args.storage]
    loop = epoch_loops(storage, args.n_samples, args.sampling)[args.loop]
    counting = ctypes.CDLL(args.library)
    loop()  # compiled or loaded, data touched
    counting.start()
    loop()
    counting.stop()


_COLLECTED = re.compile(r"Collected\s*:\s*(\d+)")


def count(library, storage, sampling, loop, n_samples, cache):
    """Instructions of one epoch of ``loop``, in a fresh process under callgrind.

    ``cache``: the kernel cache folder (``NUMBA_CACHE_DIR``) of the process.
    """
    command = [
        "valgrind",
        "--tool=callgrind",
        "--instr-atstart=no",
        "--callgrind-out-file=/dev/null",
        sys.executable,
        __file__,
        "--child",
        "--library",
        library,
        "--storage",
        str(storage),
        "--sampling",
        sampling,
        "--loop",
        loop,
        "--n-samples",
        str(n_samples),
    ]
    env = _harness.environment(cache=cache)
    _, _, done = _harness.run_process(command, env=env)
    return int(_COLLECTED.findall(done.stderr)[-1])


def measure(library, n_samples, scratch, quick=False):
    """Rows: per storage and sampling, instructions per row of each loop.

    Every loop is counted as a user's fit runs it, loaded from the kernel
    cache (a first, uncounted process per storage compiles into
    a cache of this run's own); the kernel also as compiled in the counting
    process itself (an empty cache), which LLVM optimizes further (see the
    results page). ``quick``: dense rows in cyclic order only.
    """
    rows = []
    cache = Path(scratch) / "cache"
    for s, storage in enumerate(STORAGES[:1] if quick else STORAGES):
        count(library, s, "cyclic", "kernel", 1, cache)  # compiles the storage's
        for sampling in ("cyclic",) if quick else ("cyclic", "reshuffle"):
            counts = {
                loop: count(library, s, sampling, loop, n_samples, cache) / n_samples
                for loop in LOOPS
            }
            with tempfile.TemporaryDirectory() as empty:
                compiled = count(library, s, sampling, "kernel", n_samples, empty)
            counts["kernel compiled in the process"] = compiled / n_samples
            print(storage[0], sampling, counts, flush=True)
            rows.append(
                {
                    "storage": storage[0],
                    "sampling": sampling,
                    **counts,
                    "kernel / minimal": counts["kernel"] / counts["minimal"],
                    "kernel without its order / minimal": (
                        (counts["kernel"] - counts["order"]) / counts["minimal"]
                    ),
                }
            )
    return rows


def markdown(run, rows, n_samples, quick):
    lines = [
        "# Instructions per row: our kernel's epoch against the minimal loop's",
        "",
        _harness.provenance(run, quick),
        "",
        f"One forward epoch, batch 1, log_loss, {n_samples:,} rows, counted by "
        "callgrind (instructions executed, divided by the rows). *order*: "
        "drawing the epoch's row order, which the kernel does inside its epoch "
        "and the minimal loop is handed. Every loop loaded from the kernel "
        "cache, as a user's fit runs it, except the last column: the kernel "
        "compiled in the counting process.",
        "",
        "| storage | sampling | kernel | minimal loop | order | "
        "**kernel ÷ minimal** | (kernel − order) ÷ minimal "
        "| kernel compiled in the process |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['storage']} | {r['sampling']} | {r['kernel']:.0f} "
            f"| {r['minimal']:.0f} | {r['order']:.0f} "
            f"| **{r['kernel / minimal']:.2f}** "
            f"| {r['kernel without its order / minimal']:.2f} "
            f"| {r['kernel compiled in the process']:.0f} |"
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="1,000 dense rows, cyclic order only"
    )
    parser.add_argument("--n-samples", type=int, default=10_000)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--library", help=argparse.SUPPRESS)
    parser.add_argument("--storage", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--sampling", help=argparse.SUPPRESS)
    parser.add_argument("--loop", choices=LOOPS, help=argparse.SUPPRESS)
    _harness.script_arguments(parser)
    args = parser.parse_args(argv)
    if args.child:
        child(args)
        return 0
    if args.quick:
        args.n_samples = 1_000
    run = _harness.stamp()
    with tempfile.TemporaryDirectory() as scratch:
        library = client_library(scratch)
        if library is None:
            print("needs valgrind (with its headers) and a C compiler", file=sys.stderr)
            return 2
        rows = measure(library, args.n_samples, scratch, args.quick)
    report = markdown(run, rows, args.n_samples, args.quick)
    print(report)
    data = {"run": run, "n_samples": args.n_samples, "rows": rows}
    if not args.quick:
        _harness.write_results(report, data, RESULTS)
    if args.json:
        _harness.write_results(None, data, json_path=args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
