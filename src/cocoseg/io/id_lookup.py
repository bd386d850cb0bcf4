"""Ids looked up in a sorted id column: the one vectorized lookup the GT scan and the evaluator's tables share."""
from __future__ import annotations

import numpy as np


def positions(sorted_ids: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Position of each id in sorted_ids, -1 where absent."""
    if len(sorted_ids) == 0:
        return np.full(len(ids), -1, dtype=np.int64)
    pos = np.searchsorted(sorted_ids, ids)
    pos_c = np.minimum(pos, len(sorted_ids) - 1)
    return np.where(sorted_ids[pos_c] == ids, pos_c, -1).astype(np.int64)
