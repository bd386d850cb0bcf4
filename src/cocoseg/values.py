"""Values as users type them (`key=value` on the command line, overrides in YAML): the one parser.

Booleans and the close-match hint for a mistyped key, shared by the CLI's argument parser and
`TrainConfig.from_overrides`. Plain Python, importable by every layer.
"""
from __future__ import annotations

import difflib
from collections.abc import Iterable

TRUE_WORDS = frozenset({"1", "true", "yes", "y", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "n", "off"})


def parse_bool(value: str | bool) -> bool:
    """true/false, yes/no, 1/0, on/off (any case) -> bool; ValueError for anything else."""
    if isinstance(value, bool):
        return value
    text = value.strip().lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise ValueError(f"expected a boolean (True/False), got {value!r}")


def closest_key(key: str, valid: Iterable[str]) -> str | None:
    """The valid key a mistyped `key` most likely meant, or None."""
    close = difflib.get_close_matches(key.lstrip("-"), list(valid), n=1, cutoff=0.6)
    return close[0] if close else None
