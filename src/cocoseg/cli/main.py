"""`cocoseg` entry point: dispatches to one module per subcommand.

Each subcommand module defines `HELP` (one line), `add_arguments(parser)` and `run(args) -> int`,
and imports heavy dependencies (torch, matplotlib) inside `run` so `cocoseg --help` stays fast
and the numpy-only commands work without torch.
"""
from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Sequence

from cocoseg.cli.args import ArgumentParser
from cocoseg.errors import CocosegError

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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 1 bad data or failed check, 2 usage)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser, modules = build_parser()
    if argv and argv[0] in modules:
        top_args, cmd_args = argv[:1], argv[1:]
        sub_parser = parser._subparsers._group_actions[0].choices[argv[0]]  # type: ignore[union-attr]
        try:
            args = sub_parser.parse_args(cmd_args)
        except SystemExit as exc:
            return int(exc.code or 0)
        args.command = top_args[0]
        args.verbose = False
    else:
        try:
            args = parser.parse_args(argv)
        except SystemExit as exc:
            return int(exc.code or 0)
        if args.version:
            from cocoseg import __version__

            print(__version__)
            return 0
        if not args.command:
            parser.print_help()
            return 2
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        return int(modules[args.command].run(args) or 0)  # type: ignore[attr-defined]
    except CocosegError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
