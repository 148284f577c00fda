"""Where a first fit's compile time goes, and what a full warm-up costs.

Three measurements, each in fresh processes with an empty Numba cache
(``NUMBA_CACHE_DIR``):

1. **The first fit's profile.** The default ``BackwardSGDClassifier`` fit on
   200 × 5 float64 data, dense and CSR. Every function Numba compiles is
   timed from its compile events: *inclusive* (its own pipeline, plus the
   callees compiled while it was being typed) and *self* (inclusive less
   those callees). Numba's per-pass timings (``get_metadata(sig)
   ["pipeline_times"]``) split each function's own time into type
   inference and lowering (LLVM code generation and optimization happen in
   the lowering pass); a caller's type inference includes its callees'
   compilations, which are taken out. The shares of the fit's compile time
   are less sensitive to a loaded machine than the seconds.
2. **LLVM's optimizer.** The first dense fit compiled at Numba's default
   optimization level and with LLVM's optimizer off (``NUMBA_OPT=0``): the
   difference is what optimizing costs; the rest is Numba's own pipeline
   and code generation.
3. **The warm-up.** ``python -m sklearn_order warmup --jobs J``: how many
   variants it compiles, how many functions, wall and CPU seconds, and then
   the first fit of each kind loaded from the warmed cache.

   With ``--baseline REF``, the same warm-up of that git ref's package is
   timed just before (one run each).

Run::

    python benchmarks/bench_compile_profile.py   # docs/benchmarks/compile_profile.*
    python benchmarks/bench_compile_profile.py --baseline fb3234d
"""

import argparse
import json
import sys
import tempfile
from pathlib import Path

import _harness

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

# Profiles the first fit in the child, after the imports; prints JSON.
_PROFILE = """
import json, sys
import numpy as np
from _harness import clocks
from numba.core import event
from scipy import sparse
from sklearn_order import BackwardSGDClassifier

rng = np.random.default_rng(0)
X = rng.standard_normal((200, 5))
y = (X[:, 0] > 0).astype(int)
if sys.argv[1] == "csr":
    X = sparse.csr_matrix(np.where(np.abs(X) > 1.0, X, 0.0))
model = BackwardSGDClassifier(random_state=0)
with event.install_recorder("numba:compile") as recorder:
    wall, cpu, _ = clocks(model.fit, X, y)

# compile events nest (a callee compiles while its caller is typed)
functions, stack = [], []
for timestamp, ev in recorder.buffer:
    if ev.is_start:
        stack.append([ev.data["dispatcher"], ev.data["args"], timestamp, 0.0])
        continue
    dispatcher, args, started, in_callees = stack.pop()
    inclusive = timestamp - started
    if stack:
        stack[-1][3] += inclusive
    stages = {"type inference": 0.0, "lowering": 0.0, "other": 0.0}
    try:
        overload = dispatcher.overloads[tuple(args)]
        for passes in overload.metadata["pipeline_times"].values():
            for name, timing in passes.items():
                seconds = timing.init + timing.run + timing.finalize
                if "type_inference" in name:
                    stages["type inference"] += seconds
                elif "lowering" in name:
                    stages["lowering"] += seconds
                else:
                    stages["other"] += seconds
    except (KeyError, TypeError, AttributeError):
        pass
    stages["type inference"] = max(0.0, stages["type inference"] - in_callees)
    function = dispatcher.py_func
    functions.append({
        "function": f"{function.__module__ or ''}.{function.__qualname__}".lstrip("."),
        "inclusive": inclusive,
        "self": inclusive - in_callees,
        **stages,
    })
print(json.dumps({"wall": wall, "cpu": cpu, "functions": functions}))
"""


def profile_first_fit(kind, **variables):
    """The profile of a first ``kind`` fit in a fresh process, empty cache.

    ``variables`` are more environment variables of that process.
    """
    with tempfile.TemporaryDirectory() as cache:
        env = _harness.environment(ROOT, cache, **variables)
        out = _harness.run_python(_PROFILE, kind, env=env)
    return json.loads(out.strip().splitlines()[-1])


#: LLVM optimization levels a first dense fit is compiled at (``NUMBA_OPT``;
#: Numba's default is 3): how much of its time LLVM's optimizer takes.
OPT_LEVELS = (3, 0)


def optimizer_share(repeats=3):
    """A first dense fit's CPU seconds at each of :data:`OPT_LEVELS`.

    The median of ``repeats`` fits per level; the levels alternate, each fit
    in a fresh process with an empty cache.
    """
    import numpy as np

    seconds = {level: [] for level in OPT_LEVELS}
    for _ in range(repeats):
        for level in OPT_LEVELS:
            profile = profile_first_fit("dense", NUMBA_OPT=level)
            seconds[level].append(profile["cpu"])
    return {str(level): float(np.median(s)) for level, s in seconds.items()}


# Each first fit of a kind after the warm-up, in one fresh process each.
_LOADED_FIT = """
import sys, time, warnings
from sklearn_order.warmup import VARIANTS, run_variant
warnings.simplefilter("ignore")
variant = VARIANTS[int(sys.argv[1])]
seconds, n_compiled = run_variant(variant)
print(seconds, n_compiled)
"""


def warm_up_cost(jobs, package_root=ROOT, loads=True):
    """Wall and CPU seconds of a cold ``warmup --jobs``; then loads of each kind.

    ``package_root``: the folder of the package to warm up (another git ref's,
    exported); ``loads=False`` skips the loads.
    """
    with tempfile.TemporaryDirectory() as cache:
        env = _harness.environment(package_root, cache)
        wall, cpu, done = _harness.run_process(
            [sys.executable, "-m", "sklearn_order", "warmup", "--jobs", str(jobs)],
            env=env,
        )
        lines = done.stdout.splitlines()
        n_variants = int(lines[0].split(": ")[1].split()[0])
        n_compiled_variants = sum(" compiled " in line for line in lines[1:-1])
        n_functions = int(lines[-1].split(": ")[1].split()[0])
        # the first variant of each job and storage: a first fit of that kind
        from sklearn_order.warmup import VARIANTS

        seen, loaded = set(), []
        for index, variant in enumerate(VARIANTS if loads else ()):
            key = (variant.job, variant.estimator, variant.storage)
            if key in seen:
                continue
            seen.add(key)
            out = _harness.run_python(_LOADED_FIT, str(index), env=env).split()
            loaded.append(
                {
                    "variant": variant.name,
                    "seconds": float(out[0]),
                    "compiled": int(out[1]),
                }
            )
    return {
        "jobs": jobs,
        "wall": wall,
        "cpu": cpu,
        "variants": n_variants,
        "variants compiled": n_compiled_variants,
        "functions compiled": n_functions,
        "loads": loaded,
    }


def _top(functions, n=12):
    return sorted(functions, key=lambda f: -f["self"])[:n]


def markdown(results, meta):
    lines = [
        "# Compile profile: where a first fit's seconds go",
        "",
        _harness.provenance(meta) + f" Load average at the start: {meta['load']}.",
        "",
    ]
    for kind, profile in results["first fit"].items():
        functions = profile["functions"]
        total = sum(f["self"] for f in functions)
        inference = sum(f["type inference"] for f in functions)
        lowering = sum(f["lowering"] for f in functions)
        lines += [
            f"## First {kind} fit (200 × 5 float64, default classifier)",
            "",
            f"{profile['wall']:.2f} s wall, {profile['cpu']:.2f} s CPU for the fit; "
            f"{len(functions)} functions compiled, {total:.2f} s of compile time: "
            f"type inference {inference / total:.0%}, lowering (LLVM code "
            f"generation and optimization) {lowering / total:.0%}, other passes "
            f"{(total - inference - lowering) / total:.0%}.",
            "",
            "| function | self (s) | share | type inference (s) | lowering (s) |",
            "|---|---|---|---|---|",
        ]
        for f in _top(functions):
            lines.append(
                f"| `{f['function'].removeprefix('sklearn_order.')}` "
                f"| {f['self']:.3f} | {f['self'] / total:.0%} "
                f"| {f['type inference']:.3f} | {f['lowering']:.3f} |"
            )
        lines.append("")
    optimizer = results["optimizer"]
    full, off = optimizer["3"], optimizer["0"]
    lines += [
        "## LLVM's optimizer",
        "",
        f"The same first dense fit, compiled with LLVM's optimizer at Numba's "
        f"default level (`NUMBA_OPT=3`) and off (`NUMBA_OPT=0`), CPU seconds, "
        f"median of 3 fresh processes each: {full:.2f} s and {off:.2f} s. "
        f"The optimizer takes {max(full - off, 0.0):.2f} s "
        f"({max(full - off, 0.0) / full:.0%}) of the first fit; the rest is "
        "Numba's own pipeline (typing, lowering to LLVM IR, its inliners) and "
        "LLVM's code generation, which run at every level.",
        "",
    ]
    warm = results["warm-up"]
    lines += [
        f"## `python -m sklearn_order warmup --jobs {warm['jobs']}`, empty cache",
        "",
        f"{warm['variants']} variants (every job × estimator setting × storage × "
        f"dtype it lists), of which {warm['variants compiled']} compiled something "
        f"new: {warm['functions compiled']} functions in {warm['wall']:.1f} s wall, "
        f"{warm['cpu']:.1f} s CPU over its processes. The rest loaded what an "
        "earlier variant had compiled.",
        "",
        "Then a first computation of each kind, each in a fresh process, "
        "loading from that cache:",
        "",
        "| computation | seconds | functions compiled |",
        "|---|---|---|",
    ]
    for load in warm["loads"]:
        lines.append(
            f"| {load['variant']} | {load['seconds']:.2f} | {load['compiled']} |"
        )
    baseline = results.get("warm-up of the baseline")
    if baseline is not None:
        lines += [
            "",
            f"The same command for the package at git ref `{meta['baseline']}`, "
            "run just before it on the same machine: "
            f"{baseline['variants']} variants, {baseline['functions compiled']} "
            f"functions in {baseline['wall']:.1f} s wall, {baseline['cpu']:.1f} s "
            f"CPU (this checkout ÷ baseline: {warm['wall'] / baseline['wall']:.2f} "
            f"wall, {warm['cpu'] / baseline['cpu']:.2f} CPU; one run each).",
        ]
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2, help="warm-up processes")
    parser.add_argument(
        "--baseline", help="git ref whose warm-up is also timed, just before this one"
    )
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--out", default=str(ROOT / "docs" / "benchmarks"))
    _harness.script_arguments(parser)
    args = parser.parse_args(argv)
    meta = _harness.stamp()
    results = {
        "first fit": {kind: profile_first_fit(kind) for kind in ("dense", "csr")},
        "optimizer": optimizer_share(),
    }
    if args.baseline:
        meta["baseline"] = args.baseline
        with tempfile.TemporaryDirectory() as directory:
            root = _harness.export_package(args.baseline, directory)
            results["warm-up of the baseline"] = warm_up_cost(args.jobs, root, False)
    results["warm-up"] = warm_up_cost(args.jobs)
    table = markdown(results, meta)
    print(table)
    out = None if args.no_write else Path(args.out) / "compile_profile.md"
    _harness.write_results(table, {"meta": meta, "results": results}, out, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
