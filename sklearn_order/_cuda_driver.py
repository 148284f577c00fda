"""The host side of ``device="cuda"``: the CUDA engine, its transfers and launches.

:class:`CudaEngine` is the engine (see :mod:`sklearn_order._engine`) of the
models of a fit on the device. Like the CPU's engines it holds plain
:class:`~sklearn_order._problem.Problem` objects — the data, the update rule,
the objective, the held-out rows — and their models' parameters; it runs
their maps with :func:`sklearn_order.kernels.cuda.apply_steps_kernel`, one
thread block per model, instead of the CPU kernels:

- :meth:`CudaEngine.run_epochs`, what the composition orders drive: the
  models it runs that share a step size, an update rule and averaging (the
  classes of a one-vs-rest fit, until ``learning_rate="adaptive"`` sets their
  steps apart) are the blocks of one launch, side by side on the device's
  multiprocessors; a model that diverges is reported, not raised, and the
  others go on;
- :meth:`CudaEngine.apply_maps`, one model's maps over any range, with
  records (the contract of :meth:`Problem.apply_maps
  <sklearn_order._problem.Problem.apply_maps>`): the forward trajectory of
  :func:`~sklearn_order.diagnostics.trajectory`;
- :meth:`CudaEngine.backward_iterates`, one model's backward chains, one
  block each, in one launch (the CPU's are
  :func:`~sklearn_order._backward_trajectory.backward_iterates`).

Everything else — the orders' stopping rules, early stopping, averaging, the
fitted attributes — is the CPU code, unchanged, so the fitted attributes are
NumPy arrays on the host and a model fitted on a GPU pickles, loads and
predicts on a machine without one.

Transfers: ``X`` (its training rows, with early stopping) is copied to the
device once per engine, on its first launch, and the targets and weights of
all its models once, as the rows of one array each (the kernel's block reads
its model's row). The epochs' row orders are generated on the host by the
CPU's :func:`~sklearn_order.sampling.fill_epoch_order` (a Fisher–Yates
shuffle is sequential: on one GPU thread it would cost more than the whole
epoch of updates) and uploaded once, as int32, for all the epochs a fit
composes (in pieces of at most :data:`TABLE_BYTES` when they do not fit).
Each launch copies the ``θ`` of its models in and out (``n_features + 1``
numbers each): once for a fit with ``tol=None``, once per epoch (forward) or
per evaluated iterate (backward) with a stopping rule.

Not supported on the device (a ``ValueError`` when the engine is built):
``sampling="grab"`` (its order is built from the gradients during the pass),
sparse ``X`` and ``multi_class="multinomial"``.
"""

import threading

import numba
import numpy as np
from scipy import sparse

from ._cuda_import import numba_cuda
from ._problem import MapBudgetError, check_not_cancelled
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


class _DeviceData:
    """What the models of one engine share on the device: ``X`` and the orders."""

    def __init__(self, X):
        self.X = X
        self._X_device = None
        self._table = None  # (key, first_epoch, n_epochs, device array)

    def X_device(self):
        """``X`` on the device, copied on first use."""
        cuda = numba_cuda()

        if self._X_device is None:
            self._X_device = cuda.to_device(np.ascontiguousarray(self.X))
        return self._X_device

    def table(self, scheme, seed, first_epoch, n_epochs):
        """Row orders of epochs ``first_epoch …`` (``n_epochs`` of them) on the device.

        One table is kept per engine. When a call asks for epochs it lacks,
        the new table keeps the old epochs and at least doubles their count
        (within :data:`TABLE_BYTES`): a forward fit asking for one epoch at a
        time, or a backward fit doubling its epochs, uploads O(log epochs)
        times.

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
# the launches of engines in different host threads (fits run by the caller's
# threads) must not overlap. Real devices run streams concurrently.
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


def _maps_per_launch(problem, record_every):
    """Maps per launch: about :data:`WORK_PER_LAUNCH` of one block's work.

    A block runs one model's maps, as many blocks in parallel as the device
    has room for, so a launch lasts about as long as one block's work, sized
    by :meth:`Problem.map_cost <sklearn_order._problem.Problem.map_cost>` (a
    map's fixed cost counts too: on narrow rows it is most of a map). At
    most the epochs one table piece holds; a multiple of ``record_every``
    so that records fall on whole launches.

    Parameters
    ----------
    problem : Problem
        One of the launch's models (they share the rows and the rule).
    record_every : int

    Returns
    -------
    int
    """
    per_map = problem.map_cost(
        averaging=problem.average_start > 0, record_every=record_every
    )
    maps = max(1, WORK_PER_LAUNCH // per_map)
    # a launch spans at most the epochs one table piece holds
    epochs = max(1, TABLE_BYTES // (4 * problem.n_samples))
    maps = min(maps, max(1, (epochs - 1) * problem.n_batches + 1))
    if record_every > 0:
        maps = max(record_every, maps - maps % record_every)
    return maps


def _check_supported(problems):
    """Raise unless the CUDA kernel can train ``problems`` in one engine.

    Raises
    ------
    CudaUnavailableError
        If no CUDA device is available.
    ValueError
        For what the CUDA kernel does not support (``sampling="grab"``,
        sparse ``X``, the multinomial loss), or problems that do not share
        ``X``, its rows and the batch sequence.
    """
    check_cuda()
    first = problems[0]
    for p in problems:
        if not (
            p.X is first.X
            and (p.rows is first.rows or np.array_equal(p.rows, first.rows))
            and p.sampling == first.sampling
            and p.seed == first.seed
            and p.batch_size == first.batch_size
        ):
            raise ValueError(
                "the problems of a CUDA engine share X, its rows and the batch "
                "sequence (sampling, seed, batch size)"
            )
    if sparse.issparse(first.X):
        raise ValueError('device="cuda" supports dense X only; use device="cpu".')
    if any(p.n_outputs > 1 for p in problems):
        raise ValueError(
            'multi_class="multinomial" is not supported with device="cuda" (the '
            'CUDA kernel moves one model per block); use multi_class="ovr" or '
            'device="cpu".'
        )
    if first.sampling == GRAB:
        raise ValueError(
            'sampling="grab" is not supported with device="cuda" (its orders are '
            "built from the gradients during each pass); use another sampling "
            'scheme or device="cpu".'
        )


class CudaEngine:
    """The models of plain problems, trained on a CUDA device, one block each.

    The engine of ``device="cuda"`` (see :mod:`sklearn_order._engine`): the
    same :meth:`run_epochs` as the CPU's engines, with the models of one
    call that share a step size, an update rule and averaging trained in one
    launch.

    Parameters
    ----------
    problems : list of Problem
        Over the same ``X`` (the same object), rows, sampling, seed and
        batch size: the outputs of one estimator. Dense ``X``, one output
        each, no GraB.
    params : list of (ndarray, ndarray)
        Each model's starting ``(coef, intercept)``, updated in place.

    Attributes
    ----------
    couples_chains : bool
        ``False``: :meth:`backward_iterates` replays every chain.

    Raises
    ------
    CudaUnavailableError
        If no CUDA device is available.
    ValueError
        For what the CUDA kernel does not support (``sampling="grab"``,
        sparse ``X``, the multinomial loss).
    """

    couples_chains = False

    def __init__(self, problems, params):
        _check_supported(problems)
        self.problems = list(problems)
        self.params = list(params)
        first = self.problems[0]
        # early stopping: the device holds the training rows
        self.data = _DeviceData(first.X if first.rows is None else first.X[first.rows])
        self._targets = None

    def _device_targets(self):
        """``(Y, S)`` on the device, one row per model, copied on first use."""
        if self._targets is None:
            cuda = numba_cuda()
            rows = self.problems[0].rows

            def stacked(values):
                host = np.array(values, dtype=np.float64)
                return cuda.to_device(host if rows is None else host[:, rows])

            self._targets = (
                stacked([p.y for p in self.problems]),
                stacked([p.sample_weight for p in self.problems]),
            )
        return self._targets

    def _launches(self, models, etas):
        """The positions in ``models`` grouped by launch.

        A launch's blocks share the kernel's scalars: the step size, the
        update rule (targets' bound included) and where averaging starts.
        """
        launches = {}
        for row, (m, eta) in enumerate(zip(models, etas)):
            problem = self.problems[m]
            key = (float(eta), problem.rule.cuda_scalars(), problem.average_start)
            launches.setdefault(key, []).append(row)
        return list(launches.values())

    def run_epochs(
        self,
        models,
        *,
        first_epoch,
        n_epochs,
        reverse,
        t_start,
        etas,
        track_loss=False,
        where=None,
    ):
        """Compose an epoch range onto the models ``models``, in place, on the device.

        As :meth:`SingleEngine.run_epochs
        <sklearn_order._engine.SingleEngine.run_epochs>`; the models that
        share a step size, an update rule and averaging run in one launch.

        Parameters
        ----------
        models : sequence of int
            The models to run (indices into :attr:`problems`).
        first_epoch, n_epochs, reverse, t_start, track_loss, where
            As in :meth:`~sklearn_order._problem.Problem.run_epochs`.
        etas : sequence of float
            Each model's base step size.

        Returns
        -------
        epoch_losses : ndarray of shape (len(models), n_epochs)
            With ``track_loss``; zeros without.
        failures : dict
            Model index -> :class:`~sklearn_order._problem.DivergenceError`,
            for the models that failed (their parameters are left as they
            were).
        """
        models = list(models)
        losses = np.zeros((len(models), n_epochs))
        failures = {}
        n_batches = self.problems[0].n_batches
        first_step = first_epoch * n_batches
        for rows in self._launches(models, etas):
            launched = [models[r] for r in rows]
            statuses, epoch_losses, _ = self._apply(
                launched,
                first_step=first_step,
                n_steps=n_epochs * n_batches,
                reverse=reverse,
                eta=etas[rows[0]],
                step_offset=t_start - first_step,
                track_loss=track_loss,
                n_loss_epochs=n_epochs if track_loss else 1,
            )
            for r, m, status, model_losses in zip(
                rows, launched, statuses, epoch_losses
            ):
                if status[0] != OK:
                    failures[m] = self.problems[m]._divergence_error(
                        status[0], status[1], where
                    )
                elif track_loss:
                    losses[r] = model_losses
        return losses, failures

    def apply_maps(
        self,
        model,
        *,
        first_step,
        n_steps,
        reverse,
        eta,
        step_offset=0,
        track_loss=False,
        epoch_losses=None,
        record_every=0,
        average=True,
        where=None,
    ):
        """Apply maps ``first_step + 1 … first_step + n_steps`` to one model, in place.

        The contract of :meth:`Problem.apply_maps
        <sklearn_order._problem.Problem.apply_maps>` (GraB aside), on the
        model's parameters in :attr:`params`.

        Parameters
        ----------
        model : int
            The model (index into :attr:`problems`).
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
        average : bool, default=True
            With ``average_start``, let forward calls update the running mean.
        where : str, default=None
            Where a divergence happened, for its message.

        Returns
        -------
        records : ndarray of shape (n_steps // record_every, n_features + 1)

        Raises
        ------
        DivergenceError
            If a prediction grew past what the targets explain or the iterates
            stopped being finite.
        """
        if epoch_losses is None:
            epoch_losses = np.zeros(1)
        statuses, losses, records = self._apply(
            [model],
            first_step=first_step,
            n_steps=n_steps,
            reverse=reverse,
            eta=eta,
            step_offset=step_offset,
            track_loss=track_loss,
            n_loss_epochs=len(epoch_losses),
            record_every=record_every,
            average=average,
        )
        if statuses[0, 0] != OK:
            raise self.problems[model]._divergence_error(
                statuses[0, 0], statuses[0, 1], where
            )
        if track_loss:
            epoch_losses += losses[0]
        return records[0]

    def backward_iterates(
        self, model, steps, eta, *, coupling=True, tol=0.0, max_maps=None
    ):
        """One model's backward iterates ``θ̃_k`` for ``k`` in ``steps``: a block each.

        Same contract as
        :func:`~sklearn_order._backward_trajectory.backward_iterates`, from the
        model's parameters in :attr:`params` (not modified); the chains run in
        one launch, one thread block each, as plain replay: ``coupling`` and
        ``tol`` are ignored (the chains of a launch do not see each other's
        states), and ``max_maps`` is checked against the replay's whole cost
        before any work.

        Parameters
        ----------
        model : int
            The model (index into :attr:`problems`).
        steps : array-like of int
            Increasing map counts ``k ≥ 1``.
        eta : float
            Base step size.
        coupling : bool, default=True
            Ignored.
        tol : float, default=0.0
            Ignored.
        max_maps : int, default=None
            Most maps to apply (unbounded if None).

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
        out = np.tile(np.concatenate(self.params[model]), (len(steps), 1))
        if not len(steps):
            return out, 0, np.zeros(0)
        n_maps = int(steps.sum())
        if max_maps is not None and n_maps > max_maps:
            raise MapBudgetError(n_maps, exact=True)
        statuses = self._run(
            np.full(len(steps), model, dtype=np.int64),
            out,
            [(0, int(k)) for k in steps],
            reverse=True,
            eta=eta,
        )
        failed = np.flatnonzero(statuses[:, 0] != OK)
        if failed.size:
            c = failed[np.argmin(statuses[failed, 1])]
            raise self.problems[model]._divergence_error(statuses[c, 0], statuses[c, 1])
        return out, n_maps, np.zeros(len(steps))

    def _apply(
        self,
        models,
        *,
        first_step,
        n_steps,
        reverse,
        eta,
        step_offset,
        track_loss,
        n_loss_epochs,
        record_every=0,
        average=True,
    ):
        """One map range onto the parameters of ``models`` (one launch's), in place.

        A model that fails keeps its parameters and running mean as they
        were.

        Returns
        -------
        statuses : ndarray of shape (len(models), 2), int64
            ``(status, failed epoch)`` per model.
        epoch_losses : ndarray of shape (len(models), n_loss_epochs)
        records : ndarray of shape (len(models), n_records, n_features + 1)
        """
        problems = [self.problems[m] for m in models]
        average_start = problems[0].average_start if average and not reverse else 0
        theta = np.array([np.concatenate(self.params[m]) for m in models])
        averaged = (
            np.array([p.running_average() for p in problems])
            if average_start
            else np.zeros((len(models), 1))
        )
        n_records = n_steps // record_every if record_every > 0 else 0
        records = np.empty((len(models), n_records, theta.shape[1]))
        epoch_losses = np.zeros((len(models), n_loss_epochs))
        statuses = self._run(
            np.asarray(models, dtype=np.int64),
            theta,
            [(first_step, first_step + n_steps)] * len(models),
            reverse=reverse,
            eta=eta,
            step_offset=step_offset,
            track_loss=track_loss,
            epoch_losses=epoch_losses,
            epoch_base=first_step // problems[0].n_batches,
            record_every=record_every,
            records=records,
            average_start=average_start,
            averaged=averaged,
        )
        for row, (m, problem) in enumerate(zip(models, problems)):
            if statuses[row, 0] != OK:
                continue
            coef, intercept = self.params[m]
            coef[:] = theta[row, : coef.shape[0]]
            intercept[:] = theta[row, coef.shape[0] :]
            if average_start:
                problem.state.running_mean[:] = averaged[row]
        return statuses, epoch_losses, records

    def _run(
        self,
        models,
        theta,
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
        """Launch the kernel: block ``b`` runs model ``models[b]`` over ``ranges[b]``.

        The map axis is cut into windows of at most :func:`_maps_per_launch`
        maps, visited newest first when ``reverse``; each launch applies the
        part of each block's range inside its window. ``theta``,
        ``epoch_losses``, ``records`` and ``averaged`` are host arrays with
        one leading row per block, copied in once and out once. The blocks'
        models share the launch's scalars (see :meth:`_launches`).

        Returns
        -------
        statuses : ndarray of shape (n_blocks, 2), int64
            ``(status, failed epoch)`` per block.
        """
        cuda = numba_cuda()

        from .kernels.cuda import apply_steps_kernel, theta_length

        problem = self.problems[models[0]]
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
        threads, groups, shared_bytes = launch_shape(d, problem.batch_size)
        rule = problem.rule.cuda_scalars()
        X = self.data.X_device()
        Y, S = self._device_targets()
        chunk = _maps_per_launch(problem, record_every)
        begin, end = int(lo.min()), int(hi.max())
        windows = [(s, min(s + chunk, end)) for s in range(begin, end, chunk)]
        if reverse:
            windows.reverse()
        # every table piece the fit needs, at once when it fits the budget
        n_batches = problem.n_batches
        first_epoch = begin // n_batches
        n_epochs = (max(end, begin + 1) - 1) // n_batches - first_epoch + 1
        if n_epochs * 4 * problem.n_samples <= TABLE_BYTES:
            self.data.table(problem.sampling, problem.seed, first_epoch, n_epochs)
        states = [self.problems[m].state for m in dict.fromkeys(models.tolist())]
        stream = cuda.stream()
        with _launch_lock():
            theta_d = cuda.to_device(theta, stream=stream)
            model_d = cuda.to_device(models, stream=stream)
            losses_d = cuda.to_device(epoch_losses, stream=stream)
            records_d = cuda.to_device(records, stream=stream)
            averaged_d = cuda.to_device(averaged, stream=stream)
            status_d = cuda.to_device(statuses, stream=stream)
            theta_scratch_d = cuda.device_array(
                (n_blocks if shared_bytes == 0 else 1, theta_length(d, groups)),
                stream=stream,
            )
            map_scratch_d = cuda.device_array(
                (n_blocks, 3 * problem.batch_size), stream=stream
            )
        done = 0
        for w_lo, w_hi in windows:
            failed = statuses[:, 0] != OK
            first = np.where(failed, 0, np.clip(lo, w_lo, w_hi))
            last = np.where(failed, 0, np.clip(hi, w_lo, w_hi))
            e_lo = w_lo // n_batches
            e_hi = (w_hi - 1) // n_batches
            table, table_first, period = self.data.table(
                problem.sampling, problem.seed, e_lo, e_hi - e_lo + 1
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
                    int(problem.batch_size),
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
            for state in states:
                check_not_cancelled(state)
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
