"""A simulated active-learning loop on cocoseg's synthetic data: which `cocoseg rank` strategy buys most mAP.

    python benchmarks/active_learning.py [--pool 1000] [--holdout 200] [--size 192] [--seeds 0 1 2]
        [--strategies hybrid entropy coreset random] [--rounds 3] [--initial-epochs 20] [--epochs 2]
        [--imgsz 128] [--work DIR] [--out results.json]

A pool of `--pool` synthetic images (the train split of `cocoseg synth`, `--size` px) and a fixed
held-out split of `--holdout` images, never trained on. Per seed, 10 % of the pool (a seeded draw)
is labeled and yolov8n-seg is trained from scratch on it (`--initial-epochs`; this round-0 model is
shared by every strategy of that seed). Then each strategy runs `--rounds` rounds: the previous
round's model ranks the pool (`cocoseg.curate.select` over `cocoseg.engine.ranker.score_pool`, the
code of `cocoseg rank`), the top 10 % of the pool among the unlabeled images is added to the labels,
and the previous round's last.pt is fine-tuned on all labels with a fixed short recipe (`--epochs`,
AdamW lr0 0.0005, no warmup, no mosaic; round 0: lr0 0.003, mosaic closed for the last epoch). After every round the model's mask
mAP@[.5:.95] on the held-out split is recorded; the area under that curve (trapezoids over the
labeled fraction, divided by its range: a mean mAP) summarises a strategy. Results are written to
`--out` after every step, and a rerun with the same `--work` resumes where it stopped.
"""
from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

RECIPE = {"imgsz": 128, "batch": 16, "nbs": 16, "workers": 0, "optimizer": "AdamW", "warmup_epochs": 0.0,
          "close_mosaic": 1, "plots": False, "cache_images": True, "patience": 1000}


def make_data(work: Path, pool: int, holdout: int, size: int) -> dict[str, Any]:
    """The synthetic pool (train split) and held-out (val split), generated once under `work`."""
    from cocoseg.synth import generate

    root = work / "synth"
    if not (root / "data.yaml").exists():
        generate(root, num_images=pool + holdout, seed=0, size=(size, size), val_fraction=holdout / (pool + holdout))
    train = json.loads((root / "annotations" / "instances_train.json").read_text())
    return {"root": root, "train": train, "names": {c["id"] - 1: c["name"] for c in train["categories"]}}


def subset_yaml(data: dict[str, Any], image_ids: list[int], path: Path) -> Path:
    """A dataset YAML whose train split is the labeled images of the pool and whose val is the held-out split."""
    keep = set(image_ids)
    train = data["train"]
    subset = {**train, "images": [im for im in train["images"] if im["id"] in keep],
              "annotations": [a for a in train["annotations"] if a["image_id"] in keep]}
    ann = path.with_suffix(".json")
    ann.write_text(json.dumps(subset))
    root = data["root"]
    names = "".join(f"  {k}: {v}\n" for k, v in sorted(data["names"].items()))
    path.write_text(f"path: {root}\ntrain:\n  images: images/train\n  annotations: {ann}\n"
                    f"val:\n  images: images/val\n  annotations: annotations/instances_val.json\nnames:\n{names}")
    return path


FINE_TUNE = {"lr0": 0.0005, "mosaic": 0.0}  # lr0 0.002 with mosaic lost a third of round 0's mAP in 2 epochs


def train(yaml_path: Path, model: str, epochs: int, lr0: float, seed: int, run: Path,
          **extra: Any) -> tuple[float, Path]:
    """Train (or fine-tune from `model`) and return the held-out mask mAP and the last.pt path."""
    from cocoseg.engine.config import TrainConfig
    from cocoseg.engine.trainer import Trainer

    cfg = TrainConfig.from_overrides({**RECIPE, "data": str(yaml_path), "model": model, "epochs": epochs,
                                      "lr0": lr0, "seed": seed, "project": str(run.parent), "name": run.name,
                                      "exist_ok": True, "val_period": epochs, **extra})
    from cocoseg.engine.device import set_cpu_threads

    trainer = Trainer(cfg)
    if trainer.threads:  # torch's thread count is the application's to set
        set_cpu_threads(trainer.threads)
    metrics = trainer.train()
    return float(metrics["mask_map"]), run / "weights" / "last.pt"


_SCORED: dict[str, tuple[list[dict], np.ndarray]] = {}  # weights -> pool scores (round 1 shares round 0's model)


def scored_pool(weights: Path, data: dict[str, Any]) -> tuple[list[dict], np.ndarray]:
    """Score components and embeddings of every pool image under `weights` (cached by path)."""
    from cocoseg.engine.ranker import Ranker, score_pool

    if str(weights) not in _SCORED:
        ranker = Ranker(str(weights), imgsz=RECIPE["imgsz"], batch=32, device="cpu")
        paths = [data["root"] / "images" / "train" / im["file_name"] for im in data["train"]["images"]]
        pool = score_pool(ranker, paths, progress=False)
        _SCORED[str(weights)] = (pool.components, pool.embeddings.astype(np.float32))
        pool.store.close()
    return _SCORED[str(weights)]


def choose(strategy: str, weights: Path, data: dict[str, Any], labeled: list[int], add: int, seed: int) -> list[int]:
    """The `add` pool images `strategy` picks next, by the code of `cocoseg rank`."""
    from cocoseg.curate import select

    images = data["train"]["images"]
    unlabeled = [i for i, im in enumerate(images) if im["id"] not in set(labeled)]
    if strategy == "random":
        comps = [{} for _ in images]
        picks = select("random", comps, add, candidates=unlabeled, seed=seed).picks
        return [images[i]["id"] for i in picks]
    components, emb = scored_pool(weights, data)
    labeled_rows = [i for i, im in enumerate(images) if im["id"] in set(labeled)]
    picks = select(strategy, components, add, embeddings=emb, labeled_embeddings=emb[labeled_rows],
                   candidates=unlabeled, seed=seed).picks
    return [images[i]["id"] for i in picks]


def area_under(fractions: list[float], maps: list[float]) -> float:
    """Trapezoidal area under mAP vs labeled fraction, divided by the fraction range (a mean mAP)."""
    x, y = np.asarray(fractions), np.asarray(maps)
    return float(((y[1:] + y[:-1]) / 2 * np.diff(x)).sum() / (x[-1] - x[0]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pool", type=int, default=1000)
    parser.add_argument("--holdout", type=int, default=200)
    parser.add_argument("--size", type=int, default=192)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--strategies", nargs="+", default=["hybrid", "entropy", "coreset", "random"])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--initial-epochs", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--imgsz", type=int, default=RECIPE["imgsz"], help="network input size (train and rank)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/cocoseg-active-learning"))
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    RECIPE["imgsz"] = args.imgsz
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    out = args.out or args.work / "results.json"
    results: dict[str, Any] = json.loads(out.read_text()) if out.exists() else {}
    results["config"] = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()} | {"recipe": RECIPE}
    data = make_data(args.work, args.pool, args.holdout, args.size)
    ids = [im["id"] for im in data["train"]["images"]]
    step = len(ids) // 10
    started = time.time()
    for seed in args.seeds:
        start_ids = sorted(np.random.default_rng(seed).choice(ids, step, replace=False).tolist())
        key0 = f"seed{seed}/round0"
        if key0 not in results:
            yaml0 = subset_yaml(data, start_ids, args.work / f"seed{seed}-round0.yaml")
            m, w = train(yaml0, "yolov8n-seg.yaml", args.initial_epochs, 0.003, seed, args.work / "runs" / key0.replace("/", "-"))
            results[key0] = {"mask_map": m, "weights": str(w), "labeled": len(start_ids)}
            _save(out, results, started)
        for strategy in args.strategies:
            labeled, weights = list(start_ids), Path(results[key0]["weights"])
            for r in range(1, args.rounds + 1):
                key = f"seed{seed}/{strategy}/round{r}"
                if key in results:
                    labeled, weights = results[key]["labeled_ids"], Path(results[key]["weights"])
                    continue
                t0 = time.time()
                labeled = sorted(labeled + choose(strategy, weights, data, labeled, step, seed * 100 + r))
                yaml_r = subset_yaml(data, labeled, args.work / f"{key.replace('/', '-')}.yaml")
                run = args.work / "runs" / key.replace("/", "-")
                m, weights = train(yaml_r, str(weights), args.epochs, FINE_TUNE["lr0"], seed, run,
                                   mosaic=FINE_TUNE["mosaic"])
                results[key] = {"mask_map": m, "weights": str(weights), "labeled_ids": labeled,
                                "seconds": round(time.time() - t0, 1)}
                _save(out, results, started)
                print(f"{key}: {len(labeled)} labeled, mask mAP {m:.4f} ({time.time() - t0:.0f} s)", flush=True)
    print(summary(results, args.seeds, args.strategies, args.rounds, len(ids)))
    return 0


def summary(results: dict[str, Any], seeds: list[int], strategies: list[str], rounds: int, pool: int) -> str:
    """A table: per strategy the mean (min-max over seeds) mask mAP per round and the area under the curve."""
    lines = ["strategy  " + "  ".join(f"round{r} ({(r + 1) * 10}%)" for r in range(rounds + 1)) + "  AUC"]
    for strategy in strategies:
        curves = []
        for seed in seeds:
            curve = [results[f"seed{seed}/round0"]["mask_map"]]
            curve += [results[f"seed{seed}/{strategy}/round{r}"]["mask_map"] for r in range(1, rounds + 1)]
            curves.append(curve)
        arr = np.asarray(curves)
        aucs = [area_under([0.1 * (r + 1) for r in range(rounds + 1)], c) for c in curves]
        cells = [f"{arr[:, r].mean():.3f} ({arr[:, r].min():.3f}-{arr[:, r].max():.3f})" for r in range(rounds + 1)]
        lines.append(f"{strategy:<9} " + "  ".join(cells) + f"  {np.mean(aucs):.4f} ({min(aucs):.4f}-{max(aucs):.4f})")
    return "\n".join(lines)


def _save(out: Path, results: dict[str, Any], started: float) -> None:
    results["elapsed_s_this_run"] = round(time.time() - started, 1)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(results, indent=1))
    tmp.replace(out)


if __name__ == "__main__":
    raise SystemExit(main())
