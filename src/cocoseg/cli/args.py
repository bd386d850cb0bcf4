"""Argument parsing shared by all subcommands: `key=value` or `--key value`, with close-match suggestions."""
from __future__ import annotations

import argparse
import difflib
import os
from collections.abc import Sequence
from typing import Any


def str2bool(value: str | bool) -> bool:
    """Parse a boolean option value: true/false, yes/no, 1/0, on/off."""
    if isinstance(value, bool):
        return value
    text = value.strip().lower()
    if text in {"1", "true", "yes", "y", "on"}:
        return True
    if text in {"0", "false", "no", "n", "off"}:
        return False
    raise argparse.ArgumentTypeError(f"expected a boolean (True/False), got {value!r}")


def add_bool(parser: argparse.ArgumentParser, name: str, default: bool, help: str) -> None:
    """Add `--name`, `--name True/False` and `name=True/False` as one boolean option."""
    parser.add_argument(
        f"--{name}", type=str2bool, nargs="?", const=True, default=default, metavar="BOOL",
        help=f"{help} (default: {default})",
    )


class ArgumentParser(argparse.ArgumentParser):
    """argparse with `key=value` tokens and a suggestion of the closest valid key for unknown ones."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)  # a prefix is a typo to point out, not a match
        super().__init__(*args, **kwargs)

    def option_keys(self) -> list[str]:
        """Long option names without dashes, as users type them in `key=value` form."""
        keys = []
        for action in self._actions:
            for opt in action.option_strings:
                if opt.startswith("--"):
                    keys.append(opt[2:])
        return keys

    def _rewrite(self, argv: Sequence[str]) -> list[str]:
        keys = set(self.option_keys())
        out: list[str] = []
        for token in argv:
            if token.startswith("-") or "=" not in token:
                out.append(token)
                continue
            key, value = token.split("=", 1)
            norm = key.replace("_", "-") if key.replace("_", "-") in keys else key
            if norm in keys:
                out.extend([f"--{norm}", value])
            elif key.isidentifier() and not os.path.exists(token):
                self.error(f"unknown key '{key}'{self.suggest(key)}")
            else:
                out.append(token)
        return out

    def suggest(self, key: str) -> str:
        """A ' (did you mean ...?)' hint for a mistyped key, or ''."""
        key = key.lstrip("-")
        close = difflib.get_close_matches(key, self.option_keys(), n=1, cutoff=0.6)
        return f"; did you mean '{close[0]}'?" if close else f"; valid keys: {', '.join(sorted(self.option_keys()))}"

    def parse_args(self, args: Sequence[str] | None = None, namespace: Any = None) -> argparse.Namespace:  # type: ignore[override]
        ns, extra = self.parse_known_args(self._rewrite(list(args or [])), namespace)
        if extra:
            first = extra[0]
            if first.startswith("--"):
                self.error(f"unknown option '{first.split('=')[0]}'{self.suggest(first.split('=')[0])}")
            self.error(f"unexpected argument '{first}'")
        return ns
