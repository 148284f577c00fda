"""The on-disk cache of the compiled kernels, and the notice that they compile.

Every function declared through the decorators of :mod:`sklearn_order._jit`
gets a :class:`KernelCache` (:func:`cached`) instead of Numba's own
``cache=True``. Numba's cache checks only the source of the kernel's own
file: an edit to a function the kernel calls in another file (a loss, a
penalty, a row operation) leaves the stale machine code in use. Here every
kernel of one installation is cached in one directory named from a hash of
the *kernel sources* (:func:`kernel_sources`), so an edit to any of them
starts a new, empty directory. Only this package's dispatchers use these
classes: other libraries' Numba caching is untouched.

Where the cache lives (the first of these that can be written):

1. ``$NUMBA_CACHE_DIR/sklearn_order/`` when the user sets ``NUMBA_CACHE_DIR``;
2. ``__pycache__/`` inside the installed package, as Numba does by default;
3. the user's cache directory (``~/.cache/sklearn_order/`` on Linux, following
   ``XDG_CACHE_HOME``).

Inside it, ``kernels-<install>-<sources>/`` holds one installation's kernels;
when the sources change, the directories of that installation's earlier
sources are deleted. Deleting the directories is always safe: the kernels are
compiled again on the next fit.

The cache cannot break a fit:

- where no directory can be written (a read-only installation run by a user
  without a writable home, as in a container), the kernels are compiled in
  memory in every process, with one :class:`RuntimeWarning` saying so;
- a cache file that cannot be read (truncated, empty, garbage), or that holds
  the code of another signature than the one it is indexed under, is compiled
  over and replaced, with one :class:`RuntimeWarning` per process;
- a cache file that cannot be written is skipped, with one warning.

The first compilation in a process says so once (:func:`announce_compile`).
"""

import functools
import hashlib
import logging
import re
import shutil
import sys
import tempfile
import threading
import warnings
from contextlib import contextmanager
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None

import llvmlite
import numba
from numba.core.caching import (
    CompileResultCacheImpl,
    FunctionCache,
    IndexDataCacheFile,
    NullCache,
    _CacheLocator,
)
from numba.core.dispatcher import Dispatcher
from numba.core.typing import Signature
from numba.misc.appdirs import AppDirs

#: The package's logger: the compile notice is logged here (see
#: :func:`announce_compile`).
LOGGER = logging.getLogger("sklearn_order")

PACKAGE_DIR = Path(__file__).resolve().parent
_PACKAGE = __name__.partition(".")[0]

#: Logged (or sent to the :func:`compile_notices` callback) when a process
#: first has to compile a kernel that the cache will hold for later runs.
COMPILE_NOTICE = "sklearn_order: compiling kernels (first run only, several seconds)..."
#: The same, when no cache directory is writable.
UNCACHED_COMPILE_NOTICE = (
    "sklearn_order: compiling kernels in memory (several seconds; no writable "
    "cache directory, so every new process compiles them)..."
)


# -- the kernel sources and the cache directory -----------------------------------

# ``from .x import a, b`` / ``from sklearn_order.x import (a, b)`` / ``import
# sklearn_order.x``: the package-internal imports of a module
_IMPORT = re.compile(
    r"^[ \t]*from[ \t]+(\.+[\w.]*|" + _PACKAGE + r"(?:\.[\w.]+)?)[ \t]+import[ \t]+"
    r"(\([^)]*\)|[^\n]*)"
    r"|^[ \t]*import[ \t]+(" + _PACKAGE + r"(?:\.[\w.]+)?)",
    re.MULTILINE,
)


def _module_files(package_dir, parts):
    """The source files of module ``parts`` (a dotted name's parts) in the package."""
    base = package_dir.joinpath(*parts)
    candidates = [base / "__init__.py"]
    if parts:
        candidates.append(base.with_suffix(".py"))
    return [path for path in candidates if path.is_file()]


def _imported_files(package_dir, path):
    """The package's source files that the module at ``path`` imports."""
    relative = path.relative_to(package_dir)
    package = list(relative.parent.parts)  # the package ``path`` belongs to
    files = set()
    for match in _IMPORT.finditer(path.read_text(encoding="utf-8")):
        source, names, absolute = match.groups()
        if absolute is not None:
            files.update(_module_files(package_dir, absolute.split(".")[1:]))
            continue
        if source.startswith("."):
            level = len(source) - len(source.lstrip("."))
            if level - 1 > len(package):
                continue  # beyond the package: not ours
            base = package[: len(package) - (level - 1)]
            target = base + [p for p in source.lstrip(".").split(".") if p]
        else:
            target = source.split(".")[1:]
        files.update(_module_files(package_dir, target))
        # ``from . import name``: name may be a submodule
        for name in re.findall(r"\w+", re.sub(r"\bas\s+\w+", "", names)):
            files.update(_module_files(package_dir, target + [name]))
    return files


def kernel_sources(package_dir=PACKAGE_DIR):
    """The source files whose edits must invalidate the compiled kernels.

    Every module that imports :mod:`sklearn_order._jit` (the modules that
    declare kernels), ``_jit`` itself, and every package module those import,
    transitively: the code a kernel can call and the module-level constants it
    can read, which Numba compiles into it. Host-only modules (the estimators,
    the CLI, the training wiring) can be edited without recompiling.

    Parameters
    ----------
    package_dir : path-like, default=the installed package
        The package's directory.

    Returns
    -------
    list of pathlib.Path
        Sorted.
    """
    package_dir = Path(package_dir)
    jit_module = package_dir / "_jit.py"
    imports = {
        path: _imported_files(package_dir, path)
        for path in sorted(package_dir.rglob("*.py"))
        if "__pycache__" not in path.parts
    }
    pending = [jit_module] + [
        path for path, files in imports.items() if jit_module in files
    ]
    sources = set()
    while pending:
        path = pending.pop()
        if path not in sources:
            sources.add(path)
            pending.extend(imports.get(path, ()))
    return sorted(sources)


def _install_tag(package_dir):
    return hashlib.sha256(str(package_dir).encode()).hexdigest()[:8]


def source_key():
    """The hash that names the installation's cache directory.

    It covers the contents of :func:`kernel_sources`, the installation's path
    and the versions of Python, Numba and llvmlite. The package's version
    number is not needed: its sources are hashed themselves.

    Returns
    -------
    str
        16 hexadecimal digits.
    """
    package_dir = PACKAGE_DIR
    digest = hashlib.sha256()
    for part in (
        sys.version,
        numba.__version__,
        llvmlite.__version__,
        str(package_dir),
    ):
        digest.update(part.encode() + b"\0")
    for path in kernel_sources(package_dir):
        digest.update(path.relative_to(package_dir).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def cache_bases():
    """The directories the cache may live in, in the order they are tried.

    ``$NUMBA_CACHE_DIR/sklearn_order`` (when set), the package's
    ``__pycache__``, and the user's cache directory: the order of Numba's own
    cache locators.

    Returns
    -------
    list of pathlib.Path
    """
    bases = []
    if numba.config.CACHE_DIR:
        bases.append(Path(numba.config.CACHE_DIR) / _PACKAGE)
    bases.append(PACKAGE_DIR / "__pycache__")
    bases.append(Path(AppDirs(appname=_PACKAGE, appauthor=False).user_cache_dir))
    return bases


def _writable(directory):
    try:
        directory.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=directory).close()
    except OSError:
        return False
    return True


@functools.cache
def cache_directory():
    """The directory this process caches kernels in, or ``None`` (in memory).

    Decided once per process: the first writable directory of
    :func:`cache_bases`, joined with ``kernels-<install>-<sources>``. Creating
    it deletes the directories of this installation's earlier sources. When
    none is writable, one :class:`RuntimeWarning` says that the kernels are
    compiled in memory.

    Returns
    -------
    pathlib.Path or None
    """
    tag = _install_tag(PACKAGE_DIR)
    name = f"kernels-{tag}-{source_key()}"
    bases = cache_bases()
    for base in bases:
        directory = base / name
        is_new = not directory.exists()
        if _writable(directory):
            if is_new:
                for stale in base.glob(f"kernels-{tag}-*"):
                    if stale != directory:
                        shutil.rmtree(stale, ignore_errors=True)
            return directory
    warnings.warn(
        "sklearn_order: no writable directory for the compiled kernels (tried "
        + ", ".join(map(str, bases))
        + "); they are compiled in memory, in every process. Set NUMBA_CACHE_DIR "
        "to a writable directory to cache them.",
        RuntimeWarning,
        stacklevel=2,
    )
    return None


# -- reporting, once per process --------------------------------------------------

_LOCK = threading.Lock()
_reported = set()
_listeners = []


def _first_time(event):
    with _LOCK:
        if event in _reported:
            return False
        _reported.add(event)
        return True


def _warn_once(event, message):
    if _first_time(event):
        warnings.warn(message, RuntimeWarning, stacklevel=3)


@contextmanager
def compile_notices(callback):
    """Send the compile notice to ``callback`` instead of the log, while active.

    For a caller that shows its own progress (the command line prints it in
    its progress output).

    Parameters
    ----------
    callback : callable
        Called with the notice (a ``str``), at most once per process, from
        the thread that compiles.
    """
    with _LOCK:
        _listeners.append(callback)
    try:
        yield
    finally:
        with _LOCK:
            _listeners.remove(callback)


def announce_compile():
    """Say, once per process, that kernels are being compiled.

    Called when a kernel is compiled rather than loaded from the cache. The
    notice goes to the innermost :func:`compile_notices` callback, or else is
    logged on the ``"sklearn_order"`` logger at level ``WARNING``.

    Why ``WARNING``: silence is the problem this solves — a first fit that
    takes seconds with nothing on screen looks hung — and a record at
    ``INFO`` is shown nowhere unless the user configured logging, which a
    plain script or notebook has not. Logging, unlike :mod:`warnings`, does
    not turn into an error under ``-W error`` or pytest's
    ``filterwarnings = error`` (test suites start with an empty cache), and
    it appears once per cache fill, not on every run: the precedent is
    Matplotlib's "building the font cache" message. Silence it with
    ``logging.getLogger("sklearn_order").setLevel(logging.ERROR)``.
    """
    if not _first_time("compile"):
        return
    notice = (
        COMPILE_NOTICE if cache_directory() is not None else UNCACHED_COMPILE_NOTICE
    )
    with _LOCK:
        callback = _listeners[-1] if _listeners else None
    if callback is None:
        LOGGER.warning(notice)
    else:
        callback(notice)


# -- Numba's cache machinery, specialized -----------------------------------------


class _KernelLocator(_CacheLocator):
    """Locates every kernel of the package in :func:`cache_directory`."""

    def __init__(self, py_func, directory, key):
        self._py_file = py_func.__code__.co_filename
        self._lineno = py_func.__code__.co_firstlineno
        self._directory = str(directory)
        self._key = key

    def get_cache_path(self):
        return self._directory

    def get_source_stamp(self):
        # the directory is named from the sources: their hash is the stamp
        return self._key

    def get_disambiguator(self):
        return str(self._lineno)

    @classmethod
    def from_function(cls, py_func, py_file):  # pragma: no cover - not searched
        raise NotImplementedError("constructed by _KernelCacheImpl")


class _KernelCacheImpl(CompileResultCacheImpl):
    """Numba's compile-result serialization, with :class:`_KernelLocator`."""

    def __init__(self, py_func):
        directory = cache_directory()
        self._lineno = py_func.__code__.co_firstlineno
        self._locator = _KernelLocator(py_func, directory, directory.name)
        # one directory for the package: the module's full name keeps
        # ``kernels/__init__.py`` and ``__init__.py`` apart
        fullname = f"{py_func.__module__}.{py_func.__qualname__}"
        self._filename_base = self.get_filename_base(
            fullname, getattr(sys, "abiflags", "")
        )


class _CheckedCacheFile(IndexDataCacheFile):
    """An index that cannot be read counts as empty (and is then rewritten).

    Saving reads the index, picks the first unused data file name, and
    writes the index and the data: two processes saving one kernel at once
    (the warm-up's workers) could pick the same name, and the index would
    then send one signature to the other's machine code. The whole save is
    done under an exclusive lock on a file beside the index (POSIX
    ``flock``; released by the OS if the process dies). A key whose data
    file the index also gives to another key (a cache written before the
    lock, or by another tool) is saved to a new file, so that replacing its
    code cannot overwrite the other key's.
    """

    def save(self, key, data):
        if fcntl is None:  # pragma: no cover - not POSIX
            return self._save_unlocked(key, data)
        with open(self._index_path + ".lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                return self._save_unlocked(key, data)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _save_unlocked(self, key, data):
        overloads = self._load_index()
        data_name = overloads.get(key)
        names = list(overloads.values())
        if data_name is None or names.count(data_name) > 1:
            number = 1
            while self._data_name(number) in names:
                number += 1
            data_name = overloads[key] = self._data_name(number)
            self._save_index(overloads)
        self._save_data(data_name, data)

    def _load_index(self):
        try:
            return super()._load_index()
        except Exception as error:  # EOFError, UnpicklingError, ... : any bad file
            _report_unreadable(self._index_path, error)
            return {}


def _report_unreadable(what, error):
    _warn_once(
        "unreadable",
        f"sklearn_order: the kernel cache file {what} could not be read "
        f"({type(error).__name__}: {error}); the kernel is compiled again and the "
        "file replaced. Other unreadable cache files in this process are replaced "
        "without a warning.",
    )


class KernelCache(FunctionCache):
    """The cache of one kernel, in :func:`cache_directory`.

    Like Numba's ``FunctionCache``, except that it is keyed on all the kernel
    sources, a file that cannot be read is compiled over, a file that cannot
    be written is skipped, and a compilation is announced
    (:func:`announce_compile`).

    Parameters
    ----------
    py_func : function
        The kernel's Python function.
    """

    _impl_class = _KernelCacheImpl

    def __init__(self, py_func):
        super().__init__(py_func)
        self._cache_file = _CheckedCacheFile(
            self._cache_path,
            self._impl.filename_base,
            self._impl.locator.get_source_stamp(),
        )

    def load_overload(self, sig, target_context):
        try:
            result = super().load_overload(sig, target_context)
        except Exception as error:  # a data file that does not unpickle or rebuild
            _report_unreadable(f"of {self._name} in {self._cache_path}", error)
            result = None
        if result is not None and tuple(result.signature.args) != _argument_types(sig):
            # the index sent this signature to another one's code: Numba would
            # register that code under its own signature and call it with
            # these arguments
            _report_unreadable(
                f"of {self._name} in {self._cache_path}",
                TypeError(
                    f"it holds the code of {result.signature.args}, "
                    f"not of {_argument_types(sig)}"
                ),
            )
            result = None
        if result is None and self._enabled:
            announce_compile()
        return result

    def save_overload(self, sig, data):
        try:
            super().save_overload(sig, data)
        except OSError as error:
            _warn_once(
                "unwritable",
                f"sklearn_order: could not write to the kernel cache "
                f"{self._cache_path} ({error}); the kernels compiled in this "
                "process are not cached.",
            )


def _argument_types(sig):
    """The argument types of a dispatcher's signature (a tuple or a Signature)."""
    return tuple(sig.args) if isinstance(sig, Signature) else tuple(sig)


class _InMemoryKernel(NullCache):
    """No cache (no writable directory): every compilation is announced."""

    def load_overload(self, sig, target_context):
        announce_compile()
        return None


#: Every dispatcher :func:`cached` gave the kernel cache, in the order they
#: were made: the package's compiled functions and their twins per storage
#: (:func:`sklearn_order.kernels.dispatch.specialize`).
_KERNELS = []


def package_kernels():
    """Every compiled function of the package made so far in this process.

    Returns
    -------
    list of numba.core.registry.CPUDispatcher
        Including each kernel's twins; empty under ``NUMBA_DISABLE_JIT=1``.
    """
    return list(_KERNELS)


def cached(dispatcher):
    """Give a Numba dispatcher the package's kernel cache.

    Parameters
    ----------
    dispatcher : numba.core.registry.CPUDispatcher or function
        From ``numba.njit`` without ``cache``; a plain function (under
        ``NUMBA_DISABLE_JIT=1``) is returned unchanged.

    Returns
    -------
    The same object.
    """
    if isinstance(dispatcher, Dispatcher):
        # the slot ``Dispatcher.enable_caching`` fills with a FunctionCache
        if cache_directory() is None:
            dispatcher._cache = _InMemoryKernel()
        else:
            dispatcher._cache = KernelCache(dispatcher.py_func)
        _KERNELS.append(dispatcher)
    return dispatcher
