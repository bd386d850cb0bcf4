"""pycocotools' `COCOeval` on cocoseg's engine: same API, same numbers, same printed lines, same errors.

`evaluate()` hands the inputs to cocoseg's evaluator whenever that is exact (see `_fast`), and
otherwise runs pycocotools' per-image steps (`_pure`), which subclasses may override as detectron2
and mmdetection do. `evalImgs`, `_gts`, `_dts` and `ious` are built from the engine's state only
when read; a caller that assigns `evalImgs` (torchvision merges them across ranks) or changes the
parameters before `accumulate()` gets pycocotools' accumulation of those dicts.
"""
from __future__ import annotations

import copy
import datetime
import time
from collections import defaultdict
from typing import Any

import numpy as np

from cocoseg.compat._accumulate import accumulate_eval_imgs, summarize_stats
from cocoseg.compat._evalimgs import accumulate_built, build_eval_imgs, remember
from cocoseg.compat._fast import EngineRun, params_snapshot, run_engine
from cocoseg.compat._pure import PurePath, prepared
from cocoseg.compat.params import Params
from cocoseg.errors import CocosegError

__all__ = ["COCOeval", "Params"]

_OVERRIDABLE = ("_prepare", "computeIoU", "computeOks", "evaluateImg")


class COCOeval(PurePath):
    """Evaluation of a results COCO against a GT COCO (pycocotools' class, attribute for attribute)."""

    def __init__(self, cocoGt: Any = None, cocoDt: Any = None, iouType: str = "segm") -> None:  # noqa: N803
        if not iouType:
            print("iouType not specified. use default iouType segm")
        self._engine: EngineRun | None = None
        self._lazy: set[str] = set()
        self._built: list = []  # (engine run, evalImgs list built from it): recognised when merged back
        self.cocoGt = cocoGt
        self.cocoDt = cocoDt
        self.evalImgs = defaultdict(list)
        self.eval: dict = {}
        self._gts = defaultdict(list)
        self._dts = defaultdict(list)
        self.params = Params(iouType=iouType)
        self._paramsEval: Any = {}
        self.stats: Any = []
        self.ious: Any = {}
        if cocoGt is not None:
            self.params.imgIds = sorted(cocoGt.getImgIds())
            self.params.catIds = sorted(cocoGt.getCatIds())

    # ---- per-image results, built on first read after the fast path ---------------------------
    def __getattr__(self, name: str) -> Any:
        lazy = self.__dict__.get("_lazy", ())
        if name in lazy:
            self._materialize(name)
            return self.__dict__[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __setattr__(self, name: str, value: Any) -> None:
        lazy = self.__dict__.get("_lazy")
        if lazy and name in lazy:
            lazy.discard(name)
        object.__setattr__(self, name, value)

    def _materialize(self, name: str) -> None:
        self._lazy.discard(name)
        run, p = self._engine, self._paramsEval if self._paramsEval else self.params
        if name == "evalImgs":
            built = build_eval_imgs(run, p)
            self._built.append(run)  # kept alive with this evaluator, so merged lists can be recognised
            remember(run, built)
            object.__setattr__(self, "evalImgs", built)
        elif name in ("_gts", "_dts"):
            self._lazy.difference_update(("_gts", "_dts"))
            gts, dts = prepared(self)
            object.__setattr__(self, "_gts", gts)
            object.__setattr__(self, "_dts", dts)
        elif name == "ious":
            compute = self.computeOks if p.iouType == "keypoints" else self.computeIoU
            cats = p.catIds if p.useCats else [-1]
            object.__setattr__(self, "ious", {(i, c): compute(i, c) for i in p.imgIds for c in cats})

    # ---- the three steps -----------------------------------------------------------------------
    def evaluate(self) -> None:
        """Match every image and category; results in evalImgs (built when read)."""
        tic = time.time()
        print("Running per image evaluation...")
        p = self.params
        if p.useSegm is not None:
            p.iouType = "segm" if p.useSegm == 1 else "bbox"
            print(f"useSegm (deprecated) is not None. Running {p.iouType} evaluation")
        print(f"Evaluate annotation type *{p.iouType}*")
        p.imgIds = list(np.unique(p.imgIds))
        if p.useCats:
            p.catIds = list(np.unique(p.catIds))
        p.maxDets = sorted(p.maxDets)
        self.params = p
        self._engine = None
        self._lazy.clear()
        run = run_engine(self.cocoGt, self.cocoDt, p) if self._uses_default_steps() else None
        if run is not None:
            self._engine = run
            self.eval = {}
            self._lazy.update(("evalImgs", "_gts", "_dts", "ious"))
            for name in self._lazy:
                self.__dict__.pop(name, None)
        else:
            self._evaluate_steps()
        self._paramsEval = copy.deepcopy(self.params)
        print(f"DONE (t={time.time() - tic:0.2f}s).")

    def _uses_default_steps(self) -> bool:
        cls = type(self)
        return all(getattr(cls, name) is getattr(COCOeval, name) for name in _OVERRIDABLE)

    def _evaluate_steps(self) -> None:
        p = self.params
        self._prepare()
        cat_ids = p.catIds if p.useCats else [-1]
        if p.iouType in ("segm", "bbox"):
            compute = self.computeIoU
        elif p.iouType == "keypoints":
            compute = self.computeOks
        else:
            raise UnboundLocalError("cannot access local variable 'computeIoU' where it is not associated with a value")
        self.ious = {(img_id, cat_id): compute(img_id, cat_id) for img_id in p.imgIds for cat_id in cat_ids}
        max_det = p.maxDets[-1]
        self.evalImgs = [self.evaluateImg(img_id, cat_id, area_rng, max_det)
                         for cat_id in cat_ids for area_rng in p.areaRng for img_id in p.imgIds]

    def accumulate(self, p: Any = None) -> None:
        """Precision/recall/scores over all images into `eval` (pycocotools' [T,R,K,A,M] layout)."""
        print("Accumulating evaluation results...")
        tic = time.time()
        fast = self._fast_accumulate_possible(p)
        if not self._has_eval_imgs(fast):
            print("Please run evaluate() first")
        if p is None:
            p = self.params
        p.catIds = p.catIds if p.useCats == 1 else [-1]
        res = self._engine.result if fast else self._merged_batches(p)
        if res is not None:
            precision, recall, scores = res.precision.copy(), res.recall.copy(), res.scores.copy()
        else:
            precision, recall, scores = accumulate_eval_imgs(self.evalImgs, p, self._paramsEval)
        n_k = len(p.catIds) if p.useCats else 1
        self.eval = {"params": p, "counts": [len(p.iouThrs), len(p.recThrs), n_k, len(p.areaRng), len(p.maxDets)],
                     "date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
                     "precision": precision, "recall": recall, "scores": scores}
        print(f"DONE (t={time.time() - tic:0.2f}s).")

    def _fast_accumulate_possible(self, p: Any) -> bool:
        run = self._engine
        if run is None or "evalImgs" not in self._lazy or (p is not None and p is not self.params):
            return False
        return params_snapshot(self.params) == run.snapshot and params_snapshot(self._paramsEval) == run.snapshot

    def _merged_batches(self, p: Any) -> Any:
        """The engine's accumulation when evalImgs is a merge of lists built here (torchvision's batches)."""
        if p is not self.params or not self._built or not self._uses_default_steps():
            return None
        now = params_snapshot(p)
        rest = {k: v for k, v in now.items() if k != "imgIds"}
        if rest != {k: v for k, v in self._built[0].snapshot.items() if k != "imgIds"} \
                or params_snapshot(self._paramsEval) != now:
            return None
        try:
            return accumulate_built(self.evalImgs, p, self.cocoGt)
        except (CocosegError, KeyError, TypeError, ValueError, IndexError, AttributeError):
            return None

    def _has_eval_imgs(self, fast: bool) -> bool:
        if fast:
            p = self._paramsEval
            return len(p.catIds if p.useCats else [-1]) * len(p.areaRng) * len(p.imgIds) > 0
        return bool(self.evalImgs)

    def summarize(self) -> None:
        """Print pycocotools' 12 (keypoints: 10) summary lines; values in `stats`."""
        self.stats = summarize_stats(self)

    def __str__(self) -> str:
        self.summarize()
        return None  # type: ignore[return-value]  # pycocotools returns None here too (str() raises)
