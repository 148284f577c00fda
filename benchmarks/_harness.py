"""The benchmark harness: the one definition of timing, provenance, result
files, the A/B mode, and how one script runs another.

Every script in ``benchmarks/`` takes these from here.

Timing
    :func:`timed` (seconds of one call), :func:`timed_call` (and its
    result), :func:`clocks` (wall and CPU seconds), :func:`best_of`,
    :func:`stopwatch` (a run's elapsed time);
    :func:`alternate` and :func:`paired` (the functions compared run in turn,
    round after round, so that a shared machine's changing load falls on all
    of them alike) and :func:`median_ratio` (the median of the per-round
    ratios, robust to that load); :func:`per_epoch` and
    :func:`paired_per_epoch` (an epoch's time as the difference of a long and
    a short fit over the epochs between them, so that a fit's fixed cost
    cancels). Fresh processes: :func:`environment`, :func:`run_python` and
    :func:`run_process` (wall and CPU seconds of a command); a child that
    times itself imports this module (it is on the ``PYTHONPATH``
    :func:`environment` gives); :func:`compile_seconds` (a first fit's
    compile time, in fresh processes).
Provenance
    :func:`stamp`: the date (UTC), the command, the machine, the git commit
    and the load average of a run; :func:`provenance`: its Markdown line.
Result files
    :func:`write_results`: a run's Markdown report and its numbers as JSON
    (:func:`to_json`), side by side.
Scripts
    Each script is a command with a ``main(argv=None)`` and a ``--json
    PATH`` option (:func:`script_arguments`) that writes every number it
    measured to ``PATH``. :func:`run_script` runs a script in a fresh process
    with ``--json`` and returns those numbers: ``run_suite.py`` measures
    through it, never by importing another script's measuring functions (it
    imports only the functions that render their tables, to render the
    suite's report from ``suite.json``).
A/B
    :func:`ab_run` compares packages of two git commits (or a commit and the
    working tree, :data:`WORKTREE`): each side's ``sklearn_order`` is copied
    into a folder of its own (:func:`package_copy`) with its own Numba cache,
    and every measurement is a fresh process that imports that copy by path;
    the processes run in blocks of one per side, each block in a seeded
    random order (:func:`ab_schedule`). Beside every A/B the same schedule
    runs an A/A control: a second copy of A, whose ratio to A is what the
    harness cannot resolve. :func:`ab_summary` gives, per case, the median of
    the per-process values of each side, and the medians of the per-block
    ratios B ÷ A and A′ ÷ A with their bootstrap intervals.
    :func:`reference_epochs` is a fixed workload a child can time beside its
    fits, the same machine code on every side, to divide out how fast the
    machine ran that process. ``bench_kernel_ab.py`` is its command line.

Run as a script, it prints this run's :func:`stamp`.
"""

import importlib.util
import json
import math
import os
import platform
import random
import resource
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

# NumPy is imported in the functions that use it: a child timing
# ``import sklearn_order`` imports this module first, and must not have
# NumPy loaded already.

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

# --------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------


def clocks(function, *args, **kwargs):
    """``(wall seconds, CPU seconds of this process, result)`` of one call.

    The CPU time is less sensitive to the load of a shared machine.
    """
    start, cpu = time.perf_counter(), time.process_time()
    result = function(*args, **kwargs)
    return time.perf_counter() - start, time.process_time() - cpu, result


def stopwatch():
    """A function returning the seconds since this call (a run's total time)."""
    start = time.perf_counter()
    return lambda: time.perf_counter() - start


def timed_call(function, *args, **kwargs):
    """``(seconds, result)`` of one call of ``function(*args, **kwargs)``."""
    wall, _, result = clocks(function, *args, **kwargs)
    return wall, result


def timed(function, *args, **kwargs):
    """Wall-clock seconds of one call of ``function(*args, **kwargs)``."""
    return timed_call(function, *args, **kwargs)[0]


def best_of(repeats, function, *args, **kwargs):
    """``(least seconds, last result)`` of ``repeats`` calls of ``function``."""
    best, result = math.inf, None
    for _ in range(repeats):
        seconds, result = timed_call(function, *args, **kwargs)
        best = min(best, seconds)
    return best, result


def alternate(functions, repeats, after_round=None):
    """Call ``functions`` in turn, ``repeats`` rounds; their results by label.

    Parameters
    ----------
    functions : dict of str to callable
        Called without arguments, in the dict's order, once per round.
    repeats : int
    after_round : callable, optional
        ``after_round(results, n_rounds)`` after each round, with the results
        so far (so that a long run can leave its files early).

    Returns
    -------
    dict of str to list
    """
    results = {label: [] for label in functions}
    for n_rounds in range(1, repeats + 1):
        for label, function in functions.items():
            results[label].append(function())
        if after_round is not None:
            after_round(results, n_rounds)
    return results


def paired(functions, repeats):
    """Seconds of each of ``functions``, timed in turn for ``repeats`` rounds.

    Returns
    -------
    dict of str to ndarray of shape (repeats,)
        Round ``r`` of every label ran back to back: compare them by
        :func:`median_ratio`.
    """
    import numpy as np

    times = alternate(
        {label: (lambda f=f: timed(f)) for label, f in functions.items()}, repeats
    )
    return {label: np.asarray(seconds) for label, seconds in times.items()}


def median_ratio(numerators, denominators):
    """Median of the per-round ratios ``numerators[r] / denominators[r]``."""
    import numpy as np

    return float(np.median(np.asarray(numerators) / np.asarray(denominators)))


def _epoch_split(short_seconds, long_seconds, short, epochs):
    """``(seconds per epoch, fixed seconds)`` from a short and a long fit's times."""
    epoch = (long_seconds - short_seconds) / (epochs - short)
    return epoch, short_seconds - short * epoch


def per_epoch(fit, epochs, short=1):
    """One epoch's seconds as the difference of two fits, and the fixed cost.

    Parameters
    ----------
    fit : callable
        ``fit(max_iter)`` fits for ``max_iter`` epochs.
    epochs : int
        Epochs of the long fit (more than ``short``).
    short : int, default=1
        Epochs of the short fit.

    Returns
    -------
    epoch : float
        ``(t_long − t_short) / (epochs − short)``: the fit's fixed cost
        (validation, allocations) cancels.
    fixed : float
        What is left of the short fit: ``t_short − short × epoch``.
    """
    if epochs <= short:
        raise ValueError(f"epochs ({epochs}) must exceed short ({short})")
    short_seconds = timed(fit, short)
    return _epoch_split(short_seconds, timed(fit, epochs), short, epochs)


#: The clocks a measurement may read: wall time, or this process's CPU time
#: (user + system), which leaves out the time a loaded machine gave the
#: process's core to others.
CLOCKS = ("wall", "cpu")


def paired_per_epoch(fits, epochs, repeats, short=1, clock="wall"):
    """:func:`per_epoch` of several fits, alternating, round after round.

    Each round fits every label for ``short`` epochs, then every label for
    ``epochs``.

    Parameters
    ----------
    fits : dict of str to callable
        ``fit(max_iter)``; what the long fit returns is kept.
    epochs, repeats, short : int
    clock : {"wall", "cpu"}, default="wall"
        Which of :func:`clocks` times the fits.

    Returns
    -------
    dict of str to list of dict
        Per label and round: ``epoch`` and ``fixed`` (as :func:`per_epoch`),
        ``short`` and ``long`` (the fits' seconds) and ``result`` (what the
        long fit returned).
    """
    if epochs <= short:
        raise ValueError(f"epochs ({epochs}) must exceed short ({short})")
    which = CLOCKS.index(clock)

    def seconds_and_result(fit, max_iter):
        times = clocks(fit, max_iter)
        return times[which], times[2]

    samples = {label: [] for label in fits}
    for _ in range(repeats):
        shorts = {
            label: seconds_and_result(fit, short)[0] for label, fit in fits.items()
        }
        for label, fit in fits.items():
            seconds, result = seconds_and_result(fit, epochs)
            epoch, fixed = _epoch_split(shorts[label], seconds, short, epochs)
            samples[label].append(
                {
                    "epoch": epoch,
                    "fixed": fixed,
                    "short": shorts[label],
                    "long": seconds,
                    "result": result,
                }
            )
    return samples


# A fixed reference workload
# --------------------------------------------------------------------------

_REFERENCE_LOOPS = {}


def _reference_loops():
    """The compiled reference loops (compiled again after :func:`fresh_import`)."""
    if not _REFERENCE_LOOPS:
        import numba

        @numba.njit(nogil=True)
        def dense(X, order, w, eta, n_epochs):
            for _ in range(n_epochs):
                for q in range(order.shape[0]):
                    i = order[q]
                    s = 0.0
                    for j in range(X.shape[1]):
                        s += X[i, j] * w[j]
                    g = eta * (s - 1.0)
                    for j in range(X.shape[1]):
                        w[j] -= g * X[i, j]

        @numba.njit(nogil=True)
        def csr(data, indices, indptr, order, w, eta, n_epochs):
            for _ in range(n_epochs):
                for q in range(order.shape[0]):
                    i = order[q]
                    s = 0.0
                    for p in range(indptr[i], indptr[i + 1]):
                        s += data[p] * w[indices[p]]
                    g = eta * (s - 1.0)
                    for p in range(indptr[i], indptr[i + 1]):
                        w[indices[p]] -= g * data[p]

        _REFERENCE_LOOPS.update(dense=dense, csr=csr)
    return _REFERENCE_LOOPS


def reference_epochs(X, seed=0):
    """A fixed workload over the rows of ``X``: ``run(n_epochs)`` runs it.

    Each epoch visits every row once in a seeded random order and makes one
    least-squares SGD step on it (a dot product with the weights, then the
    row added to them), as a batch-1 SGD epoch reads and writes memory. It
    does not use :mod:`sklearn_order`: timed in the same process as a fit,
    beside it, it is the same machine code on every side of an A/B, and the
    fit's time divided by its time takes out how fast the machine ran that
    process (its share of the memory bandwidth, the pages its arrays got).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features) or CSR matrix
    seed : int, default=0
        Seeds the row order.

    Returns
    -------
    callable
        ``run(n_epochs)`` runs ``n_epochs`` more epochs and returns the
        weights; compiled already.
    """
    import numpy as np
    from scipy import sparse

    loops = _reference_loops()
    order = np.random.default_rng(seed).permutation(X.shape[0])
    w = np.zeros(X.shape[1])
    if sparse.issparse(X):
        X = sparse.csr_matrix(X)
        sqnorms = np.asarray(X.multiply(X).sum(axis=1)).ravel()
        args = (X.data, X.indices, X.indptr)
        loop = loops["csr"]
    else:
        sqnorms = np.einsum("ij,ij->i", X, X, dtype=np.float64)
        args = (X,)
        loop = loops["dense"]
    # below 2 / ‖x‖² every step contracts: the weights stay finite
    eta = 0.5 / max(float(sqnorms.max()), 1e-12)

    def run(n_epochs):
        loop(*args, order, w, eta, n_epochs)
        return w

    run(0)
    return run


def fresh_import(name="sklearn_order"):
    """Import package ``name`` anew in this process, with new compiled code.

    The package's modules are dropped from ``sys.modules`` and imported
    again: its Numba dispatchers are new objects, which load the kernels from
    the on-disk cache into new places in memory; the reference loops of
    :func:`reference_epochs` are compiled again too. Where a kernel's machine
    code lands changes its speed: in ``docs/benchmarks/code_placement.md``
    (``bench_code_placement.py``) the slowest of four imports of one package
    runs the same averaged dense fit 1.35 times as long as the fastest. A
    process that measures several imports averages over those placements
    instead of drawing one.

    Returns
    -------
    module
    """
    import importlib

    for module in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
        del sys.modules[module]
    _REFERENCE_LOOPS.clear()
    return importlib.import_module(name)


# --------------------------------------------------------------------------
# Fresh processes
# --------------------------------------------------------------------------


def environment(package_root=None, cache=None, **variables):
    """This process's environment for a child, with this folder importable.

    Parameters
    ----------
    package_root : path, optional
        A folder holding an ``sklearn_order`` to import first (before an
        installed one). Default: the folder of the one this process imports,
        so that a child measures the same package as its parent.
    cache : path, optional
        The child's Numba cache folder (``NUMBA_CACHE_DIR``).
    **variables : str
        More environment variables.
    """
    env = dict(os.environ)
    if package_root is None:
        spec = importlib.util.find_spec("sklearn_order")
        package_root = Path(spec.origin).parents[1] if spec else None
    # this folder last: a child that times itself imports the harness
    paths = [str(package_root)] if package_root is not None else []
    paths += [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join([*paths, str(HERE)])
    if cache is not None:
        env["NUMBA_CACHE_DIR"] = str(cache)
    env.update({name: str(value) for name, value in variables.items()})
    return env


def _children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_process(command, env=None, cwd=None):
    """Run ``command`` to its end; its wall and CPU seconds and its output.

    The CPU time (user + system of the child and its children) is less
    sensitive to the load of a shared machine than the wall time.

    Returns
    -------
    wall, cpu : float
    done : subprocess.CompletedProcess
        With ``stdout`` and ``stderr`` as text.

    Raises
    ------
    RuntimeError
        If the command fails, with the end of its error output.
    """
    start, cpu = time.perf_counter(), _children_cpu()
    done = subprocess.run(
        [str(part) for part in command],
        env=env,
        cwd=tempfile.gettempdir() if cwd is None else cwd,
        capture_output=True,
        text=True,
    )
    wall, cpu = time.perf_counter() - start, _children_cpu() - cpu
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(map(str, command))[:200]} failed "
            f"({done.returncode}):\n{done.stderr[-3000:]}"
        )
    return wall, cpu, done


def run_python(code, *args, env=None):
    """The output of ``python -c code args`` in a fresh process (from a temp folder).

    ``env`` defaults to :func:`environment`'s, in which the child can
    ``import _harness``.
    """
    command = [sys.executable, "-c", code, *args]
    return run_process(command, env=environment() if env is None else env)[2].stdout


# The first fit in a fresh process, timed after the imports, then a warm one.
_COLD_FIT = """
import sys
import numpy as np
from scipy import sparse
from _harness import timed
from sklearn_order import BackwardSGDClassifier
X = eval(sys.argv[1])
y = np.arange(X.shape[0]) % 2
for label in ("cold", "warm"):
    print(timed(BackwardSGDClassifier(tol=None, max_iter=1).fit, X, y))
"""


def compile_seconds(make_X="np.random.default_rng(0).standard_normal((64, 8))"):
    """First-fit time in a fresh process minus a warm fit's, without and with a cache.

    Parameters
    ----------
    make_X : str
        The expression (NumPy as ``np``, SciPy's sparse module as ``sparse``)
        building the small training matrix: its storage and dtype choose the
        kernels compiled.

    Returns
    -------
    dict
        ``"no cache"``: seconds with an empty Numba cache; ``"from cache"``:
        the same again, loading what the first run compiled.
    """
    results = {}
    with tempfile.TemporaryDirectory() as cache:
        for label in ("no cache", "from cache"):
            out = run_python(_COLD_FIT, make_X, env=environment(cache=cache))
            cold, warm = (float(value) for value in out.split())
            results[label] = cold - warm
    return results


# --------------------------------------------------------------------------
# Provenance
# --------------------------------------------------------------------------


def git_commit(root=ROOT, ref="HEAD"):
    """Short hash of ``ref`` (``HEAD``: with ``-dirty`` if the tree has changes).

    ``"unknown"`` outside git.
    """
    try:
        commit = _git(root, "rev-parse", "--short", ref).strip()
        if ref == "HEAD" and _git(root, "status", "--porcelain", "--", "."):
            commit += "-dirty"
        return commit
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _git(root, *args):
    return subprocess.run(
        ["git", "-C", str(root), *args], capture_output=True, text=True, check=True
    ).stdout


def machine():
    """The machine: the package's description of it, and the platform string."""
    # imported here: a child measuring another commit's package never calls it
    from sklearn_order._machine import machine_description

    return {**machine_description(), "platform": platform.platform()}


def stamp(command=None):
    """This run's date (UTC), command, machine, git commit and load average.

    Parameters
    ----------
    command : str, optional
        Default: ``python benchmarks/<script> <arguments>`` of this process.

    Returns
    -------
    dict
        ``date``, ``command``, ``machine`` (:func:`machine`), ``commit``
        (:func:`git_commit`) and ``load`` (1, 5 and 15 minutes).
    """
    if command is None:
        script = Path(sys.argv[0]).resolve()
        name = (
            script.relative_to(ROOT).as_posix()
            if script.is_relative_to(ROOT)
            else script.name
        )
        command = " ".join(["python", name, *sys.argv[1:]])
    return {
        # datetime.UTC is Python 3.11+; the package supports 3.10
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),  # noqa: UP017
        "command": command,
        "machine": machine(),
        "commit": git_commit(),
        "load": " ".join(f"{value:.2f}" for value in os.getloadavg()),
    }


def provenance(run, quick=False):
    """One Markdown line saying when, where and how ``run`` (a :func:`stamp`) ran."""
    m = run["machine"]
    commit = f" at commit `{run['commit']}`" if run.get("commit") else ""
    return (
        f"Measured on {run['date']} on {m['cpu']} ({m['machine']}, "
        f"{m['cores']} cores, Python {m['python']}), "
        f"{'quick' if quick else 'full'} run of `{run['command']}`{commit}."
    )


# --------------------------------------------------------------------------
# Result files
# --------------------------------------------------------------------------


def to_json(value):
    """``value`` with NumPy scalars and arrays as Python's; NaN and inf as ``None``."""
    import numpy as np

    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_json(value.tolist())
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        value = float(value)
        return value if np.isfinite(value) else None
    return value


def write_results(markdown, data=None, path=None, json_path=None):
    """Write a run's report (Markdown) and its numbers (JSON).

    Parameters
    ----------
    markdown : str or None
        The report, written to ``path`` (a newline added if it lacks one).
    data : object, optional
        Every number of the run (through :func:`to_json`): written to
        ``json_path``, or beside ``path`` with the suffix ``.json``.
    path, json_path : path, optional
        Nothing is written where both are ``None``.

    Returns
    -------
    list of Path
        The files written.
    """
    written = []
    if path is not None and markdown is not None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        text = markdown if markdown.endswith("\n") else markdown + "\n"
        path.write_text(text, encoding="utf-8")
        written.append(path)
        if json_path is None and data is not None:
            json_path = path.with_suffix(".json")
    if json_path is not None and data is not None:
        json_path = Path(json_path)
        json_path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(to_json(data), indent=1, allow_nan=False)
        json_path.write_text(text + "\n", encoding="utf-8")
        written.append(json_path)
    return written


# --------------------------------------------------------------------------
# Scripts
# --------------------------------------------------------------------------


def script_arguments(parser):
    """Add the options every script takes (``--json``) to ``parser``."""
    parser.add_argument(
        "--json",
        type=Path,
        metavar="PATH",
        help="also write every number measured to this JSON file",
    )
    return parser


def run_script(name, argv=(), env=None):
    """Run ``benchmarks/<name>.py argv --json TMP`` in a fresh process.

    Returns
    -------
    object
        What the script wrote to its ``--json`` file.
    """
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / f"{name}.json"
        command = [sys.executable, HERE / f"{name}.py", *argv, "--json", path]
        run_process(command, env=environment() if env is None else env, cwd=ROOT)
        return json.loads(path.read_text())


# --------------------------------------------------------------------------
# A/B: packages of two commits, each measured in fresh processes
# --------------------------------------------------------------------------

#: The ``ref`` of :func:`package_copy` that means the working tree.
WORKTREE = "worktree"
#: The sides of an A/B run: A, its A/A control (A again) and B.
SIDES = ("A", "A'", "B")


def export_package(ref, directory):
    """Extract ``ref``'s ``sklearn_order`` into ``directory`` (``git archive``)."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", ref, "sklearn_order"],
        check=True,
        capture_output=True,
    ).stdout
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "archive.tar"
    path.write_bytes(archive)
    with tarfile.open(path) as tar:
        tar.extractall(directory, filter="data")
    path.unlink()
    return directory


def package_copy(ref, directory):
    """A folder holding ``ref``'s ``sklearn_order`` (:data:`WORKTREE`: this tree's).

    The working tree's package is copied without its caches, so that every
    side of an A/B run is a copy that compiles into a cache of its own.
    """
    if ref != WORKTREE:
        return export_package(ref, directory)
    directory = Path(directory)
    shutil.copytree(
        ROOT / "sklearn_order",
        directory / "sklearn_order",
        ignore=shutil.ignore_patterns("__pycache__", "*.nbi", "*.nbc"),
    )
    return directory


def describe_ref(ref):
    """``ref`` with its commit: ``"main (1a2b3c4)"``; the working tree's state."""
    if ref == WORKTREE:
        return f"the working tree (on {git_commit()})"
    return f"{ref} ({_git(ROOT, 'rev-parse', '--short', ref).strip()})"


def ab_schedule(labels, processes, seed):
    """``processes`` blocks, each running every label once, in a random order.

    Block ``k`` holds the ``k``-th process of every side, one after the
    other, so that the sides of a block meet the same state of a shared
    machine: :func:`ab_summary` compares them block by block. The order
    within each block is drawn from ``seed``.
    """
    rng = random.Random(seed)
    slots = []
    for _ in range(processes):
        block = list(labels)
        rng.shuffle(block)
        slots += block
    return slots


#: The variables of every A/B child: one thread for the BLAS and for Numba
#: (single-threaded SGD; idle threads would compete with the fit).
AB_THREADS = {
    "NUMBA_NUM_THREADS": 1,
    "OMP_NUM_THREADS": 1,
    "OPENBLAS_NUM_THREADS": 1,
    "MKL_NUM_THREADS": 1,
}


def ab_run(script, child_argv, refs, processes, seed=0, log=print):
    """Run ``script``'s child in fresh processes for each side, in a random order.

    Parameters
    ----------
    script : path
        A script whose ``child_argv`` mode imports ``sklearn_order``, measures
        and prints one JSON line last: ``{"package": sklearn_order.__file__,
        "times": {case: seconds}}``. With ``--prime`` added it only compiles.
    child_argv : list of str
    refs : dict of str to str
        The git ref (or :data:`WORKTREE`) of each side, by label
        (:data:`SIDES`: A and A′ the same ref).
    processes : int
        Processes per side.
    seed : int, default=0
        Seeds the schedule.
    log : callable, default=print

    Returns
    -------
    dict of str to list of dict
        Per side, the ``times`` of its processes in the order they ran.

    Raises
    ------
    RuntimeError
        If a child imported a package other than its side's copy.
    """
    samples = {label: [] for label in refs}
    with tempfile.TemporaryDirectory() as scratch:
        roots, envs = {}, {}
        for label, ref in refs.items():
            # a folder name without the prime of A'
            folder = Path(scratch) / f"side{list(refs).index(label)}"
            roots[label] = package_copy(ref, folder / "package")
            envs[label] = environment(roots[label], folder / "cache", **AB_THREADS)

        def child(label, *extra):
            _, _, done = run_process(
                [sys.executable, script, *child_argv, *extra], env=envs[label]
            )
            report = json.loads(done.stdout.strip().splitlines()[-1])
            package = Path(report["package"]).resolve()
            if not package.is_relative_to(roots[label].resolve()):
                raise RuntimeError(f"side {label} imported {package}")
            return report

        for label in refs:  # compile each side's kernels into its cache
            log(f"compiling side {label} ({refs[label]})")
            child(label, "--prime")
        schedule = ab_schedule(list(refs), processes, seed)
        for number, label in enumerate(schedule, 1):
            samples[label].append(child(label)["times"])
            log(f"process {number}/{len(schedule)}, side {label}: {samples[label][-1]}")
    return samples


def bootstrap_ratio(numerator, denominator, seed=0, n_resamples=2000, level=0.9):
    """Median of paired ratios and its bootstrap interval (pairs resampled).

    Parameters
    ----------
    numerator, denominator : sequence of float
        Paired measurements: ``numerator[k]`` and ``denominator[k]`` come
        from the same block of :func:`ab_schedule`.

    Returns
    -------
    ratio : float
        ``median(numerator[k] / denominator[k])`` over the blocks ``k``.
    low, high : float
        The ``level`` percentile interval of that median over
        ``n_resamples`` resamplings of the blocks, with replacement.
    """
    import numpy as np

    ratios = np.asarray(numerator, float) / np.asarray(denominator, float)
    rng = np.random.default_rng(seed)
    medians = np.median(
        ratios[rng.integers(0, len(ratios), (n_resamples, len(ratios)))], axis=1
    )
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(medians, [tail, 100 - tail])
    return float(np.median(ratios)), float(low), float(high)


def ab_summary(samples, seed=0):
    """Per case: each side's median per-process value, B ÷ A and A′ ÷ A.

    Parameters
    ----------
    samples : dict
        :func:`ab_run`'s result (sides :data:`SIDES`): per side, one dict of
        values by case per block of the schedule, in block order.
    seed : int, default=0
        Seeds the bootstraps.

    Returns
    -------
    list of dict
        Per case: ``case``; ``A``, ``A'``, ``B`` (medians over the
        processes); ``B/A`` and ``A'/A``, the medians of the per-block
        ratios (:func:`bootstrap_ratio`), with their 90% bootstrap
        intervals (``B/A low`` …) and half-widths relative to the ratio
        (``B/A spread``, ``A'/A spread``); ``processes`` per side.
    """
    import numpy as np

    cases = list(samples["A"][0])
    rows = []
    for case in cases:
        values = {side: [s[case] for s in samples[side]] for side in SIDES}
        row = {"case": case, "processes": len(values["A"])}
        row.update({side: float(np.median(values[side])) for side in SIDES})
        for side in ("B", "A'"):
            ratio, low, high = bootstrap_ratio(values[side], values["A"], seed)
            name = f"{side}/A"
            row[name], row[f"{name} low"], row[f"{name} high"] = ratio, low, high
            row[f"{name} spread"] = (high - low) / 2 / ratio
        rows.append(row)
    return rows


def ab_table(rows, unit="s/epoch", digits=4):
    """The Markdown table of :func:`ab_summary`'s rows (values in ``unit``)."""
    lines = [
        f"| case | A {unit} | B {unit} | **B ÷ A** (90% interval) "
        "| A′ ÷ A (90% interval) | A/A spread |",
        "|---|---|---|---|---|---|",
    ]
    aa = "A'/A"  # the control's keys
    for r in rows:
        lines.append(
            f"| {r['case']} | {r['A']:.{digits}f} | {r['B']:.{digits}f} "
            f"| **{r['B/A']:.3f}** ({r['B/A low']:.3f}–{r['B/A high']:.3f}) "
            f"| {r[aa]:.3f} ({r[aa + ' low']:.3f}–{r[aa + ' high']:.3f}) "
            f"| ±{100 * r[aa + ' spread']:.1f}% |"
        )
    return "\n".join(lines)


#: What :func:`ab_table`'s columns mean.
AB_LEGEND = (
    "**A**, **B**: the median over each side's processes of what each process "
    "measured. **B ÷ A**: the median over the schedule's blocks of the ratio "
    "of B's process to A's process in the same block (each block runs A, A′ "
    "and B once, one after the other, in a random order), with the 5th–95th "
    "percentiles of that median over bootstrap resamplings of the blocks. "
    "**A′ ÷ A**: the same for a second copy of A, the A/A control: identical "
    "code, so its distance from 1 and its interval are what this harness "
    "cannot resolve. **A/A spread**: the control interval's half-width over "
    "its ratio. A change in B ÷ A is resolved where its interval lies outside "
    "the control's."
)


if __name__ == "__main__":
    print(json.dumps(stamp(), indent=1))
