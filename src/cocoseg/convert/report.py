"""What a conversion wrote, changed and dropped, with counts per reason (the end-of-run summary)."""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Callable, TypeVar

T = TypeVar("T")
# progress(iterable, total, description) -> iterable; the CLI passes a tqdm wrapper, the library none
Progress = Callable[[Iterable[T], int, str], Iterable[T]]


def no_progress(items: Iterable[T], total: int, desc: str) -> Iterable[T]:
    """The default progress hook: the items unchanged."""
    return items


@dataclass
class ConvertReport:
    """Counters of a conversion; `changed`/`dropped` count objects (or lines) per reason."""

    input_format: str = ""
    output_format: str = ""
    written: Counter = field(default_factory=Counter)
    changed: Counter = field(default_factory=Counter)
    dropped: Counter = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)

    def change(self, reason: str, count: int = 1) -> None:
        """Count objects changed for `reason`."""
        if count:
            self.changed[reason] += count

    def drop(self, reason: str, count: int = 1) -> None:
        """Count objects dropped for `reason`."""
        if count:
            self.dropped[reason] += count

    def note(self, text: str) -> None:
        """A one-line remark shown in the summary (once)."""
        if text not in self.notes:
            self.notes.append(text)

    def merge(self, other: ConvertReport) -> None:
        """Add another report's counts."""
        self.written.update(other.written)
        self.changed.update(other.changed)
        self.dropped.update(other.dropped)
        for text in other.notes:
            self.note(text)
        self.outputs.extend(p for p in other.outputs if p not in self.outputs)

    def lines(self) -> Iterator[str]:
        """The summary, line by line."""
        arrow = f"{self.input_format} -> {self.output_format}" if self.output_format else self.input_format
        yield f"converted {arrow}"
        written = [f"{n} {what}" for what, n in self.written.items() if n]
        if written:
            yield "written: " + ", ".join(written)
        for path in self.outputs:
            yield f"  {path}"
        for title, counts in (("changed", self.changed), ("dropped", self.dropped)):
            if any(counts.values()):
                yield f"{title}:"
                for reason, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
                    if n:
                        yield f"  {n:>7}  {reason}"
        if not any(self.dropped.values()):
            yield "dropped: nothing"
        for text in self.notes:
            yield f"note: {text}"

    def __str__(self) -> str:
        return "\n".join(self.lines())
