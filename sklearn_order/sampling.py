"""Sampling schemes: seeded batch sequences, regenerable in either direction.

A sampling scheme turns ``(n_samples, batch_size, seed)`` into a sequence of
minibatches ``B_1, B_2, …``. Epoch ``e`` is an ordering of the rows, produced
by :func:`fill_epoch_order` from ``(seed, e)`` alone; its batches are the
consecutive slices of ``batch_size`` rows (the last one may be smaller). So
any epoch, and any batch, can be regenerated without storing the sequence,
forward or backward, in any process.

Schemes
-------
``"cyclic"``
    The rows in data order, every epoch.
``"reshuffle"``
    A new seeded permutation every epoch (random reshuffling).
``"once"``
    One seeded permutation, reused every epoch (single shuffle).
``"flipflop"``
    A seeded permutation, then its reverse: epochs ``2p`` and ``2p + 1``
    share permutation ``p`` (Rajput, Lee & Papailiopoulos, ICLR 2022).
``"with_replacement"``
    Each epoch draws ``n_samples`` rows independently and uniformly, so the
    batches are i.i.d. (the setting of Letac's principle: forward and backward
    iterates then have the same law at every step).
``"grab"``
    Online gradient balancing (Lu, Guo & De Sa, NeurIPS 2022). Epoch 0 is a
    seeded permutation; each later epoch's order is built during the previous
    epoch by the greedy herding rule from its per-example gradients (see
    :func:`sklearn_order.kernels.cpu.herd`), with O(n_features) extra
    memory. This order depends on the trajectory, not on ``(seed, e)``
    alone: the kernels generate it along the forward pass, and the backward
    order composes the same maps — those of the sequence GraB produces along
    forward SGD from the same starting point — after generating it.

Adding a scheme that is a function of ``(seed, epoch)`` is one code, one
entry in :data:`SAMPLINGS` and one branch in :func:`fill_epoch_order`.

Random numbers come from SplitMix64 (Steele, Lea & Flood, 2014), written here
so that the same integers come out of every process, platform and (later)
device; a Fisher–Yates shuffle turns them into permutations. Each draw maps
the top 53 bits to ``[0, 1)`` and scales by the range (a multiplication, not
a 64-bit division, which would cost more than the rest of the shuffle); the
bias is at most ``n_samples / 2**53``.
"""

import numpy as np

from ._jit import jit, jit_inline, jit_inline_dual

CYCLIC = 0
RESHUFFLE = 1
ONCE = 2
FLIPFLOP = 3
WITH_REPLACEMENT = 4
GRAB = 5

SAMPLINGS = {
    "cyclic": CYCLIC,
    "reshuffle": RESHUFFLE,
    "once": ONCE,
    "flipflop": FLIPFLOP,
    "with_replacement": WITH_REPLACEMENT,
    "grab": GRAB,
}

_GOLDEN_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_MIX_1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX_2 = np.uint64(0x94D049BB133111EB)
_EPOCH_KEY = np.uint64(0xD1B54A32D192ED03)
_TWO_TO_MINUS_53 = 2.0**-53


@jit_inline
def _splitmix64(state):
    """Advance a SplitMix64 state; return ``(new_state, random_uint64)``."""
    state = state + _GOLDEN_GAMMA
    z = state
    z = (z ^ (z >> np.uint64(30))) * _MIX_1
    z = (z ^ (z >> np.uint64(27))) * _MIX_2
    return state, z ^ (z >> np.uint64(31))


@jit_inline
def _epoch_state(seed, epoch):
    """The generator state of epoch ``epoch`` under ``seed``."""
    _, mixed_seed = _splitmix64(np.uint64(seed))
    return mixed_seed ^ (np.uint64(epoch) * _EPOCH_KEY)


@jit_inline
def _uniform_below(state, bound):
    """Draw an integer in ``[0, bound)``; return ``(new_state, draw)``.

    The top 53 bits are mapped to ``[0, 1)`` and scaled (a multiplication,
    not a 64-bit division, which would cost more than the rest of a shuffle).
    """
    state, r = _splitmix64(state)
    return state, np.int64(np.float64(r >> np.uint64(11)) * _TWO_TO_MINUS_53 * bound)


@jit
def _shuffle(out, state):
    """Fisher–Yates shuffle of ``out`` in place."""
    for i in range(out.shape[0] - 1, 0, -1):
        state, j = _uniform_below(state, i + 1)
        out[i], out[j] = out[j], out[i]


@jit
def fill_epoch_order(scheme, seed, epoch, out):
    """Write the row order of epoch ``epoch`` (0-based) into ``out``.

    Parameters
    ----------
    scheme : int
        A value of :data:`SAMPLINGS`.
    seed : int
        Non-negative seed of the whole sequence.
    epoch : int
        Non-negative epoch index.
    out : ndarray of shape (n_samples,), dtype int64
        Overwritten with the epoch's row indices: a permutation of
        ``range(n_samples)``, or ``n_samples`` draws for
        ``"with_replacement"``.

    Notes
    -----
    For ``"grab"`` only epoch 0 (a seeded permutation, as ``"reshuffle"``) is
    a function of the seed; the kernels build the later epochs.
    """
    n = out.shape[0]
    if scheme == WITH_REPLACEMENT:
        state = _epoch_state(seed, epoch)
        for i in range(n):
            state, out[i] = _uniform_below(state, n)
        return
    for i in range(n):
        out[i] = i
    if scheme == RESHUFFLE or scheme == GRAB:
        _shuffle(out, _epoch_state(seed, epoch))
    elif scheme == ONCE:
        _shuffle(out, _epoch_state(seed, 0))
    elif scheme == FLIPFLOP:
        _shuffle(out, _epoch_state(seed, epoch // 2))
        if epoch % 2 == 1:
            for i in range(n // 2):
                out[i], out[n - 1 - i] = out[n - 1 - i], out[i]


def n_batches(n_samples, batch_size):
    """Number of minibatches in one epoch (the last may be smaller)."""
    return (n_samples + batch_size - 1) // batch_size


#: :func:`n_batches` compiled for the kernels (a CUDA twin through
#: :func:`~sklearn_order._jit.cuda_device`); the plain function serves the
#: host, where calling a compiled one would compile it.
batches_per_epoch = jit_inline_dual(n_batches)


# The map-index arithmetic of every kernel (CPU, group, trajectory chains and
# CUDA): map ``k`` (0-based, counted over the whole batch sequence) is batch
# ``k mod B`` of epoch ``k // B``, with ``B`` batches per epoch.


@jit_inline_dual
def locate_map(k, batches):
    """Where map ``k`` (0-based) is: ``(epoch, within)``, batch ``within`` of ``epoch``.

    ``batches`` is the number of batches per epoch (:func:`n_batches`).
    """
    epoch = k // batches
    return epoch, k - epoch * batches


@jit_inline_dual
def batch_bounds(within, batch_size, n_rows):
    """``(start, stop)``: batch ``within`` is ``order[start:stop]`` of its epoch.

    ``n_rows`` is the length of an epoch's order; the last batch may be
    smaller.
    """
    start = within * batch_size
    return start, min(start + batch_size, n_rows)


@jit_inline
def advance_map(k, epoch, within, batches, reverse):
    """The next map to apply after map ``k`` (0-based): ``(k, epoch, within)``.

    Map ``k`` is batch ``within`` of epoch ``epoch`` (:func:`locate_map`);
    the next one is ``k + 1``, or ``k − 1`` when ``reverse``. Both indices
    are stepped with ``k``: integer divisions per map would cost as much as a
    short sparse row.
    """
    if reverse:
        k -= 1
        within -= 1
        if within < 0:
            epoch -= 1
            within = batches - 1
    else:
        k += 1
        within += 1
        if within == batches:
            epoch += 1
            within = 0
    return k, epoch, within


def epoch_batches(sampling, n_samples, batch_size, seed, epoch):
    """Return the minibatches of one epoch as a list of row-index arrays.

    A convenience for tests and diagnostics; the kernels generate the same
    batches in compiled code.

    Parameters
    ----------
    sampling : str
        A key of :data:`SAMPLINGS`.
    n_samples, batch_size, seed, epoch : int

    Returns
    -------
    list of ndarray of dtype int64

    Raises
    ------
    ValueError
        For ``"grab"`` after epoch 0, whose order depends on the gradients.
    """
    if SAMPLINGS[sampling] == GRAB and epoch > 0:
        raise ValueError(
            "the order of a 'grab' epoch after the first depends on the previous "
            "epoch's gradients, not on the seed alone."
        )
    order = np.empty(n_samples, dtype=np.int64)
    fill_epoch_order(SAMPLINGS[sampling], seed, epoch, order)
    return [order[s : s + batch_size] for s in range(0, n_samples, batch_size)]
