"""Shared fixtures: the read-only ../shared data (skipped with a reason when absent)."""
from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


def shared_path(*parts: str) -> Path:
    """A path under ../shared, or skip the calling test with a reason when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent (the ../shared data is only beside the project in CI and dev)")
    return path


@pytest.fixture
def shared() -> Path:
    """The ../shared folder, or skip."""
    return shared_path()
