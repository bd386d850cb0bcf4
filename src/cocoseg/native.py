"""The optional compiled core, `cocoseg._native` (csrc/), or None: then numba does the same work.

The extension is built by `pip install` (setup.py) where a C compiler exists; without one, or with
COCOSEG_NATIVE=0 in the environment, every caller uses its numba fallback, with the same numbers.
The core saves numba's import and cache loading (about 1 s of a 2 s evaluation) and releases the
GIL, so the kernels run on several threads.
"""
from __future__ import annotations

import os
from types import ModuleType


def _load() -> ModuleType | None:
    if os.environ.get("COCOSEG_NATIVE", "1") == "0":
        return None
    try:
        import cocoseg._native as _native
    except ImportError:
        return None
    return _native


NATIVE: ModuleType | None = _load()
