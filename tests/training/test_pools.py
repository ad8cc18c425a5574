"""Tests for poseaug_tf.training.pools.FakePool against the history-pool semantics of docs/reference.md §6.4.

Samples carry a unique id in every coordinate (id + a fixed small pattern), so each returned sample can be traced
back to the incoming batch or to a pool slot.
"""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from poseaug_tf.training.pools import FakePool


def samples(ids, shape=(16, 3)) -> np.ndarray:
    """(len(ids), *shape) float32: sample k = k + pattern, the pattern the same for every sample."""
    pattern = (np.arange(np.prod(shape)).reshape(shape) / 1000.0).astype(np.float32)
    return np.asarray(ids, np.float32).reshape(-1, *[1] * len(shape)) + pattern


def ids_of(batch) -> np.ndarray:
    """Recovers the ids (exact, since the pattern is < 1)."""
    batch = np.asarray(batch)
    return np.rint(batch.reshape(len(batch), -1)[:, 0]).astype(int)


@pytest.mark.parametrize("shape", [(16, 3), (16, 2)])
def test_fill_phase_across_batches(shape):
    pool = FakePool(10, shape, seed=3)
    out1 = pool.query(tf.constant(samples(range(0, 4), shape))).numpy()
    out2 = pool.query(tf.constant(samples(range(4, 8), shape))).numpy()
    np.testing.assert_array_equal(out1, samples(range(0, 4), shape))
    np.testing.assert_array_equal(out2, samples(range(4, 8), shape))
    assert int(pool.count.numpy()) == 8
    # The third batch crosses the capacity: its first two samples fill the pool and come back unchanged.
    out3 = pool.query(tf.constant(samples(range(8, 12), shape))).numpy()
    assert out3.shape == (4, *shape)
    np.testing.assert_array_equal(out3[:2], samples([8, 9], shape))
    assert int(pool.count.numpy()) == 10
    # The other two are each either the incoming sample or one of the 10 stored ones.
    for incoming, got in zip((10, 11), ids_of(out3[2:])):
        assert got == incoming or 0 <= got < 10
    # Slot k held sample k; a slot handed out now holds one of the incoming samples that took it, the others
    # are unchanged.
    stored = ids_of(pool.items.numpy())
    taken = {}
    for incoming, got in zip((10, 11), ids_of(out3[2:])):
        if got != incoming:
            taken.setdefault(got, set()).add(incoming)
    for slot in range(10):
        assert stored[slot] in taken.get(slot, {slot}), (slot, stored[slot])
    np.testing.assert_array_equal(pool.items.numpy(), samples(stored, shape))


def test_post_fill_semantics_and_swap_rate():
    capacity, batch, calls = 64, 32, 150
    pool = FakePool(capacity, (16, 3), seed=11)
    pool.query(tf.constant(samples(range(capacity))))
    query = tf.function(pool.query)
    next_id = capacity
    swapped_total = 0
    slot_hits = np.zeros(capacity, int)
    for _ in range(calls):
        before = ids_of(pool.items.numpy())
        incoming = np.arange(next_id, next_id + batch)
        next_id += batch
        out = ids_of(query(tf.constant(samples(incoming))).numpy())
        after = ids_of(pool.items.numpy())
        swapped = out != incoming
        swapped_total += swapped.sum()
        # Every swapped-in sample was stored before this batch; remember which slot it came from.
        slot_of = {sample_id: slot for slot, sample_id in enumerate(before)}
        assert all(o in slot_of for o in out[swapped])
        src_slots = np.array([slot_of[o] for o in out[swapped]], int)
        slot_hits[src_slots] += 1
        # Only those slots changed, and each now holds one of the incoming samples that picked it.
        changed = np.flatnonzero(after != before)
        np.testing.assert_array_equal(np.sort(changed), np.unique(src_slots))
        for slot in changed:
            assert after[slot] in set(incoming[swapped][src_slots == slot])
        # Each swapped-out incoming sample ends up stored unless another sample of the batch took its slot.
        for i, slot in zip(incoming[swapped], src_slots):
            if (src_slots == slot).sum() == 1:
                assert after[slot] == i
    draws = calls * batch
    rate = swapped_total / draws
    assert abs(rate - 0.5) < 0.03, rate  # sd 0.0072: > 4 sigma tolerance
    # Slots are chosen uniformly: every slot used, none more than ~3× the expectation.
    assert slot_hits.min() > 0 and slot_hits.max() < 3 * swapped_total / capacity
    assert int(pool.count.numpy()) == capacity


def test_deterministic_under_seed():
    def run(seed):
        pool = FakePool(16, (16, 2), seed=seed)
        outs = [pool.query(tf.constant(samples(range(8 * k, 8 * k + 8), (16, 2)))).numpy() for k in range(8)]
        return np.concatenate(outs), pool.items.numpy()

    out_a, items_a = run(5)
    out_b, items_b = run(5)
    out_c, _ = run(6)
    np.testing.assert_array_equal(out_a, out_b)
    np.testing.assert_array_equal(items_a, items_b)
    assert not np.array_equal(out_a, out_c)


def test_tf_function_traces_once_and_equals_eager():
    eager_pool = FakePool(20, (16, 3), seed=7)
    graph_pool = FakePool(20, (16, 3), seed=7)
    query = tf.function(graph_pool.query)
    for k in range(8):  # crosses the fill boundary at call 3 and runs 5 post-fill calls
        batch = tf.constant(samples(range(8 * k, 8 * k + 8)))
        np.testing.assert_array_equal(query(batch).numpy(), eager_pool.query(batch).numpy())
    assert query.experimental_get_tracing_count() == 1
    np.testing.assert_array_equal(graph_pool.items.numpy(), eager_pool.items.numpy())
    assert int(graph_pool.count.numpy()) == 20


def test_bad_capacity_raises():
    with pytest.raises(ValueError, match="capacity"):
        FakePool(0, (16, 3), seed=0)
    with pytest.raises(ValueError, match="capacity"):
        FakePool(10, (16, 3), seed=0, num_replicas=3)
