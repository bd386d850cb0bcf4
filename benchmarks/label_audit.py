"""Label-audit benchmark: inject known errors into a clean COCO set, audit it, score the ranking.

    python benchmarks/label_audit.py [--data synth|coco-mini|fake100|PATH.json] [--seeds 3]

Errors injected into the clean labels (the fractions are of the regular annotations):
  dropped 5 % (-> overlooked), class swapped 5 % (-> swap), masks shifted by 30 % of their box
  2.5 % and shrunk to 70 % about their centre 2.5 % (-> badloc), duplicated 2 % (-> duplicate),
  and, beyond the issue's list, 2 % of masks replaced by their box polygon ("boxy", a mask-only
  error: the box does not change).
Predictions simulate a model trained elsewhere, made from the CLEAN labels: each object is
found with probability 0.9 (0.75 under 32^2 px), its polygon jittered (scale ~N(1, 0.05), shift
~N(0, 0.03 x size), vertex noise), its score 1 - exp(N(-3.6, 0.9)) (about 70 % of true
objects >= 0.95, lower for small ones); 3 % of found objects come with the wrong class at a lower
score; each image gets Poisson(1) false positives (an object's shape at a random place, score
Beta(2, 5)). Nothing of the injected errors leaks into the predictions.
Measured per error type: AUROC (injected vs clean units) and precision at k (k = injected count)
of cocoseg's per-type score, and of cleanlab 2.9.0's object_detection per-type box scores on the
same inputs (boxes only: labels xyxy, predictions per class). Units: the annotation for swap,
badloc and duplicate; the image for overlooked (pooled score; clean = images without any error).
"""
from __future__ import annotations

import argparse
import copy
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from cocoseg import masks  # noqa: E402
from cocoseg.curate.audit import audit  # noqa: E402

SHARED = next((p / "shared" / "data" for p in (ROOT.parent, ROOT.parent.parent) if (p / "shared").exists()),
              ROOT.parent / "shared" / "data")
DATA = {"coco-mini": SHARED / "coco-mini-val2017/annotations/instances_val2017.json",
        "fake100": SHARED / "cocoapi-val2014-fake100/annotations/instances_val2014_100.json"}
RATES = {"dropped": 0.05, "swap": 0.05, "shift": 0.025, "shrink": 0.025, "duplicate": 0.02, "boxy": 0.02}


def load_clean(name: str, tmp: Path) -> dict:
    if name == "synth":
        subprocess.run([sys.executable, "-m", "cocoseg", "synth", str(tmp / "synth"), "--images", "400", "--val_fraction",
                        "0"], check=True, capture_output=True, env={"PYTHONPATH": str(ROOT / "src"), "PATH": ""})
        return json.loads((tmp / "synth/annotations/instances_train.json").read_text())
    return json.loads(Path(DATA.get(name, name)).read_text())


def _transform(poly: list[list[float]], fn) -> list[list[float]]:
    out = []
    for part in poly:
        xy = fn(np.asarray(part, dtype=np.float64).reshape(-1, 2))
        out.append(xy.ravel().round(2).tolist())
    return out


def _complete(ann: dict, image: dict) -> dict:
    rle = masks.segmentation_to_rle(ann["segmentation"], image["height"], image["width"])
    ann["area"] = float(masks.area(rle))
    ann["bbox"] = [float(v) for v in masks.to_bbox(rle)]
    return ann


def inject(clean: dict, rng: np.random.Generator) -> tuple[dict, dict[str, set]]:
    """(noisy dataset, {error type: annotation ids (or image ids for 'dropped')})."""
    noisy = copy.deepcopy(clean)
    images = {im["id"]: im for im in noisy["images"]}
    cats = [c["id"] for c in noisy["categories"]]
    pool = [a for a in noisy["annotations"] if not a.get("iscrowd") and isinstance(a["segmentation"], list)
            and a["area"] >= 16]
    order = rng.permutation(len(pool))
    counts = {k: int(round(v * len(pool))) for k, v in RATES.items()}
    chosen, start = {}, 0
    for kind, n in counts.items():
        chosen[kind] = [pool[i] for i in order[start:start + n]]
        start += n
    truth: dict[str, set] = {k: set() for k in RATES}
    for a in chosen["swap"]:
        a["category_id"] = int(rng.choice([c for c in cats if c != a["category_id"]]))
        truth["swap"].add(a["id"])
    for kind, fn in (("shift", lambda a: (lambda xy: xy + 0.3 * np.asarray(a["bbox"][2:]) * rng.choice([-1, 1], 2))),
                     ("shrink", lambda a: (lambda xy: (xy - xy.mean(0)) * 0.7 + xy.mean(0)))):
        for a in chosen[kind]:
            a["segmentation"] = _transform(a["segmentation"], fn(a))
            _complete(a, images[a["image_id"]])
            truth[kind].add(a["id"])
    for a in chosen["boxy"]:
        x, y, w, h = a["bbox"]
        a["segmentation"] = [[x, y, x + w, y, x + w, y + h, x, y + h]]
        _complete(a, images[a["image_id"]])
        truth["boxy"].add(a["id"])
    next_id = max(a["id"] for a in noisy["annotations"]) + 1
    for a in chosen["duplicate"]:
        dup = copy.deepcopy(a)
        d = rng.uniform(-0.01, 0.01, 2) * np.asarray(a["bbox"][2:])
        dup["segmentation"] = _transform(dup["segmentation"], lambda xy, d=d: xy + d)
        dup["id"] = next_id
        next_id += 1
        noisy["annotations"].append(_complete(dup, images[a["image_id"]]))
        truth["duplicate"].add(dup["id"])
    dropped = {a["id"] for a in chosen["dropped"]}
    truth["dropped"] = {a["image_id"] for a in chosen["dropped"]}
    noisy["annotations"] = [a for a in noisy["annotations"] if a["id"] not in dropped]
    return noisy, truth


def simulate_predictions(clean: dict, rng: np.random.Generator) -> list[dict]:
    """Results of a simulated model trained elsewhere (see the module docstring)."""
    images = {im["id"]: im for im in clean["images"]}
    cats = [c["id"] for c in clean["categories"]]
    out = []
    regular = [a for a in clean["annotations"] if not a.get("iscrowd") and isinstance(a["segmentation"], list)]
    for a in regular:
        small = a["area"] < 32 ** 2
        if rng.random() > (0.75 if small else 0.9):
            continue
        w, h = a["bbox"][2:]
        scale, shift = rng.normal(1, 0.05), rng.normal(0, 0.03, 2) * (w, h)
        noise = 0.01 * max(w, h)
        seg = _transform(a["segmentation"], lambda xy, scale=scale, shift=shift, noise=noise: (xy - xy.mean(0)) * scale
                         + xy.mean(0) + shift + rng.normal(0, noise, xy.shape))
        score = float(1 - np.exp(rng.normal(-3.6 + (1.2 if small else 0.0), 0.9)))
        cat = a["category_id"]
        if rng.random() < 0.03:
            cat, score = int(rng.choice([c for c in cats if c != cat])), score * rng.uniform(0.3, 0.9)
        out.append(_result(seg, cat, max(score, 0.01), images[a["image_id"]]))
    for image in clean["images"]:
        for _ in range(rng.poisson(1.0)):
            src = regular[int(rng.integers(len(regular)))]
            x, y, w, h = src["bbox"]
            to = rng.uniform(0, 1, 2) * (max(image["width"] - w, 1), max(image["height"] - h, 1))
            seg = _transform(src["segmentation"], lambda xy, origin=(x, y), to=to: xy - origin + to)
            out.append(_result(seg, int(rng.choice(cats)), float(rng.beta(2, 5)), image))
    return [r for r in out if r["bbox"][2] > 0 and r["bbox"][3] > 0]


def _result(seg: list, cat: int, score: float, image: dict) -> dict:
    rle = masks.segmentation_to_rle(seg, image["height"], image["width"])
    return {"image_id": image["id"], "category_id": cat, "score": round(score, 5),
            "bbox": [float(v) for v in masks.to_bbox(rle)],
            "segmentation": {"size": rle["size"], "counts": rle["counts"]}}


def auroc(positive: np.ndarray, negative: np.ndarray) -> float:
    """P(score of an error < score of a clean unit), ties half (low score = suspect)."""
    if len(positive) == 0 or len(negative) == 0:
        return float("nan")
    pos, neg = np.asarray(positive)[:, None], np.asarray(negative)[None, :]
    return float(np.mean((pos < neg) + 0.5 * (pos == neg)))


def precision_at_k(scores: dict, positives: set) -> float:
    k = len(positives)
    ranked = sorted(scores, key=lambda u: (scores[u], str(u)))[:k]
    return sum(u in positives for u in ranked) / k if k else float("nan")


def cleanlab_scores(noisy: dict, preds: list[dict]) -> tuple[dict, dict, dict]:
    """cleanlab's per-type scores: ({ann id: {swap, badloc}}, {image id: overlooked}, {image id: overall})."""
    from cleanlab.object_detection import rank

    cat_index = {c["id"]: i for i, c in enumerate(noisy["categories"])}
    k = len(cat_index)
    labels, predictions, ann_ids, image_ids = [], [], [], []
    by_image = {im["id"]: [] for im in noisy["images"]}
    for a in noisy["annotations"]:
        if not a.get("iscrowd"):
            by_image[a["image_id"]].append(a)
    pred_by_image = {im["id"]: [[] for _ in range(k)] for im in noisy["images"]}
    for p in preds:
        x, y, w, h = p["bbox"]
        pred_by_image[p["image_id"]][cat_index[p["category_id"]]].append([x, y, x + w, y + h, p["score"]])
    for image_id, anns in by_image.items():
        boxes = np.asarray([[a["bbox"][0], a["bbox"][1], a["bbox"][0] + a["bbox"][2], a["bbox"][1] + a["bbox"][3]]
                            for a in anns], dtype=np.float64).reshape(-1, 4)
        labels.append({"bboxes": boxes, "labels": np.asarray([cat_index[a["category_id"]] for a in anns], dtype=int)})
        predictions.append(np.array([np.asarray(c, dtype=np.float32).reshape(-1, 5) for c in pred_by_image[image_id]],
                                    dtype=object))
        ann_ids.append([a["id"] for a in anns])
        image_ids.append(image_id)
    swap = rank.compute_swap_box_scores(labels=labels, predictions=predictions)
    badloc = rank.compute_badloc_box_scores(labels=labels, predictions=predictions)
    overlooked = rank.pool_box_scores_per_image(rank.compute_overlooked_box_scores(labels=labels, predictions=predictions))
    overall = rank.get_label_quality_scores(labels, predictions, verbose=False)
    per_ann = {aid: {"swap": float(s), "badloc": float(b)} for ids, ss, bb in zip(ann_ids, swap, badloc)
               for aid, s, b in zip(ids, ss, bb)}
    return per_ann, dict(zip(image_ids, overlooked.tolist())), dict(zip(image_ids, overall.tolist()))


def evaluate_rankings(noisy: dict, truth: dict, ann_scores: dict, image_overlooked: dict, image_overall: dict,
                      types: dict[str, str]) -> dict:
    """{error kind: (AUROC, P@k)} for one method; `types` maps error kind -> the score type ranking it."""
    bad_anns = set().union(*(truth[k] for k in truth if k != "dropped"))
    bad_images = truth["dropped"] | {a["image_id"] for a in noisy["annotations"] if a["id"] in bad_anns}
    out = {}
    for kind, score_type in types.items():
        if kind == "dropped":
            clean = [s for i, s in image_overlooked.items() if i not in bad_images]
            pos = [image_overlooked[i] for i in truth["dropped"]]
            units = {i: s for i, s in image_overlooked.items() if i in truth["dropped"] or i not in bad_images}
        else:
            clean = [s[score_type] for a, s in ann_scores.items() if a not in bad_anns]
            pos = [ann_scores[a][score_type] for a in truth[kind] if a in ann_scores]
            units = {a: s[score_type] for a, s in ann_scores.items() if a in truth[kind] or a not in bad_anns}
        out[kind] = (auroc(np.asarray(pos), np.asarray(clean)), precision_at_k(units, truth[kind]))
    pos = [s for i, s in image_overall.items() if i in bad_images]
    out["any (image score)"] = (auroc(np.asarray(pos), np.asarray([s for i, s in image_overall.items()
                                                                   if i not in bad_images])), float("nan"))
    return out


OURS = {"dropped": "overlooked", "swap": "swap", "shift": "badloc", "shrink": "badloc", "boxy": "badloc",
        "duplicate": "duplicate"}
CLEANLAB = {"dropped": "overlooked", "swap": "swap", "shift": "badloc", "shrink": "badloc", "boxy": "badloc",
            "duplicate": "badloc"}


def ours(noisy: dict, preds: list[dict], geometry: str, objectlab: bool = False) -> tuple[dict, float]:
    start = time.perf_counter()
    exact = {"exclusive": False, "overlap_iou": 0.0, "calibrate": False} if objectlab else {}
    report = audit(noisy, preds, geometry=geometry, **exact)
    seconds = time.perf_counter() - start
    ann = {a["annotation_id"]: a["scores"] for a in report.annotations}
    over = {r["image_id"]: r["scores"]["overlooked"] for r in report.images}
    overall = {r["image_id"]: r["image_score"] for r in report.images}
    return evaluate_rankings(noisy, _truth, ann, over, overall, OURS), seconds


def theirs(noisy: dict, preds: list[dict]) -> tuple[dict, float]:
    start = time.perf_counter()
    ann, over, overall = cleanlab_scores(noisy, preds)
    seconds = time.perf_counter() - start
    return evaluate_rankings(noisy, _truth, ann, over, overall, CLEANLAB), seconds


_truth: dict = {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="synth", help="synth, coco-mini, fake100 or a COCO JSON path")
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        clean = load_clean(args.data, Path(tmp))
    n_regular = sum(1 for a in clean["annotations"] if not a.get("iscrowd"))
    print(f"data: {args.data}, {len(clean['images'])} images, {n_regular} regular annotations, seeds {args.seeds}")
    methods = {"cocoseg mask": [], "cocoseg box": [], "ObjectLab rule (box)": [], "cleanlab 2.9.0": []}
    times = {m: [] for m in methods}
    for seed in range(args.seeds):
        rng = np.random.default_rng(seed)
        noisy, truth = inject(clean, rng)
        _truth.clear()
        _truth.update(truth)
        preds = simulate_predictions(clean, rng)
        for name, run, extra in (("cocoseg mask", ours, ("mask",)), ("cocoseg box", ours, ("box",)),
                                 ("ObjectLab rule (box)", ours, ("box", True)), ("cleanlab 2.9.0", theirs, ())):
            figures, seconds = run(noisy, preds, *extra)
            methods[name].append(figures)
            times[name].append(seconds)
    kinds = list(methods["cocoseg mask"][0])
    print(f"\n{'error type':<20}" + "".join(f"{m:>26}" for m in methods))
    print(f"{'':<20}" + "".join(f"{'AUROC':>14}{'P@k':>12}" for _ in methods))
    for kind in kinds:
        cells = []
        for name, runs in methods.items():
            a = np.array([r[kind][0] for r in runs])
            p = np.array([r[kind][1] for r in runs])
            handled = not (name.startswith("cleanlab") and kind == "duplicate")
            cell = f"{a.mean():.3f}±{a.std():.3f}" if handled else "not handled"
            cells.append(f"{cell:>14}" + (f"{p.mean():>8.3f}±{p.std():.2f}" if not np.isnan(p).all() and handled
                                          else f"{'':>12}"))
        print(f"{kind:<20}" + "".join(f"{c:>26}" for c in cells))
    print("\nseconds per audit: " + ", ".join(f"{m} {min(t):.2f}-{max(t):.2f}" for m, t in times.items()))


if __name__ == "__main__":
    main()
