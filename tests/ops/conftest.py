"""One torch thread per test process: the suite runs under pytest-xdist on shared cores, where
intra-op threads only oversubscribe the CPU (small ops then wait on descheduled threads)."""
from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_torch_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
