"""`cocoseg validate FILE.json [FILE ...]`: one line per problem, then a summary line per file."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from cocoseg.cli.args import add_bool

_SECTIONS = (("images", "image"), ("annotations", "annotation"), ("categories", "category"))
HELP = "check COCO JSON files (structure, ids and references, boxes, polygons, RLE, keypoints, values)"


def _count(value: str) -> int:
    number = int(value)
    if number < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0 (0 prints every problem), got {value}")
    return number


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Files to check, how many problems to print, and whether to hide warnings."""
    parser.add_argument("files", nargs="+", metavar="FILE.json",
                        help="COCO dataset files (.json or .json.gz) to check")
    parser.add_argument("--max_errors", type=_count, default=50, metavar="N",
                        help="print at most N problems per file; 0 prints all (default: 50)")
    add_bool(parser, "quiet", False, "print errors and the summary only, no warnings")


def run(args: argparse.Namespace) -> int:
    """Validate each file; 0 when none has an error, 1 when one has or a file does not exist."""
    from cocoseg.io.validate import read_and_validate

    code = 0
    for name in args.files:
        if not Path(name).is_file():
            why = "is a folder, expected a JSON file" if Path(name).is_dir() else "no such file"
            print(f"error: {name}: {why}", file=sys.stderr)
            code = 1
            continue
        data, problems = read_and_validate(name)
        errors = sum(p.severity == "error" for p in problems)
        shown = [p for p in problems if not (args.quiet and p.severity == "warning")]
        limit = args.max_errors or len(shown)
        for problem in shown[:limit]:
            print(problem)
        if len(shown) > limit:
            print(f"... and {len(shown) - limit} more (--max_errors 0 prints all)")
        print(_summary(name, data, errors, len(problems) - errors))
        if errors and code == 0:
            code = 1
    return code


def _summary(name: str, data: Any, errors: int, warnings: int) -> str:
    verdict = "INVALID" if errors else "valid"
    counts = f"{_plural(errors, 'error')}, {_plural(warnings, 'warning')}"
    if type(data) is not dict:
        return f"{name}: {verdict}: {counts}"
    sizes = ", ".join(_plural(len(v) if type(v) is list else 0, noun)
                      for key, noun in _SECTIONS for v in [data.get(key)])
    return f"{name}: {verdict}: {counts} in {sizes}"


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun[:-1] + 'ies' if noun.endswith('y') else noun + 's'}"
