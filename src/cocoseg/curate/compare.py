"""Model A/B: per-slice and per-class metric deltas (B - A) with bootstrap confidence intervals.

Each slice is evaluated once per model by the engine; the bootstrap then resamples IMAGES with
replacement (paired: the same draw for A and B) and re-accumulates the engine's per-image
matches (`EvalState`) for each draw, so no resample re-runs the matching and every figure is
pycocotools' AP of the resampled image multiset (a drawn-twice image counts twice). Interval:
the percentile bootstrap, `resamples` draws (default 1000) from `numpy.random.default_rng(seed)`
(seed 0), level `confidence` (0.95). A delta whose interval excludes 0 is marked significant.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from cocoseg.curate.suite import SliceSpec
from cocoseg.curate.suite_run import evaluate_slice
from cocoseg.errors import CocosegError
from cocoseg.eval.analysis._prepare import load_inputs
from cocoseg.eval.pipeline import accumulate
from cocoseg.eval.state import EvalState
from cocoseg.eval.summary import mean_valid, summary_items

METRICS = ("ap", "ap50", "ap75", "ar100")  # the bootstrap keeps the first area range and the largest max_dets
RESAMPLES = 1000


def _ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Concatenated aranges [starts[i], starts[i] + counts[i])."""
    total = int(counts.sum())
    offsets = np.cumsum(counts) - counts
    return np.repeat(starts - offsets, counts) + np.arange(total)


def resample_state(state: EvalState, picks: np.ndarray) -> EvalState:
    """The state of the image multiset `picks` (positions in state.image_ids), each draw a new image 0..n-1."""
    ids = state.image_ids
    ds, de = np.searchsorted(state.dt_image_id, ids, "left"), np.searchsorted(state.dt_image_id, ids, "right")
    gs, ge = np.searchsorted(state.gt_image_id, ids, "left"), np.searchsorted(state.gt_image_id, ids, "right")
    n_dt, n_gt = (de - ds)[picks], (ge - gs)[picks]
    dt_rows, gt_rows = _ranges(ds[picks], n_dt), _ranges(gs[picks], n_gt)
    draw = np.arange(len(picks), dtype=np.int64)
    # the match codes are local to their cell (image, category): a drawn image keeps its codes as they are
    return EvalState(
        state.params, draw, np.repeat(draw, n_dt), state.dt_category_id[dt_rows], state.dt_score[dt_rows],
        state.dt_rank[dt_rows], state.dt_index[dt_rows], state.dt_match[dt_rows], np.repeat(draw, n_gt), state.gt_category_id[gt_rows], state.gt_ann_index[gt_rows],
        state.gt_area[gt_rows], state.gt_iscrowd[gt_rows], state.gt_ignore[:, gt_rows], state.gt_match[gt_rows])


def reduced_state(state: EvalState) -> EvalState:
    """The state cut to its first area range and largest max_dets: all that ap, ap50, ap75, ar<max> read (12x less work)."""
    from dataclasses import replace

    p = state.params
    params = replace(p, area_ranges=(p.area_ranges[0],), max_dets=(p.max_dets[-1],))
    return replace(state, params=params, dt_match=state.dt_match[:, :1], gt_ignore=state.gt_ignore[:1],
                   gt_match=state.gt_match[:, :1])


def state_metrics(state: EvalState, per_class: bool = False) -> tuple[dict[str, float], dict[int, float]]:
    """({summary metric: value}, {category id: AP}) of a state, exactly as the engine's result."""
    params = state.params
    precision, recall, _ = accumulate(state)
    metrics = {it.name: mean_valid(precision, recall, params, it) for it in summary_items(params)}
    if not per_class:
        return metrics, {}
    # per_class_rows' AP (mean of the entries > -1 at area 0, max_dets[-1]), for all classes at once
    p = precision[:, :, :, 0, -1]
    valid = p > -1
    count = valid.sum(axis=(0, 1))
    total = np.where(valid, p, 0.0).sum(axis=(0, 1))
    ap = np.where(count > 0, total / np.maximum(count, 1), -1.0)
    return metrics, {int(c): float(v) for c, v in zip(params.category_ids, ap)}


@dataclass(frozen=True)
class Delta:
    """B - A for one figure, with its bootstrap interval."""

    a: float
    b: float
    delta: float
    low: float
    high: float

    @property
    def significant(self) -> bool:
        """The interval excludes 0."""
        return self.low > 0 or self.high < 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        def num(v: float) -> float | None:
            return None if not np.isfinite(v) else v

        return {"a": num(self.a), "b": num(self.b), "delta": num(self.delta), "ci_low": num(self.low),
                "ci_high": num(self.high), "significant": self.significant}


def _delta(a: float, b: float, draws: np.ndarray, confidence: float) -> Delta:
    if a < 0 or b < 0:
        return Delta(a, b, float("nan"), float("nan"), float("nan"))
    tail = (1 - confidence) / 2 * 100
    finite = draws[np.isfinite(draws)]
    low, high = np.percentile(finite, [tail, 100 - tail]) if len(finite) else (np.nan, np.nan)
    return Delta(a, b, b - a, float(low), float(high))


def bootstrap_deltas(state_a: EvalState, state_b: EvalState, *, metrics: Sequence[str] = METRICS,
                     per_class: bool = False, resamples: int = RESAMPLES, seed: int = 0,
                     confidence: float = 0.95) -> tuple[dict[str, Delta], dict[int, Delta]]:
    """Paired bootstrap of B - A over images for `metrics` (and per-class AP); see the module docstring."""
    if not np.array_equal(state_a.image_ids, state_b.image_ids):
        raise CocosegError("the two evaluations cover different images; compare needs the same GT images")
    state_a, state_b = reduced_state(state_a), reduced_state(state_b)
    full_a, cls_a = state_metrics(state_a, per_class)
    full_b, cls_b = state_metrics(state_b, per_class)
    names = [m for m in metrics if m in full_a]
    rng = np.random.default_rng(seed)
    n = len(state_a.image_ids)
    draws = np.full((resamples, len(names)), np.nan)
    cats = sorted(cls_a)
    class_draws = np.full((resamples, len(cats)), np.nan)
    for r in range(resamples):
        picks = rng.integers(0, n, n)
        ma, ca = state_metrics(resample_state(state_a, picks), per_class)
        mb, cb = state_metrics(resample_state(state_b, picks), per_class)
        draws[r] = [mb[m] - ma[m] if ma[m] >= 0 and mb[m] >= 0 else np.nan for m in names]
        if per_class:
            class_draws[r] = [cb[c] - ca[c] if ca[c] >= 0 and cb[c] >= 0 else np.nan for c in cats]
    out = {m: _delta(full_a[m], full_b[m], draws[:, i], confidence) for i, m in enumerate(names)}
    per = {c: _delta(cls_a[c], cls_b[c], class_draws[:, i], confidence) for i, c in enumerate(cats)}
    return out, per


@dataclass(frozen=True)
class CompareReport:
    """Per-slice metric deltas and the first slice's per-class AP deltas."""

    iou_type: str
    resamples: int
    seed: int
    confidence: float
    slices: dict[str, dict[str, Delta]]
    per_class: dict[str, Delta]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"iou_type": self.iou_type, "resamples": self.resamples, "seed": self.seed, "confidence": self.confidence,
                "delta": "B - A", "slices": {s: {m: d.to_dict() for m, d in v.items()} for s, v in self.slices.items()},
                "per_class_ap": {c: d.to_dict() for c, d in self.per_class.items()}}

    def format(self, top: int = 15) -> str:
        """Text tables: each slice's figures, then the classes with the largest AP change."""
        pct = round(self.confidence * 100)
        lines = [f"B - A with {pct} % bootstrap intervals over images ({self.resamples} resamples, seed {self.seed}); "
                 "* = interval excludes 0", f"{'slice':<20}{'metric':<8}{'A':>8}{'B':>8}{'B-A':>9}  interval"]
        for name, deltas in self.slices.items():
            for metric, d in deltas.items():
                lines.append(f"{name:<20}{metric:<8}" + _row(d))
        ranked = sorted(self.per_class.items(), key=lambda kv: -abs(kv[1].delta) if np.isfinite(kv[1].delta) else 0)
        lines += ["", f"{'class (AP)':<28}{'A':>8}{'B':>8}{'B-A':>9}  interval"]
        lines += [f"{name[:27]:<28}" + _row(d) for name, d in ranked[:top]]
        return "\n".join(lines)


def _row(d: Delta) -> str:
    if not np.isfinite(d.delta):
        return f"{_v(d.a)}{_v(d.b)}{'-':>9}"
    return f"{_v(d.a)}{_v(d.b)}{d.delta:>+9.3f}  [{d.low:+.3f}, {d.high:+.3f}]{' *' if d.significant else ''}"


def _v(x: float) -> str:
    return f"{x:>8.3f}" if x >= 0 else f"{'-':>8}"


def compare(gt: Any, results_a: Any, results_b: Any, iou_type: str, specs: Sequence[SliceSpec], *,
            resamples: int = RESAMPLES, seed: int = 0, confidence: float = 0.95) -> CompareReport:
    """Deltas of B over A on every slice of `specs` (per-class AP on the first slice)."""
    if resamples < 1 or not 0 < confidence < 1:
        raise CocosegError(f"resamples must be >= 1 and confidence in (0, 1), got {resamples}, {confidence}")
    gt_ds, dets_a = load_inputs(gt, results_a, iou_type)
    _, dets_b = load_inputs(gt_ds, results_b, iou_type)
    names = {c["id"]: str(c.get("name", c["id"])) for c in gt_ds.categories}
    slices, per_class = {}, {}
    for i, spec in enumerate(specs):
        _, res_a = evaluate_slice(gt_ds, dets_a, iou_type, spec)
        _, res_b = evaluate_slice(gt_ds, dets_b, iou_type, spec)
        if res_a is None:
            continue
        deltas, classes = bootstrap_deltas(res_a.state, res_b.state, per_class=i == 0, resamples=resamples,
                                           seed=seed, confidence=confidence)
        slices[spec.name] = deltas
        if i == 0:
            per_class = {names.get(c, str(c)): d for c, d in classes.items()}
    return CompareReport(iou_type, resamples, seed, confidence, slices, per_class)
