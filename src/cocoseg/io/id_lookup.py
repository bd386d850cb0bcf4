"""Ids looked up in a sorted id column: the one vectorized lookup the GT scan and the evaluator's tables share."""
from __future__ import annotations

import numpy as np

_DENSE = 4  # ids spanning at most this many times their count (plus a little) are looked up in a table


def positions(sorted_ids: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Position of each id in sorted_ids (ascending, distinct), -1 where absent."""
    ids = np.asarray(ids)
    if len(sorted_ids) == 0:
        return np.full(len(ids), -1, dtype=np.int64)
    lo, hi = int(sorted_ids[0]), int(sorted_ids[-1])
    if len(ids) > 4 * len(sorted_ids) and 0 <= lo and hi < _DENSE * len(sorted_ids) + 1024:
        # COCO ids are mostly 1..N: one gather instead of a binary search per id (5x faster at 1M ids)
        table = np.full(hi + 2, -1, np.int64)
        table[sorted_ids] = np.arange(len(sorted_ids))
        return table[np.clip(ids, -1, hi + 1)]  # -1 and hi + 1 both hold -1
    pos = np.searchsorted(sorted_ids, ids)
    pos_c = np.minimum(pos, len(sorted_ids) - 1)
    return np.where(sorted_ids[pos_c] == ids, pos_c, -1).astype(np.int64, copy=False)
