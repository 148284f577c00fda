"""Calls run in a child process, so that a crash or a hang fails a test, not pytest.

:class:`ChildProcess` keeps one spawned worker and sends it calls one at a
time (starting a worker per call would cost its imports and kernel loads
each time). A call answers with an :class:`Outcome`: what it returned, the
exception it raised, or — when the worker died of a signal or did not
answer in time — ``"crashed"``/``"hung"``, attributed to that call; the
worker is then replaced for the next one.

The functions sent must be importable by the worker (module-level functions
of a module on ``sys.path``; the worker gets the parent's ``sys.path``).
"""

import multiprocessing
import signal
import traceback
from dataclasses import dataclass


@dataclass(frozen=True)
class Outcome:
    """How one call in the child ended.

    Attributes
    ----------
    kind : {"returned", "raised", "crashed", "hung"}
    value : object
        What the call returned (``"returned"``).
    error : str
        The exception's type name (``"raised"``).
    bases : tuple of str
        The names of the exception's classes, its own first (``"raised"``).
    message : str
        The exception's message (``"raised"``), or how the worker ended.
    detail : str
        The child's traceback (``"raised"``).
    """

    kind: str
    value: object = None
    error: str = ""
    bases: tuple = ()
    message: str = ""
    detail: str = ""

    def describe(self):
        """One line for an assertion message."""
        if self.kind == "raised":
            return f"raised {self.error}: {self.message}"
        if self.kind == "returned":
            return f"returned {type(self.value).__name__}"
        return f"{self.kind}: {self.message}"


def _serve(connection):
    """The worker's loop: run each ``(function, args, kwargs)``, send the outcome."""
    while True:
        try:
            job = connection.recv()
        except EOFError:
            return
        if job is None:
            return
        function, args, kwargs = job
        try:
            outcome = Outcome("returned", value=function(*args, **kwargs))
        except Exception as error:
            outcome = Outcome(
                "raised",
                error=type(error).__name__,
                bases=tuple(cls.__name__ for cls in type(error).__mro__),
                message=str(error),
                detail=traceback.format_exc(),
            )
        try:
            connection.send(outcome)
        except Exception as error:  # an unpicklable value
            connection.send(
                Outcome("raised", error="PicklingError", message=str(error))
            )


def ready():
    """Nothing: the warm-up of a worker that needs none (it answers once started)."""
    return True


def crash():
    """Die of a segmentation fault (tests the harness itself)."""
    import ctypes

    ctypes.string_at(0)


def hang():
    """Never return (tests the harness itself)."""
    import time

    while True:
        time.sleep(1)


def _exit_reason(exitcode):
    if exitcode is not None and exitcode < 0:
        try:
            return f"killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"killed by signal {-exitcode}"
    return f"exited with status {exitcode}"


class ChildProcess:
    """One spawned worker process that runs calls and survives their crashes.

    Parameters
    ----------
    timeout : float
        Seconds a call may take before it counts as hung.
    warm_up : callable, default=:func:`ready`
        Run in each new worker before its first call (imports, kernel
        compilation or cache loading), so that a call's time limit is spent
        on the call alone.
    start_timeout : float
        Seconds a new worker may take to start and warm up.
    """

    def __init__(self, timeout=30.0, warm_up=ready, start_timeout=600.0):
        self.timeout = timeout
        self.warm_up = warm_up
        self.start_timeout = start_timeout
        self._process = None
        self._connection = None
        self.n_starts = 0
        self.n_calls = 0

    def _start(self):
        context = multiprocessing.get_context("spawn")
        self._connection, child_end = context.Pipe()
        self._process = context.Process(target=_serve, args=(child_end,), daemon=True)
        self._process.start()
        child_end.close()
        self.n_starts += 1
        outcome = self._run(self.warm_up, (), {}, self.start_timeout)
        if outcome.kind != "returned":
            raise RuntimeError(f"the worker's warm-up {outcome.describe()}")

    def _discard(self):
        if self._process is not None:
            if self._process.is_alive():
                self._process.kill()
            self._process.join()
            self._connection.close()
        self._process = None

    def call(self, function, *args, timeout=None, **kwargs):
        """Run ``function(*args, **kwargs)`` in the worker.

        Returns
        -------
        Outcome
        """
        if self._process is None or not self._process.is_alive():
            self._discard()
            self._start()
        self.n_calls += 1
        return self._run(function, args, kwargs, timeout or self.timeout)

    def _run(self, function, args, kwargs, limit):
        self._connection.send((function, args, kwargs))
        if not self._connection.poll(limit):
            self._discard()
            return Outcome("hung", message=f"no answer within {limit} s")
        try:
            return self._connection.recv()
        except (EOFError, ConnectionResetError):
            self._process.join()
            reason = _exit_reason(self._process.exitcode)
            self._discard()
            return Outcome("crashed", message=reason)

    def close(self):
        """Stop the worker."""
        if self._process is not None and self._process.is_alive():
            try:
                self._connection.send(None)
            except OSError:
                pass
            self._process.join(timeout=5)
        self._discard()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
