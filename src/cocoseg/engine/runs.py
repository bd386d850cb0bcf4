"""A training run's folder: args.yaml, results.csv, plots, sample batches, weights, metrics.json.

Layout of `project/name/`:
    args.yaml          the resolved training arguments
    results.csv        one row per epoch: losses, box/mask mAP, fitness, learning rates, time
    results.png        the curves of results.csv
    train_batch*.jpg   the first training batches, drawn with their boxes, masks and class names
    weights/last.pt    written atomically at the end of every epoch (what `resume=True` continues)
    weights/best.pt    the checkpoint of the best fitness (0.1 mAP50 + 0.9 mAP50-95, box + mask)
    metrics.json       final metrics of best.pt
Checkpoints are written by `engine.checkpoints.save_checkpoint` (atomic, weights_only-loadable, versioned).
"""
from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from cocoseg.io import atomic_write

STALE_TEMP = re.compile(r"^\..+\.[A-Za-z0-9_]{8}\.tmp$")  # tempfile.mkstemp(prefix=".NAME.", suffix=".tmp")


def new_run_dir(project: str | Path, name: str, exist_ok: bool = False) -> Path:
    """`project/name`, or the first free `project/nameN` (N = 2, 3, ...) unless `exist_ok`."""
    base = Path(project) / name
    if exist_ok or not base.exists():
        return base
    stem = re.sub(r"\d+$", "", name) or name
    n = 2
    while (Path(project) / f"{stem}{n}").exists():
        n += 1
    return Path(project) / f"{stem}{n}"


class RunDir:
    """Writes a run's files into the folder from `new_run_dir` (or the resumed run's folder).

    Nothing is created until `create()`, called once the run has started: a run that fails while
    loading its data leaves no empty folder behind and does not take the next free name."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.weights = self.path / "weights"

    def create(self) -> list[Path]:
        """Make the folder and its weights/ subfolder; remove the temp files a killed run left behind
        (`atomic_write`'s `.NAME.XXXX.tmp`: only this run writes here, so any found now is stale).
        Returns the removed files."""
        self.weights.mkdir(parents=True, exist_ok=True)
        stale = [p for folder in (self.path, self.weights) for p in folder.iterdir()
                 if p.is_file() and STALE_TEMP.match(p.name)]
        for path in stale:
            path.unlink(missing_ok=True)
        return stale

    @property
    def last(self) -> Path:
        return self.weights / "last.pt"

    @property
    def best(self) -> Path:
        return self.weights / "best.pt"

    @property
    def results_csv(self) -> Path:
        return self.path / "results.csv"

    def write_args(self, args: Mapping[str, Any]) -> Path:
        """args.yaml with the resolved arguments."""
        text = yaml.safe_dump(dict(args), sort_keys=False)
        return atomic_write(self.path / "args.yaml", lambda fh: fh.write(text))

    def append_results(self, row: Mapping[str, Any]) -> None:
        """Add one epoch's row to results.csv (header written with the first row; rewritten atomically)."""
        rows = read_results(self.results_csv)
        rows = [r for r in rows if int(float(r["epoch"])) != int(row["epoch"])] + [dict(row)]
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(row.keys()))
        writer.writeheader()
        for r in rows:
            writer.writerow({k: _fmt(r.get(k, "")) for k in row})
        atomic_write(self.results_csv, lambda fh: fh.write(buffer.getvalue()))

    def truncate_results(self, last_epoch: int) -> None:
        """Drop rows after `last_epoch` (1-based, as in the CSV; a resumed run continues after the checkpoint's epoch)."""
        rows = [r for r in read_results(self.results_csv) if int(float(r["epoch"])) <= last_epoch]
        if not rows:
            self.results_csv.unlink(missing_ok=True)
            return
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0].keys()))
        writer.writeheader()
        writer.writerows(rows)
        atomic_write(self.results_csv, lambda fh: fh.write(buffer.getvalue()))

    def write_metrics(self, metrics: Mapping[str, Any]) -> Path:
        text = json.dumps(dict(metrics), indent=2)
        return atomic_write(self.path / "metrics.json", lambda fh: fh.write(text + "\n"))


def read_results(path: Path) -> list[dict[str, str]]:
    """Rows of a results.csv ([] when absent)."""
    if not path.exists():
        return []
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def _fmt(value: Any) -> Any:
    return f"{value:.6g}" if isinstance(value, float) else value
