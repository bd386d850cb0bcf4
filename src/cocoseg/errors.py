"""Error types shared by every layer: user mistakes are reported as messages, never tracebacks."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class CocosegError(Exception):
    """A problem with the user's input or environment; the CLI prints it and exits 1."""


@dataclass(frozen=True)
class Problem:
    """One finding about a file: where it is (file, record, field) and what is wrong."""

    file: str
    record: str
    field: str
    message: str
    severity: str = "error"  # "error" or "warning"

    def __str__(self) -> str:
        where = ": ".join(part for part in (self.file, self.record) if part)
        what = f"{self.field} {self.message}" if self.field else self.message
        prefix = "warning: " if self.severity == "warning" else ""
        return f"{prefix}{where}: {what}" if where else f"{prefix}{what}"


class DataError(CocosegError):
    """Invalid data in a file; carries every problem found, one line each."""

    def __init__(self, problems: Sequence[Problem] | str, file: str = "") -> None:
        if isinstance(problems, str):
            problems = [Problem(file, "", "", problems)]
        self.problems = list(problems)
        errors = [p for p in self.problems if p.severity == "error"] or self.problems
        shown = "\n".join(str(p) for p in errors[:50])
        more = f"\n... and {len(errors) - 50} more" if len(errors) > 50 else ""
        super().__init__(shown + more)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]


class UsageError(CocosegError):
    """The command line itself is wrong (a value out of range, an option that cannot be combined):
    nothing was read; the CLI prints it and exits 2."""
