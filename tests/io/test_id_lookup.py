"""positions(): the binary search and the dense lookup table give the same answer as a scan."""
from __future__ import annotations

import numpy as np

from cocoseg.io.id_lookup import positions


def test_positions_against_a_scan() -> None:
    rng = np.random.default_rng(0)
    for trial in range(300):
        n = int(rng.integers(1, 50))
        sorted_ids = np.unique(rng.integers(-5 if trial % 3 == 0 else 0, 300 if trial % 2 else 10**12, n))
        ids = np.r_[rng.integers(-10, 320, int(rng.integers(0, 1000))), rng.choice(sorted_ids, 5)]
        want = [int(np.flatnonzero(sorted_ids == i)[0]) if i in sorted_ids else -1 for i in ids.tolist()]
        got = positions(sorted_ids, ids)
        assert got.dtype == np.int64 and got.tolist() == want


def test_no_ids_to_look_in() -> None:
    assert positions(np.zeros(0, np.int64), np.array([1, 2])).tolist() == [-1, -1]
