"""COCOeval.accumulate over an evalImgs list and COCOeval.summarize, as pycocotools computes them."""
from __future__ import annotations

from typing import Any

import numpy as np


def accumulate_eval_imgs(eval_imgs: Any, p: Any, pe: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """precision [T,R,K,A,M], recall [T,K,A,M], scores [T,R,K,A,M] from per-image dicts.

    p: the parameters to accumulate for (catIds already [-1] when categories are pooled);
    pe: the parameters evalImgs were made with (`_paramsEval`), which fix its [K, A, I] layout.
    """
    n_t, n_r = len(p.iouThrs), len(p.recThrs)
    n_k = len(p.catIds) if p.useCats else 1
    n_a, n_m = len(p.areaRng), len(p.maxDets)
    precision, recall, scores = -np.ones((n_t, n_r, n_k, n_a, n_m)), -np.ones((n_t, n_k, n_a, n_m)), -np.ones((n_t, n_r, n_k, n_a, n_m))
    set_k = set(pe.catIds if pe.useCats else [-1])
    set_a, set_m, set_i = set(map(tuple, pe.areaRng)), set(pe.maxDets), set(pe.imgIds)
    k_list = [n for n, k in enumerate(p.catIds) if k in set_k]
    m_list = [m for m in p.maxDets if m in set_m]
    a_list = [n for n, a in enumerate(map(tuple, p.areaRng)) if a in set_a]
    i_list = [n for n, i in enumerate(p.imgIds) if i in set_i]
    n_i0, n_a0 = len(pe.imgIds), len(pe.areaRng)
    for k, k0 in enumerate(k_list):
        for a, a0 in enumerate(a_list):
            base = k0 * n_a0 * n_i0 + a0 * n_i0
            cells = [e for e in (eval_imgs[base + i] for i in i_list) if e is not None]
            if not cells:
                continue
            for m, max_det in enumerate(m_list):
                _fill(cells, max_det, p.recThrs, (k, a, m), precision, recall, scores)
    return precision, recall, scores


def _fill(cells: list, max_det: int, rec_thrs: Any, at: tuple, precision: np.ndarray, recall: np.ndarray,
          scores: np.ndarray) -> None:
    k, a, m = at
    dt_scores = np.concatenate([e["dtScores"][0:max_det] for e in cells])
    order = np.argsort(-dt_scores, kind="mergesort")  # mergesort: stable, as the reference
    sorted_scores = dt_scores[order]
    dtm = np.concatenate([e["dtMatches"][:, 0:max_det] for e in cells], axis=1)[:, order]
    dt_ig = np.concatenate([e["dtIgnore"][:, 0:max_det] for e in cells], axis=1)[:, order]
    gt_ig = np.concatenate([e["gtIgnore"] for e in cells])
    npig = np.count_nonzero(gt_ig == 0)
    if npig == 0:
        return
    tps = np.logical_and(dtm, np.logical_not(dt_ig))
    fps = np.logical_and(np.logical_not(dtm), np.logical_not(dt_ig))
    tp_sum = np.cumsum(tps, axis=1).astype(dtype=float)
    fp_sum = np.cumsum(fps, axis=1).astype(dtype=float)
    n_r = len(rec_thrs)
    for t, (tp, fp) in enumerate(zip(tp_sum, fp_sum)):
        nd = len(tp)
        rc = tp / npig
        pr = (tp / (fp + tp + np.spacing(1))).tolist()
        q, ss = [0.0] * n_r, np.zeros((n_r,))
        recall[t, k, a, m] = rc[-1] if nd else 0
        for i in range(nd - 1, 0, -1):  # precision made monotone from the right
            if pr[i] > pr[i - 1]:
                pr[i - 1] = pr[i]
        positions = np.searchsorted(rc, rec_thrs, side="left")
        try:
            for ri, pi in enumerate(positions):
                q[ri] = pr[pi]
                ss[ri] = sorted_scores[pi]
        except IndexError:  # recall thresholds past the last detection keep 0
            pass
        precision[t, :, k, a, m] = np.array(q)
        scores[t, :, k, a, m] = np.array(ss)


_LINE = " {:<18} {} @[ IoU={:<9} | area={:>6s} | maxDets={:>3d} ] = {:0.3f}"


def summarize_line(ev: Any, ap: int = 1, iouThr: Any = None, areaRng: str = "all", maxDets: int = 100) -> Any:  # noqa: N803
    """One summary statistic, printed as pycocotools prints it (mean of the entries > -1, else -1)."""
    p = ev.params
    title, kind = ("Average Precision", "(AP)") if ap == 1 else ("Average Recall", "(AR)")
    iou = f"{p.iouThrs[0]:0.2f}:{p.iouThrs[-1]:0.2f}" if iouThr is None else f"{iouThr:0.2f}"
    aind = [i for i, label in enumerate(p.areaRngLbl) if label == areaRng]
    mind = [i for i, m in enumerate(p.maxDets) if m == maxDets]
    s = ev.eval["precision"] if ap == 1 else ev.eval["recall"]
    if iouThr is not None:
        s = s[np.where(iouThr == p.iouThrs)[0]]  # a list of thresholds compares unequal: nothing selected
    s = s[:, :, :, aind, mind] if ap == 1 else s[:, :, aind, mind]
    mean_s = -1 if len(s[s > -1]) == 0 else np.mean(s[s > -1])
    print(_LINE.format(title, kind, iou, areaRng, maxDets, mean_s))
    return mean_s


def summarize_stats(ev: Any) -> np.ndarray:
    """The 12 detection statistics (10 for keypoints) with pycocotools' choices of maxDets and areas."""
    if not ev.eval:
        raise Exception("Please run accumulate() first")
    iou_type = ev.params.iouType
    if iou_type == "keypoints":
        specs = [(1, None, "all"), (1, .5, "all"), (1, .75, "all"), (1, None, "medium"), (1, None, "large"),
                 (0, None, "all"), (0, .5, "all"), (0, .75, "all"), (0, None, "medium"), (0, None, "large")]
        return np.array([summarize_line(ev, ap, iou, area, 20) for ap, iou, area in specs])
    if iou_type not in ("bbox", "segm"):  # pycocotools: `summarize` unbound
        raise UnboundLocalError("cannot access local variable 'summarize' where it is not associated with a value")
    md = ev.params.maxDets
    stats = np.zeros((12,))
    stats[0] = summarize_line(ev, 1)
    specs = [(1, .5, "all", 2), (1, .75, "all", 2), (1, None, "small", 2), (1, None, "medium", 2), (1, None, "large", 2),
             (0, None, "all", 0), (0, None, "all", 1), (0, None, "all", 2), (0, None, "small", 2), (0, None, "medium", 2),
             (0, None, "large", 2)]
    for i, (ap, iou, area, m) in enumerate(specs, start=1):
        stats[i] = summarize_line(ev, ap, iou, area, md[m])
    return stats
