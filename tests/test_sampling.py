"""Sampling schemes: defining properties, determinism, regenerability."""

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from sklearn_order.sampling import SAMPLINGS, epoch_batches, n_batches


@pytest.mark.parametrize("sampling", list(SAMPLINGS))
@pytest.mark.parametrize("n, batch_size", [(1, 1), (10, 3), (12, 4), (7, 20)])
def test_every_epoch_is_a_permutation_cut_into_batches(sampling, n, batch_size):
    for epoch in range(5):
        batches = epoch_batches(sampling, n, batch_size, seed=123, epoch=epoch)
        assert len(batches) == n_batches(n, batch_size)
        assert all(len(b) == batch_size for b in batches[:-1])
        assert 1 <= len(batches[-1]) <= batch_size
        assert_array_equal(np.sort(np.concatenate(batches)), np.arange(n))


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
