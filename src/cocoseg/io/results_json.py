"""Fast path for results JSON files (placeholder: the stdlib parser is used)."""
from __future__ import annotations

from pathlib import Path
from typing import Any


def scan_results_file(path: Path, name: str) -> Any:
    """A DetectionResults parsed straight into columns, or None to use the generic parser."""
    return None
