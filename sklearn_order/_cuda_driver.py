"""The host side of ``device="cuda"``: transfers, launches and results.

:func:`on_device` turns the estimators' :class:`~sklearn_order._problem.Problem`
objects into :class:`CudaProblem` objects, whose :meth:`CudaProblem.apply_maps`
(the range of maps every composition order runs) and
:meth:`CudaProblem.backward_iterates` (trajectory chains, registered as
:func:`~sklearn_order._backward_trajectory.backward_iterates` for it) run
:func:`sklearn_order.kernels.cuda.apply_steps_kernel` instead of the CPU
kernels. Everything else — the orders' stopping rules, early stopping,
averaging, the fitted attributes — is the CPU code, unchanged, so the fitted
attributes are NumPy arrays on the host and a model fitted on a GPU pickles,
loads and predicts on a machine without one.

Transfers: ``X`` is copied to the device once per fit (shared by the classes
of a one-vs-rest fit), each class's targets and weights once; the epochs'
row orders are generated on the host by the CPU's
:func:`~sklearn_order.sampling.fill_epoch_order` (a Fisher–Yates shuffle is
sequential: on one GPU thread it would cost more than the whole epoch of
updates) and uploaded once, as int32, for all the epochs a fit composes (in
pieces of at most :data:`TABLE_BYTES` when they do not fit). Each call of
``apply_maps`` copies ``θ`` in and out (``n_features + 1`` numbers): once for a
fit with ``tol=None``, once per epoch (forward) or per evaluated iterate
(backward) with a stopping rule. Classes of a one-vs-rest fit run in host
threads, each on its own CUDA stream, so their blocks run concurrently.

Not supported on the device (a ``ValueError`` at fit time): ``sampling="grab"``
(its order is built from the gradients during the pass), sparse ``X`` and
``multi_class="multinomial"``.
"""

import threading
from dataclasses import dataclass, field, fields, replace
from functools import cached_property

import numba
import numpy as np
from scipy import sparse

from . import _backward_trajectory as _backward
from ._cuda_import import numba_cuda
from ._problem import MapBudgetError, Problem, check_not_cancelled
from .kernels import OK
from .sampling import CYCLIC, GRAB, ONCE, fill_epoch_order

#: Largest dynamic shared memory a block uses (bytes); beyond it, the kernel
#: keeps ``θ`` and the row groups' partial sums in global memory.
SHARED_MEMORY_BYTES = 48 * 1024
#: Most threads per block (at most ``kernels.cuda.MAX_BLOCK_THREADS``).
MAX_THREADS = 800
#: Fewest batch rows per row group of the feature pass.
MIN_ROWS_PER_GROUP = 8
#: Largest batch-order table on the device (bytes); longer fits upload it in
#: pieces.
TABLE_BYTES = 256 * 2**20
#: Work per launch, in the units of :meth:`Problem.map_cost` (about a
#: multiply-add each; a few tenths of a second on one multiprocessor):
#: between launches Python handles signals, so Ctrl-C stops a long fit.
WORK_PER_LAUNCH = 2_000_000_000

_INSTALL_HINT = (
    'device="cuda" needs an NVIDIA GPU with its driver and Numba\'s CUDA '
    'support: install the extra with pip install -e ".[cuda]" (numba-cuda) on '
    'a machine with a CUDA GPU, or use device="cpu".'
)


class CudaUnavailableError(RuntimeError):
    """``device="cuda"`` was asked for where no usable CUDA device is."""


def _unavailable_reason():
    """Why ``device="cuda"`` cannot run here, or ``None`` if it can."""
    try:
        cuda = numba_cuda()
    except ImportError:  # pragma: no cover - numba without CUDA support
        return "Numba's CUDA support cannot be imported."
    try:
        if not cuda.is_available():
            return "No CUDA device is available."
        if numba.config.ENABLE_CUDASIM:
            return None
        from numba.cuda.cudadrv import nvvm

        if not nvvm.is_available():
            return "A CUDA device is present, but not the CUDA compiler (NVVM)."
    except Exception as error:  # a broken driver or toolkit
        return f"CUDA is not usable here ({error})."
    return None


def cuda_available():
    """Whether ``device="cuda"`` can run here (a GPU, or the CUDA simulator).

    Returns
    -------
    bool
        ``True`` where a CUDA device and the CUDA compiler are available (or
        Numba's CUDA simulator is enabled).
    """
    return _unavailable_reason() is None


def check_cuda():
    """Raise a clear error if ``device="cuda"`` cannot run here.

    Raises
    ------
    CudaUnavailableError
        With the reason and instructions, where no usable CUDA device (or
        simulator) is available.
    """
    reason = _unavailable_reason()
    if reason is not None:
        raise CudaUnavailableError(f"{reason} {_INSTALL_HINT}")


def on_device(problems):
    """The same problems, run by the CUDA kernels.

    Parameters
    ----------
    problems : list of Problem
        Sharing one ``X`` (one per output of an estimator).

    Returns
    -------
    list of CudaProblem

    Raises
    ------
    CudaUnavailableError
        If no CUDA device is available.
    ValueError
        For what the CUDA kernels do not support (``sampling="grab"``,
        sparse ``X``, the multinomial loss).
    """
    check_cuda()
    X = problems[0].X
    if sparse.issparse(X):
        raise ValueError('device="cuda" supports dense X only; use device="cpu".')
    if problems[0].n_outputs > 1:
        raise ValueError(
            'multi_class="multinomial" is not supported with device="cuda" (the '
            'CUDA kernel moves one model per block); use multi_class="ovr" or '
            'device="cpu".'
        )
    if problems[0].sampling == GRAB:
        raise ValueError(
            'sampling="grab" is not supported with device="cuda" (its orders are '
            "built from the gradients during each pass); use another sampling "
            'scheme or device="cpu".'
        )
    rows = problems[0].rows
    if rows is not None:  # early stopping: the device holds the training rows
        X = X[rows]
        problems = [
            replace(p, X=X, y=p.y[rows], sample_weight=p.sample_weight[rows], rows=None)
            for p in problems
        ]
    shared = _DeviceData(X)
    return [
        CudaProblem(
            **{f.name: getattr(p, f.name) for f in fields(Problem) if f.init},
            device=shared,
        )
        for p in problems
    ]


class _DeviceData:
    """What the problems of one fit share on the device: ``X`` and the orders."""

    def __init__(self, X):
        self.X = X
        self.lock = threading.Lock()
        self._X_device = None
        self._table = None  # (key, first_epoch, n_epochs, device array)

    def X_device(self):
        """``X`` on the device, copied on first use."""
        cuda = numba_cuda()

        with self.lock:
            if self._X_device is None:
                self._X_device = cuda.to_device(np.ascontiguousarray(self.X))
            return self._X_device

    def table(self, scheme, seed, first_epoch, n_epochs):
        """Row orders of epochs ``first_epoch …`` (``n_epochs`` of them) on the device.

        One table is kept per fit. When a call asks for epochs it lacks, the
        new table keeps the old epochs and at least doubles their count
        (within :data:`TABLE_BYTES`): a forward fit asking for one epoch at a
        time, or a backward fit doubling its epochs, uploads O(log epochs)
        times, and one-vs-rest classes at different epochs share it.

        Returns
        -------
        table : device array of shape (n_rows, n_samples), int32 or int64
        table_first_epoch, table_period : int
            As :func:`~sklearn_order.kernels.cuda.apply_steps_kernel` reads
            them.
        """
        cuda = numba_cuda()

        if scheme in (CYCLIC, ONCE):  # every epoch has the same order
            first_epoch, n_epochs, period = 0, 1, 1
        else:
            period = 0
        key = (scheme, seed)
        n = self.X.shape[0]
        with self.lock:
            cached = self._table
            if (
                cached is None
                or cached[0] != key
                or first_epoch < cached[1]
                or first_epoch + n_epochs > cached[1] + cached[2]
            ):
                if cached is not None and cached[0] == key:
                    low = min(first_epoch, cached[1])
                    high = max(first_epoch + n_epochs, cached[1] + 2 * cached[2])
                    if (high - low) * 4 * n <= TABLE_BYTES:
                        first_epoch, n_epochs = low, high - low
                dtype = np.int32 if n < 2**31 else np.int64
                host = np.empty((n_epochs, n), dtype=dtype)
                order = np.empty(n, dtype=np.int64)
                for e in range(n_epochs):
                    fill_epoch_order(scheme, seed, first_epoch + e, order)
                    host[e] = order
                cached = (key, first_epoch, n_epochs, cuda.to_device(host))
                self._table = cached
        return cached[3], cached[1], period


# The CUDA simulator runs kernels in Python threads with process-wide state:
# its launches must not overlap. Real devices run streams concurrently.
_SIMULATOR_LOCK = threading.Lock()


def _launch_lock():
    if numba.config.ENABLE_CUDASIM:
        return _SIMULATOR_LOCK
    return _NoLock()


class _NoLock:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def launch_shape(n_features, batch_size):
    """Threads per block, row groups, and bytes of dynamic shared memory.

    The feature pass has ``groups × (n_features + 1)`` independent sums: as
    many row groups as the block has room for, with at least
    :data:`MIN_ROWS_PER_GROUP` rows each. The threads cover them and the
    batch's rows (whole warps, at most :data:`MAX_THREADS`).

    Parameters
    ----------
    n_features, batch_size : int

    Returns
    -------
    threads, groups : int
    shared_bytes : int
        0 when the ``θ`` area does not fit :data:`SHARED_MEMORY_BYTES` (it is
        then kept in global memory).
    """
    from .kernels.cuda import theta_length

    columns = n_features + 1
    groups = max(1, min(MAX_THREADS // columns, -(-batch_size // MIN_ROWS_PER_GROUP)))
    wanted = max(groups * columns, batch_size)
    threads = min(MAX_THREADS, -(-wanted // 32) * 32)
    shared_bytes = 8 * theta_length(n_features, groups)
    return threads, groups, shared_bytes if shared_bytes <= SHARED_MEMORY_BYTES else 0


@dataclass(frozen=True)
class CudaProblem(Problem):
    """A :class:`~sklearn_order._problem.Problem` whose maps run on a CUDA device.

    Parameters
    ----------
    device : _DeviceData
        The device copies shared by the problems of one fit.
    **problem
        The fields of :class:`~sklearn_order._problem.Problem`.
    """

    device: object = field(default=None, repr=False, compare=False)

    @cached_property
    def _device_targets(self):
        """``(Y, S)`` on the device, shape (1, n_samples), copied once."""
        cuda = numba_cuda()

        return (
            cuda.to_device(np.ascontiguousarray(self.y[None], dtype=np.float64)),
            cuda.to_device(
                np.ascontiguousarray(self.sample_weight[None], dtype=np.float64)
            ),
        )

    def _maps_per_launch(self, record_every):
        # a map's fixed cost counts too: on narrow rows it is most of a map
        per_map = self.map_cost(
            averaging=self.average_start > 0, record_every=record_every
        )
        maps = max(1, WORK_PER_LAUNCH // per_map)
        # a launch spans at most the epochs one table piece holds
        epochs = max(1, TABLE_BYTES // (4 * self.n_samples))
        maps = min(maps, max(1, (epochs - 1) * self.n_batches + 1))
        if record_every > 0:
            maps = max(record_every, maps - maps % record_every)
        return maps

    def apply_maps(
        self,
        coef,
        intercept,
        *,
        first_step,
        n_steps,
        reverse,
        eta,
        step_offset=0,
        track_loss=False,
        epoch_losses=None,
        record_every=0,
        grab_state=None,
        average=True,
        where=None,
    ):
        """Apply the maps ``first_step + 1 … first_step + n_steps`` in place (GPU).

        Same contract as :meth:`Problem.apply_maps
        <sklearn_order._problem.Problem.apply_maps>`; ``grab_state`` (GraB's state)
        is not supported.

        Parameters
        ----------
        coef : ndarray of shape (n_features,), float64
        intercept : ndarray of shape (1,), float64
        first_step, n_steps : int
            The map range.
        reverse : bool
            Newest map first (backward composition).
        eta : float
            Base step size.
        step_offset : int, default=0
            Shift of the schedule's step index.
        track_loss : bool, default=False
            Accumulate each epoch's loss into ``epoch_losses``.
        epoch_losses : ndarray, default=None
            One entry per epoch spanned, for ``track_loss``.
        record_every : int, default=0
            If positive, record ``θ`` after every ``record_every`` maps.
        grab_state : None
            Must be ``None``.
        average : bool, default=True
            With ``average_start``, let forward calls update the running mean.

        Returns
        -------
        records : ndarray of shape (n_steps // record_every, n_features + 1)

        Raises
        ------
        DivergenceError
            If a prediction grew past what the targets explain or the iterates
            stopped being finite.
        """
        if grab_state is not None:
            raise ValueError("GraB orderings are not supported on the CUDA device.")
        d = coef.shape[0]
        n_records = n_steps // record_every if record_every > 0 else 0
        if epoch_losses is None:
            epoch_losses = np.zeros(1)
        average_start = self.average_start if average and not reverse else 0
        averaged = self.running_average()[None] if average_start else np.zeros((1, 1))
        theta = np.append(coef, intercept)[None]
        records = np.empty((1, n_records, d + 1))
        losses = np.zeros((1, len(epoch_losses)))
        statuses = self._run(
            theta,
            np.zeros(1, dtype=np.int64),
            [(first_step, first_step + n_steps)],
            reverse=reverse,
            eta=eta,
            step_offset=step_offset,
            track_loss=track_loss,
            epoch_losses=losses,
            epoch_base=first_step // self.n_batches,
            record_every=record_every,
            records=records,
            average_start=average_start,
            averaged=averaged,
        )
        if statuses[0, 0] != OK:
            raise self._divergence_error(statuses[0, 0], statuses[0, 1], where)
        coef[:] = theta[0, :d]
        intercept[0] = theta[0, d]
        if track_loss:
            epoch_losses += losses[0]
        if average_start:
            self.state.running_mean[:] = averaged[0]
        return records[0]

    def backward_iterates(
        self, steps, theta0, eta, *, coupling=True, tol=0.0, max_maps=None
    ):
        """Backward iterates ``θ̃_k`` for each ``k`` in ``steps``: one block per chain.

        Same contract as
        :func:`~sklearn_order._backward_trajectory.backward_iterates` (which
        calls this for a problem on the device); the chains run
        concurrently, one thread block each, as plain replay: ``coupling`` and
        ``tol`` are ignored (the chains of a launch do not see each other's states), and
        ``max_maps`` is checked against the replay's whole cost before any
        work.

        Parameters
        ----------
        steps : array-like of int
        theta0 : ndarray of shape (n_features + 1,)
            ``(w_0, b_0)``.
        eta : float
            Base step size.

        Returns
        -------
        iterates : ndarray of shape (len(steps), n_features + 1)
        n_maps : int
            The number of maps applied.
        bounds : ndarray of shape (len(steps),)
            Zeros: the results are the replay's.

        Raises
        ------
        DivergenceError
            If a chain's iterates diverged (the earliest failing epoch is
            reported).
        MapBudgetError
            If the chains need more than ``max_maps`` maps.
        """
        steps = np.asarray(steps, dtype=np.int64)
        theta0 = np.asarray(theta0, dtype=np.float64)
        out = np.tile(theta0, (len(steps), 1))
        if not len(steps):
            return out, 0, np.zeros(0)
        n_maps = int(steps.sum())
        if max_maps is not None and n_maps > max_maps:
            raise MapBudgetError(n_maps, exact=True)
        statuses = self._run(
            out,
            np.zeros(len(steps), dtype=np.int64),
            [(0, int(k)) for k in steps],
            reverse=True,
            eta=eta,
        )
        failed = np.flatnonzero(statuses[:, 0] != OK)
        if failed.size:
            c = failed[np.argmin(statuses[failed, 1])]
            raise self._divergence_error(statuses[c, 0], statuses[c, 1])
        return out, n_maps, np.zeros(len(steps))

    def _run(
        self,
        theta,
        model,
        ranges,
        *,
        reverse,
        eta,
        step_offset=0,
        track_loss=False,
        epoch_losses=None,
        epoch_base=0,
        record_every=0,
        records=None,
        average_start=0,
        averaged=None,
    ):
        """Launch the kernel over ``ranges`` (one per block), in pieces, in place.

        The map axis is cut into windows of at most ``_maps_per_launch`` maps,
        visited newest first when ``reverse``; each launch applies the part of
        each block's range inside its window. ``theta``, ``epoch_losses``,
        ``records`` and ``averaged`` are host arrays with one leading row per
        block, copied in once and out once.

        Returns
        -------
        statuses : ndarray of shape (n_blocks, 2), int64
            ``(status, failed epoch)`` per block.
        """
        cuda = numba_cuda()

        from .kernels.cuda import apply_steps_kernel, theta_length

        n_blocks, dim = theta.shape
        d = dim - 1
        lo = np.array([r[0] for r in ranges], dtype=np.int64)
        hi = np.array([r[1] for r in ranges], dtype=np.int64)
        statuses = np.zeros((n_blocks, 2), dtype=np.int64)
        statuses[:, 1] = -1
        if epoch_losses is None:
            epoch_losses = np.zeros((n_blocks, 1))
        if records is None:
            records = np.empty((n_blocks, 0, dim))
        if averaged is None:
            averaged = np.zeros((n_blocks, 1))
        threads, groups, shared_bytes = launch_shape(d, self.batch_size)
        rule = self.rule.cuda_scalars()
        X = self.device.X_device()
        Y, S = self._device_targets
        chunk = self._maps_per_launch(record_every)
        begin, end = int(lo.min()), int(hi.max())
        windows = [(s, min(s + chunk, end)) for s in range(begin, end, chunk)]
        if reverse:
            windows.reverse()
        # every table piece the fit needs, at once when it fits the budget
        first_epoch = begin // self.n_batches
        n_epochs = (max(end, begin + 1) - 1) // self.n_batches - first_epoch + 1
        if n_epochs * 4 * self.n_samples <= TABLE_BYTES:
            self.device.table(self.sampling, self.seed, first_epoch, n_epochs)
        stream = cuda.stream()
        with _launch_lock():
            theta_d = cuda.to_device(theta, stream=stream)
            model_d = cuda.to_device(model, stream=stream)
            losses_d = cuda.to_device(epoch_losses, stream=stream)
            records_d = cuda.to_device(records, stream=stream)
            averaged_d = cuda.to_device(averaged, stream=stream)
            status_d = cuda.to_device(statuses, stream=stream)
            theta_scratch_d = cuda.device_array(
                (n_blocks if shared_bytes == 0 else 1, theta_length(d, groups)),
                stream=stream,
            )
            map_scratch_d = cuda.device_array(
                (n_blocks, 3 * self.batch_size), stream=stream
            )
        done = 0
        for w_lo, w_hi in windows:
            failed = statuses[:, 0] != OK
            first = np.where(failed, 0, np.clip(lo, w_lo, w_hi))
            last = np.where(failed, 0, np.clip(hi, w_lo, w_hi))
            e_lo = w_lo // self.n_batches
            e_hi = (w_hi - 1) // self.n_batches
            table, table_first, period = self.device.table(
                self.sampling, self.seed, e_lo, e_hi - e_lo + 1
            )
            with _launch_lock():
                apply_steps_kernel[n_blocks, threads, stream, shared_bytes](
                    X,
                    Y,
                    S,
                    model_d,
                    theta_d,
                    cuda.to_device(first, stream=stream),
                    cuda.to_device(last, stream=stream),
                    bool(reverse),
                    int(step_offset),
                    rule,
                    float(eta),
                    int(self.batch_size),
                    table,
                    int(table_first),
                    int(period),
                    bool(track_loss),
                    losses_d,
                    int(epoch_base),
                    int(record_every),
                    records_d,
                    done // record_every if record_every > 0 else 0,
                    int(average_start),
                    averaged_d,
                    status_d,
                    groups,
                    theta_scratch_d,
                    shared_bytes > 0,
                    map_scratch_d,
                )
                window_status = np.empty_like(statuses)
                status_d.copy_to_host(window_status, stream=stream)
                stream.synchronize()
            ran = ~failed
            statuses[ran] = window_status[ran]
            done += w_hi - w_lo
            check_not_cancelled(self.state)
        with _launch_lock():  # into the callers' (C-contiguous) arrays
            theta_d.copy_to_host(theta, stream=stream)
            if track_loss:
                losses_d.copy_to_host(epoch_losses, stream=stream)
            if record_every > 0:
                records_d.copy_to_host(records, stream=stream)
            if average_start:
                averaged_d.copy_to_host(averaged, stream=stream)
            stream.synchronize()
        return statuses


# The trajectory functions for a problem on the device: its own chains.
_backward.backward_iterates.register(CudaProblem, CudaProblem.backward_iterates)


@_backward.couples_chains.register
def _(problem: CudaProblem):
    """The chains are replayed; coupling is not implemented on the device."""
    return False
