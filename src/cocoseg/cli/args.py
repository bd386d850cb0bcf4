"""Argument parsing shared by all subcommands: `key=value` or `--key value`, with close-match suggestions."""
from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from typing import Any

from cocoseg.values import closest_key, parse_bool, parse_int_list


def str2bool(value: str | bool) -> bool:
    """Parse a boolean option value (`cocoseg.values.parse_bool`), as an argparse type."""
    try:
        return parse_bool(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def int_values(value: str) -> list[int]:
    """One or more integers in any of the reference's spellings (`cocoseg.values.parse_int_list`), as an
    argparse type; use with `action=IntList`."""
    try:
        numbers = parse_int_list(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if any(n < 0 for n in numbers):
        raise argparse.ArgumentTypeError(f"expected non-negative integers, got {value!r}")
    return numbers


class IntList(argparse.Action):
    """Collects `int_values` tokens into one flat list: `640,480`, `[480,640]` and `480 640` are alike."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        items = values if isinstance(values, list) else [values]
        setattr(namespace, self.dest, [v for item in items for v in (item if isinstance(item, list) else [item])])


def positive_int(value: str) -> int:
    """An integer >= 1, as an argparse type."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return number


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

    def flag_keys(self) -> set[str]:
        """Options that take no value or an optional boolean: a bare word (`save`) sets them True."""
        keys = set()
        for action in self._actions:
            takes_bool = action.nargs == 0 or (action.nargs == "?" and action.const in (True, "True"))
            if takes_bool:
                keys.update(opt[2:] for opt in action.option_strings if opt.startswith("--"))
        return keys

    def _no_value(self, key: str) -> bool:
        return any(a.nargs == 0 and f"--{key}" in a.option_strings for a in self._actions)

    def _rewrite(self, argv: Sequence[str]) -> list[str]:
        keys = set(self.option_keys())
        flags = self.flag_keys()
        out: list[str] = []
        for token in argv:
            if token.startswith("-"):
                out.append(token)
                continue
            if "=" not in token:
                norm = token.replace("_", "-") if token.replace("_", "-") in flags else token
                bare_flag = norm in flags and not os.path.exists(token)
                out.append(f"--{norm}" if bare_flag else token)  # the reference's bare `save` is save=True
                continue
            key, value = token.split("=", 1)
            norm = key.replace("_", "-") if key.replace("_", "-") in keys else key
            if norm in keys and self._no_value(norm):  # store_true flag written as key=True/False
                try:
                    out.extend([f"--{norm}"] if parse_bool(value) else [])
                except ValueError as exc:
                    self.error(f"{key}: {exc}")
            elif norm in keys:
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
