"""Sampling schemes: defining properties, determinism, regenerability."""

import numpy as np
import pytest
import reference
from numpy.testing import assert_array_equal

from sklearn_order.sampling import SAMPLINGS, epoch_batches, n_batches

SEEDED = [s for s in SAMPLINGS if s != "grab"]  # a function of (seed, epoch)
PERMUTATION_SCHEMES = [s for s in SEEDED if s != "with_replacement"]


def _epoch(sampling, n, seed, epoch):
    return np.concatenate(epoch_batches(sampling, n, n, seed=seed, epoch=epoch))


def test_the_reference_generator_is_splitmix64():
    # the first outputs from state 0 published with SplitMix64 (Vigna's
    # splitmix64.c, Java's SplittableRandom): the reference is the algorithm
    state, outputs = 0, []
    for _ in range(3):
        state, z = reference.splitmix64(state)
        outputs.append(z)
    assert outputs == [0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4, 0x06C45D188009454F]


@pytest.mark.parametrize("sampling", SEEDED)
@pytest.mark.parametrize("seed", [0, 1, 7, 2**31 - 2])
@pytest.mark.parametrize("n, batch_size", [(1, 1), (2, 1), (10, 3), (37, 8), (7, 20)])
def test_epochs_equal_the_reference_written_from_the_definitions(
    sampling, seed, n, batch_size
):
    for epoch in range(5):
        ours = epoch_batches(sampling, n, batch_size, seed=seed, epoch=epoch)
        expected = reference.batch_sequence(sampling, n, batch_size, seed, epoch + 1)
        expected = expected[epoch * n_batches(n, batch_size) :]
        assert len(ours) == len(expected)
        for got, want in zip(ours, expected):
            assert_array_equal(got, want)


def test_grab_first_epoch_equals_the_reference_reshuffle():
    assert_array_equal(
        np.concatenate(epoch_batches("grab", 50, 7, seed=3, epoch=0)),
        reference.epoch_order("reshuffle", 50, 3, 0),
    )


@pytest.mark.parametrize("sampling", SEEDED)
@pytest.mark.parametrize("n, batch_size", [(1, 1), (10, 3), (12, 4), (7, 20)])
def test_every_epoch_is_cut_into_batches(sampling, n, batch_size):
    for epoch in range(5):
        batches = epoch_batches(sampling, n, batch_size, seed=123, epoch=epoch)
        assert len(batches) == n_batches(n, batch_size)
        assert all(len(b) == batch_size for b in batches[:-1])
        assert 1 <= len(batches[-1]) <= batch_size
        rows = np.concatenate(batches)
        assert rows.shape == (n,)
        assert np.all((0 <= rows) & (rows < n))


@pytest.mark.parametrize("sampling", PERMUTATION_SCHEMES)
def test_permutation_schemes_visit_every_row_once_per_epoch(sampling):
    for epoch in range(6):
        assert_array_equal(np.sort(_epoch(sampling, 31, 5, epoch)), np.arange(31))


def test_once_reuses_one_permutation():
    first = _epoch("once", 40, 9, 0)
    assert not np.array_equal(first, np.arange(40))
    for epoch in range(1, 6):
        assert_array_equal(_epoch("once", 40, 9, epoch), first)
    assert not np.array_equal(_epoch("once", 40, 10, 0), first)


def test_flipflop_epochs_reverse_the_previous_one_in_pairs():
    epochs = [_epoch("flipflop", 40, 9, e) for e in range(6)]
    for p in range(3):
        assert_array_equal(epochs[2 * p + 1], epochs[2 * p][::-1])
    assert not np.array_equal(epochs[0], epochs[2])
    assert not np.array_equal(epochs[2], epochs[4])


def test_with_replacement_draws_iid_uniform_rows():
    n, epochs = 10, 2000
    draws = np.array([_epoch("with_replacement", n, 4, e) for e in range(epochs)])
    # rows repeat within an epoch (a permutation would never repeat)
    assert np.mean([len(np.unique(d)) < n for d in draws]) > 0.99
    counts = np.bincount(draws.ravel(), minlength=n)
    expected = n * epochs / n
    chi2 = ((counts - expected) ** 2 / expected).sum()
    assert chi2 < 30  # 9 degrees of freedom: p < 0.001 above ~27.9
    # consecutive draws are uncorrelated
    flat = draws.ravel().astype(float)
    assert abs(np.corrcoef(flat[:-1], flat[1:])[0, 1]) < 0.02


def test_cyclic_is_data_order():
    assert_array_equal(
        np.concatenate(epoch_batches("cyclic", 9, 2, seed=5, epoch=3)), np.arange(9)
    )


def test_reshuffle_draws_a_new_permutation_every_epoch():
    orders = {
        tuple(np.concatenate(epoch_batches("reshuffle", 50, 1, seed=7, epoch=e)))
        for e in range(20)
    }
    assert len(orders) == 20


def test_reshuffle_depends_on_the_seed_and_is_regenerable():
    a = epoch_batches("reshuffle", 100, 8, seed=1, epoch=4)
    b = epoch_batches("reshuffle", 100, 8, seed=2, epoch=4)
    assert not np.array_equal(np.concatenate(a), np.concatenate(b))
    # any epoch can be regenerated alone, in any order of requests
    later_first = [epoch_batches("reshuffle", 100, 8, seed=1, epoch=e) for e in (9, 4)]
    assert_array_equal(np.concatenate(later_first[1]), np.concatenate(a))


def test_reshuffle_is_uniform_enough():
    # position of row 0 over many epochs: roughly uniform over 10 slots
    counts = np.zeros(10)
    for e in range(3000):
        order = np.concatenate(epoch_batches("reshuffle", 10, 10, seed=3, epoch=e))
        counts[np.flatnonzero(order == 0)[0]] += 1
    expected = 300
    chi2 = ((counts - expected) ** 2 / expected).sum()
    assert chi2 < 30  # 9 degrees of freedom: p < 0.001 above ~27.9
