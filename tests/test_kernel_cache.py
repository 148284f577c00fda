"""The kernel cache: keyed on the kernel sources, unbreakable, and audible.

Each test fits in fresh processes on a copy of the package (the cache is
keyed on the installation's path and sources, so a copy starts cold).
"""

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from numpy.testing import assert_allclose

import sklearn_order
from sklearn_order._cache import COMPILE_NOTICE, kernel_sources

PACKAGE = Path(sklearn_order.__file__).parent

_FIT = textwrap.dedent(
    """
    import json, sys, warnings
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        import numpy as np
        import sklearn_order
        from sklearn_order import BackwardSGDRegressor
        rng = np.random.default_rng(0)
        X = rng.normal(size=(40, 3)); y = X @ np.array([1.0, -2.0, 0.5]) + 0.3
        model = BackwardSGDRegressor(max_iter=2, tol=None, random_state=0).fit(X, y)
    from sklearn_order._cache import package_kernels
    loaded = {  # the kernels this fit loaded from the cache
        f"{kernel.py_func.__module__}.{kernel.py_func.__qualname__}"
        for kernel in package_kernels()
        if kernel.stats.cache_hits
    }
    print(json.dumps({
        "loaded": sorted(loaded),
        "package": sklearn_order.__file__,
        "coef": model.coef_.tolist() + model.intercept_.tolist(),
        "warnings": [str(w.message) for w in caught
                     if "sklearn_order" in str(w.message)],
    }))
    """
)


def _copy_package(root):
    shutil.copytree(
        PACKAGE, root / "sklearn_order", ignore=shutil.ignore_patterns("__pycache__")
    )
    return root


def _fit(root, cache, **env):
    """Fit in a fresh process importing the package under ``root``.

    Returns the printed record, with the process's ``stderr`` added.
    """
    result = subprocess.run(
        [sys.executable, "-c", _FIT],
        cwd=root,
        env={
            **os.environ,
            "PYTHONPATH": str(root),
            "NUMBA_CACHE_DIR": str(cache),
            "PYTHONDONTWRITEBYTECODE": "1",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout.splitlines()[-1])
    assert record["package"] == str(root / "sklearn_order" / "__init__.py")
    record["stderr"] = result.stderr
    return record


@pytest.fixture(scope="module")
def cold_run(tmp_path_factory):
    """A package copy, its cache, and the record of its first (cold) fit."""
    root = _copy_package(tmp_path_factory.mktemp("tree"))
    cache = tmp_path_factory.mktemp("cache")
    return root, cache, _fit(root, cache)


def test_the_first_compile_says_so_once_and_a_warm_cache_is_silent(cold_run):
    root, cache, cold = cold_run
    assert cold["stderr"].count(COMPILE_NOTICE) == 1, cold["stderr"]
    assert cold["warnings"] == []
    warm = _fit(root, cache)
    assert warm["stderr"] == ""
    assert warm["warnings"] == []
    assert warm["coef"] == cold["coef"]


def _damage(cache):
    """Truncate, empty or fill with garbage one file of every cached kernel.

    The index of one kernel, the data of the next (its index intact, so the
    data file is read), each kind of damage in turn.

    Returns
    -------
    set of str
        The kernels' full names.
    """
    indexes = sorted(cache.rglob("*.nbi"))
    assert len(indexes) >= 6  # every kind of damage, to an index and to a data file
    for number, index in enumerate(indexes):
        path = (
            index if number % 2 == 0 else next(index.parent.glob(index.stem + ".*.nbc"))
        )
        content = path.read_bytes()
        kind = number // 2 % 3
        path.write_bytes((content[: len(content) // 2], b"", b"garbage\n")[kind])
    # "<module>.<qualname>-<line>.py<version>.nbi"
    return {index.name.rpartition("-")[0] for index in indexes}


def test_unreadable_cache_files_are_compiled_over_and_reported_once(cold_run, tmp_path):
    root, warm_cache, cold = cold_run
    cache = tmp_path / "cache"
    shutil.copytree(warm_cache, cache)
    damaged = _damage(cache)
    repaired = _fit(root, cache)
    assert repaired["coef"] == cold["coef"]
    assert len(repaired["warnings"]) == 1, repaired["warnings"]
    assert "could not be read" in repaired["warnings"][0]
    again = _fit(root, cache)
    assert again["warnings"] == []
    assert again["coef"] == cold["coef"]
    # loaded, not compiled: the damaged files this fit reads were replaced
    assert again["stderr"] == ""
    assert again["loaded"] and set(again["loaded"]) <= damaged


def test_an_edited_kernel_dependency_is_recompiled(tmp_path):
    root = _copy_package(tmp_path / "tree")
    cache = tmp_path / "cache"
    before = _fit(root, cache)
    (directory,) = (cache / "sklearn_order").glob("kernels-*")
    # a file that the kernels call but that does not hold them
    losses = root / "sklearn_order" / "losses.py"
    assert losses in kernel_sources(root / "sklearn_order")
    source = losses.read_text()
    edited = source.replace(
        "elif code == SQUARED_ERROR:\n        return p - y",
        "elif code == SQUARED_ERROR:\n        return 0.0 * (p - y)",
    )
    assert edited != source
    losses.write_text(edited)
    after = _fit(root, cache)
    assert after["coef"] != before["coef"]
    assert after["stderr"].count(COMPILE_NOTICE) == 1  # compiled, not loaded
    # in a new directory; the stale one of this installation is gone
    (new_directory,) = (cache / "sklearn_order").glob("kernels-*")
    assert new_directory.name != directory.name
    # what the edited sources compute, without any compiled code
    reference = _fit(root, tmp_path / "unused", NUMBA_DISABLE_JIT="1")
    assert_allclose(after["coef"], reference["coef"], rtol=1e-12, atol=1e-15)


def test_kernel_sources_are_the_kernel_modules_and_what_they_import():
    names = {path.relative_to(PACKAGE).as_posix() for path in kernel_sources()}
    # modules that declare kernels, and what those import
    assert {"_jit.py", "losses.py", "kernels/cpu.py", "kernels/storage.py"} <= names
    assert "kernels/__init__.py" in names  # constants the kernels read
    # host code only: editing it recompiles nothing
    assert not names & {"estimators.py", "cli.py", "_base.py", "diagnostics.py"}


def test_a_save_reads_and_writes_the_index_under_an_exclusive_lock(
    tmp_path, monkeypatch
):
    # Numba's save reads the index, takes the first data file name not in it,
    # then writes index and data. Two warm-up workers saving two signatures
    # of one kernel between those steps would take the same name, and the
    # index would send one signature to the other's machine code. So every
    # read of the index a save makes must happen while the save holds the
    # lock beside it: another open file then cannot take the lock (no sleep,
    # no timing: a probe that does not wait).
    import fcntl
    import threading

    from sklearn_order import _cache

    read_index = _cache._CheckedCacheFile._load_index
    probes = []

    def probing_read(self):
        with open(self._index_path + ".lock", "a") as other:
            try:
                fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                probes.append("locked")
            else:
                fcntl.flock(other, fcntl.LOCK_UN)
                probes.append("free")
        return read_index(self)

    monkeypatch.setattr(_cache._CheckedCacheFile, "_load_index", probing_read)

    def save(key):
        # a file object per worker, as each process has its own
        _cache._CheckedCacheFile(str(tmp_path), "kernel", "stamp").save(
            key, f"code of {key}"
        )

    keys = [f"signature {k}" for k in range(3)]
    workers = [threading.Thread(target=save, args=(key,)) for key in keys]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert probes == ["locked"] * len(keys)
    monkeypatch.setattr(_cache._CheckedCacheFile, "_load_index", read_index)
    reader = _cache._CheckedCacheFile(str(tmp_path), "kernel", "stamp")
    assert {key: reader.load(key) for key in keys} == {
        key: f"code of {key}" for key in keys
    }
    assert len(list(tmp_path.glob("kernel.*.nbc"))) == len(keys)


def _plus_one(x):
    return x + 1


def test_an_index_entry_holding_another_signatures_code_is_compiled_over(
    tmp_path, monkeypatch
):
    # A cache written before the save lock (or by anything else) may index
    # one signature to another's data file: the load must notice, compile,
    # and save the signature to a file of its own.
    import pickle
    import warnings

    import numba

    from sklearn_order import _cache

    monkeypatch.setattr(_cache, "cache_directory", lambda: tmp_path)
    monkeypatch.setattr(_cache, "_reported", set())

    def kernel():
        return _cache.cached(numba.njit(_plus_one))

    first = kernel()
    assert first(1) == 2 and first(1.5) == 2.5  # saves int64 and float64
    (index_path,) = tmp_path.glob("*_plus_one*.nbi")
    with open(index_path, "rb") as f:
        version = pickle.load(f)
        stamp, overloads = pickle.loads(f.read())
    int_file, float_file = sorted(overloads.values())
    overloads = {key: int_file for key in overloads}  # both keys: int64 code
    with open(index_path, "wb") as f:
        pickle.dump(version, f, protocol=-1)
        f.write(pickle.dumps((stamp, overloads), protocol=-1))

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert kernel()(1.5) == 2.5
    assert any("holds the code of" in str(w.message) for w in caught)
    again = kernel()
    assert again(1.5) == 2.5 and again(1) == 2
    assert again.stats.cache_hits and not again.stats.cache_misses
