"""`cocoseg` entry point: dispatches to one module per subcommand.

Each subcommand module defines `HELP` (one line), `add_arguments(parser)` and `run(args) -> int`,
and imports heavy dependencies (torch, matplotlib) inside `run` so `cocoseg --help` stays fast
and the numpy-only commands work without torch.
"""
from __future__ import annotations

import argparse
import importlib
import io
import logging
import os
import sys
from collections.abc import Sequence

from cocoseg.cli.args import ArgumentParser
from cocoseg.errors import CocosegError, UsageError
from cocoseg.values import closest_key

# subcommand -> module; order is the order shown in --help
COMMANDS: dict[str, str] = {
    "validate": "cocoseg.cli.validate",
    "stats": "cocoseg.cli.stats",
    "synth": "cocoseg.cli.synth",
    "convert": "cocoseg.cli.convert",
    "download": "cocoseg.cli.download",
    "eval": "cocoseg.cli.eval",
    "info": "cocoseg.cli.info",
    "predict": "cocoseg.cli.predict",
    "rank": "cocoseg.cli.rank",
    "export": "cocoseg.cli.export",
    "train": "cocoseg.cli.train",
    "val": "cocoseg.cli.val",
    "demo": "cocoseg.cli.demo",
    "audit": "cocoseg.cli.audit",
    "merge": "cocoseg.cli.merge",
    "compare": "cocoseg.cli.compare",
    "challenge": "cocoseg.cli.challenge",
    "prelabels": "cocoseg.cli.prelabels",
    "view": "cocoseg.cli.view",
}


def _available() -> dict[str, object]:
    modules = {}
    for name, path in COMMANDS.items():
        try:
            modules[name] = importlib.import_module(path)
        except ModuleNotFoundError as exc:
            if exc.name != path:  # a real missing dependency inside an existing module
                raise
    return modules


def build_parser() -> tuple[ArgumentParser, dict[str, object]]:
    """The top-level parser with one subparser per available subcommand."""
    parser = ArgumentParser(prog="cocoseg", description="COCO-style instance segmentation, end to end.")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    modules = _available()
    for name, module in modules.items():
        help_text = module.HELP
        p = sub.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(p)  # type: ignore[attr-defined]
    return parser, modules


# The reference's `yolo TASK MODE key=value` grammar: cocoseg has one task and its modes are commands.
REFERENCE_TASKS = ("segment", "detect", "classify", "pose", "obb")
REFERENCE_MODES = ("train", "val", "predict", "export", "track", "benchmark")


def _usage(message: str) -> int:
    print(f"cocoseg: error: {message}", file=sys.stderr)
    return 2


def _check_task(task: str) -> None:
    if task != "segment":
        raise UsageError(f"task '{task}' is not available: cocoseg does instance segmentation only (task=segment)")


def _pull(argv: list[str], key: str) -> tuple[list[str], str | None]:
    """argv without its `key=value` tokens, and the last value given."""
    rest, value = [], None
    for token in argv:
        if token.startswith(f"{key}="):
            value = token.split("=", 1)[1]
        else:
            rest.append(token)
    return rest, value


def reference_form(argv: list[str], parsers: dict[str, ArgumentParser]) -> list[str]:
    """`segment train ...`, `task=segment` and `mode=train` (the reference's grammar) as `train ...`;
    a task word or key of a command that has its own (`convert task=detect`) is left to that command."""
    if argv and argv[0] in REFERENCE_TASKS:
        _check_task(argv[0])
        argv = argv[1:]
    command = argv[0] if argv and argv[0] in parsers else None
    own_keys = set(parsers[command].option_keys()) if command else set()
    if "mode" not in own_keys:
        argv, mode = _pull(argv, "mode")
        if mode is not None:
            if mode not in parsers or mode not in REFERENCE_MODES:
                raise UsageError(f"mode '{mode}' is not available; cocoseg's modes are train, val, predict, export")
            if command is None:
                argv, command = [mode, *argv], mode
            elif command != mode:
                raise UsageError(f"mode={mode} contradicts the command '{command}'")
    if "task" not in own_keys:
        argv, task = _pull(argv, "task")
        if task is not None:
            _check_task(task)
    return argv


def _unknown_command(word: str, commands: Sequence[str]) -> int:
    if "=" in word:
        return _usage(f"no command before '{word}': name one first (cocoseg train {word} ...); "
                      f"commands: {', '.join(commands)}")
    close = closest_key(word, commands)
    hint = f"did you mean '{close}'?" if close else f"commands: {', '.join(commands)}"
    return _usage(f"unknown command '{word}'; {hint} (cocoseg --help lists them)")


def _parse(argv: list[str]) -> tuple[argparse.Namespace | None, dict[str, object], int]:
    """(arguments, command modules, exit code when there is nothing to run)."""
    parser, modules = build_parser()
    parsers = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    try:
        argv = reference_form(argv, parsers)
    except UsageError as exc:
        return None, modules, _usage(str(exc))
    if argv and not argv[0].startswith("-") and argv[0] not in modules:
        return None, modules, _unknown_command(argv[0], list(modules))
    try:
        if argv and argv[0] in modules:
            args = parsers[argv[0]].parse_args(argv[1:])
            args.command, args.verbose = argv[0], False
            return args, modules, 0
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return None, modules, int(exc.code or 0)
    if args.version:
        from cocoseg import __version__

        print(__version__)
        return None, modules, 0
    if not args.command:
        parser.print_help()
        return None, modules, 2
    return args, modules, 0


def _quiet_stdout() -> None:
    """After a closed pipe (`| head`): send what is left to /dev/null so the exit flush cannot fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):  # not a real file (tests)
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - lives until the process exits
    finally:
        os.close(devnull)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 1 bad data, missing input or failed check, 2 usage)."""
    args, modules, code = _parse(list(sys.argv[1:] if argv is None else argv))
    if args is None:
        return code
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        return int(modules[args.command].run(args) or 0)  # type: ignore[attr-defined]
    except UsageError as exc:
        return _usage(str(exc))
    except CocosegError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # the reader went away (`cocoseg stats f.json | head -3`): nothing to report
        _quiet_stdout()
        return 141  # 128 + SIGPIPE, what a Unix tool killed by the closed pipe returns
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
