"""Shard files of a prediction run: one JSON line per image, appended as results come, resumable.

Every rank of a `torchrun` run (or the single process of a plain one) predicts one contiguous block
of the source list and appends one line per image (per video frame) to its own shard
``<save_coco>.shards/rankR-of-W.jsonl``: nothing is held in memory but the current batch. A first
header line records the block, so a `resume` after an interruption skips the images already in the
file and refuses a shard written by a different plan. `predict_merge` writes the COCO file from the
shards in image order.
"""
from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from cocoseg.errors import CocosegError

SHARD_FORMAT = 1


@dataclass(frozen=True)
class ShardPlan:
    """Which images rank `rank` of `world` predicts: the contiguous block [start, stop) of `num_items`."""

    num_items: int
    rank: int = 0
    world: int = 1
    mode: str = "results"  # "results" or "dataset": what the lines hold
    mask_format: str = "rle"

    @property
    def start(self) -> int:
        return self.num_items * self.rank // self.world

    @property
    def stop(self) -> int:
        return self.num_items * (self.rank + 1) // self.world

    def header(self) -> dict[str, Any]:
        """The shard's first line: what a resume must agree with."""
        return {"cocoseg_shard": SHARD_FORMAT, "rank": self.rank, "world": self.world, "items": self.num_items,
                "start": self.start, "stop": self.stop, "mode": self.mode, "mask_format": self.mask_format}


def shard_dir(save_coco: str | Path) -> Path:
    """The folder beside the COCO file that holds the shards of its run."""
    save_coco = Path(save_coco)
    return save_coco.with_name(save_coco.name + ".shards")


def shard_path(save_coco: str | Path, rank: int, world: int) -> Path:
    """The shard file of one rank."""
    return shard_dir(save_coco) / f"rank{rank}-of-{world}.jsonl"


def read_lines(path: Path) -> Iterator[dict[str, Any]]:
    """The complete lines of a shard (header first); a torn last line (a killed writer) is left out."""
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.endswith("\n"):
                return
            try:
                yield json.loads(line)
            except json.JSONDecodeError as exc:
                raise CocosegError(f"{path}: line {n}: not JSON ({exc.msg}); delete the shard to start over") from None


class ShardWriter:
    """Appends image lines to one rank's shard; `done` holds the source indices it already has."""

    def __init__(self, path: Path, plan: ShardPlan, resume: bool) -> None:
        self.path, self.plan = path, plan
        self.done: set[int] = set()
        path.parent.mkdir(parents=True, exist_ok=True)
        if resume and path.is_file():
            self._resume()
            self.fh: TextIO = open(path, "a", encoding="utf-8")
        else:
            self.fh = open(path, "w", encoding="utf-8")
            self._write(plan.header())

    def _resume(self) -> None:
        lines = list(_index_lines(self.path))
        header = next(read_lines(self.path), None)
        if header != self.plan.header():
            raise CocosegError(f"{self.path}: written by another plan ({header}), this run is {self.plan.header()}; "
                               "resume with the same source, world size and options, or delete the shard folder")
        last = lines[-1][1] if lines else None
        keep = len(lines)
        if last is not None and last.get("frame") is not None:  # a video cut off mid-way is predicted again
            while keep and lines[keep - 1][1]["i"] == last["i"]:
                keep -= 1
        end = lines[keep - 1][0] if keep else _header_end(self.path)
        with open(self.path, "r+b") as fh:  # drop a torn last line and an unfinished video
            fh.truncate(end)
        self.done = {line["i"] for _, line in lines[:keep]}

    def _write(self, record: dict[str, Any]) -> None:
        try:
            text = json.dumps(record, separators=(",", ":"), allow_nan=False)
        except ValueError as exc:
            raise CocosegError(f"{self.path}: cannot write {record.get('path')}: {exc} (NaN or Infinity)") from None
        self.fh.write(text + "\n")
        self.fh.flush()  # on disk as it comes: a killed run loses at most the image in flight

    def add(self, index: int, path: str, frame: int | None, hw: tuple[int, int], dets: list[dict]) -> None:
        """One predicted image (frame): its records without image ids (the merge sets them)."""
        self._write({"i": index, "path": path, "frame": frame, "hw": list(hw), "dets": dets})

    def skip(self, index: int, path: str, reason: str) -> None:
        """An image that could not be read: kept in the shard so a resume does not read it again."""
        self._write({"i": index, "path": path, "skipped": reason})

    def close(self) -> None:
        """Flush to disk (the merge may run on another node of a shared file system)."""
        self.fh.flush()
        os.fsync(self.fh.fileno())
        self.fh.close()


def _index_lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(byte offset just past the line, line) of each complete image line."""
    offset = 0
    with open(path, "rb") as fh:
        for raw in fh:
            if not raw.endswith(b"\n"):
                return
            offset += len(raw)
            try:
                line = json.loads(raw)
            except json.JSONDecodeError:
                return
            if "i" in line:
                yield offset, line


def _header_end(path: Path) -> int:
    with open(path, "rb") as fh:
        return len(fh.readline())


def image_lines(shards: Sequence[Path], plans: Sequence[ShardPlan]) -> Iterator[dict[str, Any]]:
    """Every image line of the shards, in source order; a CocosegError if a shard misses images."""
    for path, plan in zip(shards, plans):
        if not path.is_file():
            raise CocosegError(f"{path}: missing: rank {plan.rank} wrote no shard")
        seen = 0
        for line in read_lines(path):
            if "i" not in line:
                continue
            if line.get("frame") in (None, 0):
                seen += 1
            yield line
        if seen != plan.stop - plan.start:
            raise CocosegError(f"{path}: {seen} of {plan.stop - plan.start} images; the rank did not finish "
                               "(rerun with resume=True)")


def unfinished_ranks(shards: Sequence[Path], plans: Sequence[ShardPlan]) -> list[int]:
    """The ranks whose shard is missing or lacks images of their block (a crashed or hung rank)."""
    out = []
    for path, plan in zip(shards, plans):
        try:
            for _ in image_lines([path], [plan]):
                pass
        except CocosegError:
            out.append(plan.rank)
    return out
