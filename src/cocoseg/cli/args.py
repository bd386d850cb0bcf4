"""Argument parsing shared by all subcommands: `key=value` or `--key value`, with close-match suggestions."""
from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from typing import Any

from cocoseg.values import closest_key, parse_bool


def str2bool(value: str | bool) -> bool:
    """Parse a boolean option value (`cocoseg.values.parse_bool`), as an argparse type."""
    try:
        return parse_bool(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_bool(parser: argparse.ArgumentParser, name: str, default: bool, help: str, *aliases: str) -> None:
    """Add `--name`, `--name True/False` and `name=True/False` as one boolean option (`aliases`: more
    spellings, e.g. `--per-class`)."""
    parser.add_argument(
        f"--{name}", *aliases, type=str2bool, nargs="?", const=True, default=default, metavar="BOOL",
        dest=name.replace("-", "_"), help=f"{help} (default: {default})",
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
        close = closest_key(key, self.option_keys())
        return f"; did you mean '{close}'?" if close else f"; valid keys: {', '.join(sorted(self.option_keys()))}"

    def parse_args(self, args: Sequence[str] | None = None, namespace: Any = None) -> argparse.Namespace:  # type: ignore[override]
        ns, extra = self.parse_known_args(self._rewrite(list(args or [])), namespace)
        if extra:
            first = extra[0]
            if first.startswith("--"):
                self.error(f"unknown option '{first.split('=')[0]}'{self.suggest(first.split('=')[0])}")
            self.error(f"unexpected argument '{first}'")
        return ns
