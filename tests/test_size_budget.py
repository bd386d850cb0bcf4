"""The size budget of the style guide: modules <= 400 lines, functions <= 60 lines (decorators excluded)."""
from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "cocoseg"
MAX_FILE_LINES = 400
MAX_FUNCTION_LINES = 60

# "path::function" (or a path alone) -> why it may be longer
ALLOWED = {
    "eval/_kernels_numba.py::accumulate_sorted": "numba kernel: one compiled loop nest; split, it pays a call per image "
                                           "and category in the evaluator's hot loop",
    "io/json_tokens.py::number": "numba JSON number scanner: one state machine over the bytes (sign, digits, "
                                 "fraction, exponent) that must stay a single compiled loop",
    "io/_results_scan_numba.py::_scan": "numba results-file scanner: one pass over the bytes filling every column; "
                                 "splitting it re-reads the buffer",
}


def _too_long() -> dict[str, int]:
    out = {}
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        text = path.read_text(encoding="utf-8")
        if len(text.splitlines()) > MAX_FILE_LINES:
            out[rel] = len(text.splitlines())
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    out[f"{rel}::{node.name}"] = length
    return out


def test_files_and_functions_stay_within_the_budget() -> None:
    over = {k: v for k, v in _too_long().items() if k not in ALLOWED}
    assert over == {}, f"over {MAX_FILE_LINES} lines a file / {MAX_FUNCTION_LINES} a function: {over}"

