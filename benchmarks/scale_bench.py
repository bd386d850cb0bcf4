"""Training labels at COCO train2017 scale: parse, cache, warm start, fingerprint, and loader-worker memory.

    python benchmarks/scale_bench.py [--images 118287] [--workers 8] [--calls 20000] [--real-calls 300]
        [--work /tmp/cocoseg_scale]

Builds (once, then reuses under --work) a synthetic COCO file shaped like train2017: 118k image
records, ~860k annotations (polygons of 8 to 40 vertices, 10 % of them in two parts, 1 % crowd RLE),
whose images are 16 small JPEGs reused by every record, and a YOLO-style label folder of 118k files for
the cache fingerprint. Then prints one JSON report:

- parse: JSON load and `parse_coco` seconds; cache write/read seconds and size; warm start (a fresh
  process: fingerprint + labels from the cache); fingerprint seconds over the 118k-file folder;
- memory: RSS / PSS / USS (from /proc/PID/smaps_rollup) of the main process and of each of
  `--workers` forked DataLoader workers after 0 and after `--calls` label reads each (`mode=labels`:
  what `__getitem__` reads of the labels, no image decoding, to isolate label memory), and the same
  with the real `__getitem__` (mosaic, masks) for `--real-calls` items per worker (`mode=real`);
- val: two validation epochs over a `--val-images` split (val2017's size) through the trainer's
  `Validator`, with a stand-in network of no forward cost: each epoch's seconds, the evaluator's share,
  and the loader alone (the rest is NMS and mask pasting).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
SIZES = [(w, h) for w in (640, 480, 500, 427) for h in (480, 640, 375, 333)]


def build_data(work: Path, num_images: int) -> Path:
    """The synthetic train2017-shaped dataset (reused when present); returns its annotation file."""
    import cv2
    import numpy as np
    from _coco_synth import make_gt

    ann = work / f"instances_{num_images}.json"
    images = work / "images"
    if not images.exists():
        images.mkdir(parents=True)
        rng = np.random.default_rng(0)
        for w, h in SIZES:
            cv2.imwrite(str(images / f"{w}x{h}.jpg"), rng.integers(0, 255, (h, w, 3), np.uint8))
    if not ann.exists():
        gt = make_gt(num_images=num_images, seed=0)
        for im in gt["images"]:
            im["file_name"] = f"{im['width']}x{im['height']}.jpg"
        tmp = ann.with_suffix(".tmp")
        tmp.write_text(json.dumps(gt))
        tmp.replace(ann)
    labels = work / "labels"
    if not labels.exists():
        tmp = work / "labels.tmp"
        tmp.mkdir(exist_ok=True)
        for i in range(num_images):
            (tmp / f"{i:012d}.txt").write_text("0 0.1 0.1 0.2 0.1 0.2 0.2\n")
        tmp.rename(labels)
    return ann


def smaps(pid: int | str = "self") -> dict[str, float]:
    """RSS, PSS and USS (private clean + dirty) of a process, in MiB."""
    fields: dict[str, int] = {}
    with open(f"/proc/{pid}/smaps_rollup") as fh:
        for line in fh:
            parts = line.split()
            if len(parts) == 3 and parts[2] == "kB":
                fields[parts[0].rstrip(":")] = int(parts[1])
    return {"rss": fields["Rss"] / 1024, "pss": fields["Pss"] / 1024,
            "uss": (fields["Private_Clean"] + fields["Private_Dirty"]) / 1024}


def _seconds(fn) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def parse_phase(ann: Path, work: Path) -> dict:
    """Parse, cache write and read, fingerprint; run in its own process (the JSON dicts are large)."""
    from cocoseg.data.labels import fingerprint, load_cache, parse_coco, save_cache
    from cocoseg.io import CocoDataset

    t_json, coco = _seconds(lambda: CocoDataset.load(ann))
    t_parse, labels = _seconds(lambda: parse_coco(coco, work / "images"))
    cache = work / "labels.cache"
    t_write, _ = _seconds(lambda: save_cache(cache, labels))
    t_read, again = _seconds(lambda: load_cache(cache))
    assert len(again) == len(labels)
    t_fp_cold, _ = _seconds(lambda: fingerprint([work / "labels"]))
    t_fp, _ = _seconds(lambda: fingerprint([work / "labels"]))
    return {"images": len(coco.images), "annotations": len(coco.annotations), "json_load_s": t_json,
            "parse_s": t_parse, "cache_write_s": t_write, "cache_read_s": t_read,
            "cache_mib": cache.stat().st_size / 2**20, "fingerprint_118k_files_s": t_fp,
            "fingerprint_first_s": t_fp_cold}


def warm_start(work: Path) -> dict:
    """A fresh process's time from nothing-loaded to labels-in-memory (imports excluded)."""
    code = ("import json, time, sys; from pathlib import Path\n"
            "from cocoseg.data.labels import fingerprint, load_cache\n"
            "w = Path(sys.argv[1]); t0 = time.perf_counter(); fingerprint([w / 'labels'])\n"
            "labels = load_cache(w / 'labels.cache')\n"
            "print(json.dumps({'warm_start_s': time.perf_counter() - t0, 'n': len(labels)}))\n")
    out = subprocess.run([sys.executable, "-c", code, str(work)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


class _Probe:
    """Wraps the dataset: reads one item's labels (or the whole item) and reports its process's memory."""

    def __init__(self, dataset, calls: int, real: bool) -> None:
        self.dataset, self.calls, self.real, self.count = dataset, calls, real, 0

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int):
        report = {"pid": os.getpid(), "at0": smaps()} if self.count == 0 else {}
        if self.real:
            self.dataset[index]
        else:
            touch_labels(self.dataset, index)
        self.count += 1
        if self.count == self.calls:
            report.update(pid=os.getpid(), after=smaps())
        return report


def touch_labels(dataset, index: int) -> int:
    """What `SegmentationDataset.load` reads of an image's labels, without the image."""
    import numpy as np

    item = dataset.items[index]
    scale = np.array([0.5, 0.5], np.float32)
    polys = [[p * scale for p in inst] for inst in item.polygons]
    return len(item.labels.copy()) + len(item.crowd.copy()) + len(polys) + len(item.file)


def memory_phase(work: Path, workers: int, calls: int, real: bool) -> dict:
    """Main and worker memory before and after `calls` reads per worker (fresh process)."""
    import gc

    import torch

    from cocoseg.data import SegmentationDataset
    from cocoseg.data.labels import load_cache

    labels = load_cache(work / "labels.cache")
    dataset = SegmentationDataset(labels, 320, augment=True)
    gc.collect()
    main = smaps()
    probe = _Probe(dataset, calls, real)
    gen = torch.Generator().manual_seed(0)
    batch = 50 if calls % 50 == 0 else 1
    order = torch.randint(len(dataset), (workers * calls,), generator=gen).tolist()
    loader = torch.utils.data.DataLoader(probe, batch_size=batch, sampler=order, num_workers=workers,
                                         collate_fn=lambda items: [r for r in items if r])
    per_worker: dict[int, dict] = {}
    t0 = time.perf_counter()
    for reports in loader:
        for r in reports:
            per_worker.setdefault(r["pid"], {}).update({k: v for k, v in r.items() if k != "pid"})
    seconds = time.perf_counter() - t0
    rows = list(per_worker.values())
    growth = [r["after"]["rss"] - r["at0"]["rss"] for r in rows]
    uss_growth = [r["after"]["uss"] - r["at0"]["uss"] for r in rows]
    return {"mode": "real" if real else "labels", "calls_per_worker": calls, "seconds": seconds,
            "main": main, "workers": rows, "worker_rss_growth_mib": [min(growth), max(growth)],
            "worker_uss_growth_mib": [min(uss_growth), max(uss_growth)]}


class _FixedHead:
    """A stand-in network (no forward cost): per image, 300 anchors scored 0.001..0.9, none elsewhere,
    the same for every epoch, so that two validation epochs do exactly the same work."""

    def __init__(self, nc: int = 80) -> None:
        self.nc, self.training = nc, False

    def eval(self) -> None:
        self.training = False

    def train(self) -> None:
        self.training = True

    def __call__(self, imgs):
        import torch

        b, _, h, w = imgs.shape
        anchors = sum((h // s) * (w // s) for s in (8, 16, 32))
        gen = torch.Generator().manual_seed(int(imgs.shape[0]))
        pred = torch.zeros(b, 4 + self.nc + 32, anchors)
        pred[:, 0] = torch.rand(b, anchors, generator=gen) * w
        pred[:, 1] = torch.rand(b, anchors, generator=gen) * h
        pred[:, 2:4] = 8 + torch.rand(b, 2, anchors, generator=gen) * (w / 3)
        top = torch.randperm(anchors, generator=gen)[:300]
        pred[:, 4 + top % self.nc, top] = 0.001 + 0.9 * torch.rand(300, generator=gen)
        pred[:, 4 + self.nc:] = torch.randn(b, 32, anchors, generator=gen)
        coarse = torch.randn(b, 32, max(h // 32, 1), max(w // 32, 1), generator=gen)  # smooth, like real protos
        return pred, torch.nn.functional.interpolate(coarse, size=(h // 4, w // 4), mode="bilinear")


def val_phase(work: Path, num_images: int, imgsz: int) -> dict:
    """Two validation epochs over a val2017-sized split with the validator of the trainer: the second
    costs what the first does (the GT is indexed once), and how it splits into loader, evaluator and
    the rest (NMS, mask pasting)."""
    import torch
    from _coco_synth import make_gt

    from cocoseg.data import SegmentationDataset
    from cocoseg.data.labels import parse_coco
    from cocoseg.engine.validator import Validator
    from cocoseg.eval.evaluator import Evaluator
    from cocoseg.io import CocoDataset

    gt = make_gt(num_images=num_images, seed=5)
    for im in gt["images"]:
        im["file_name"] = f"{im['width']}x{im['height']}.jpg"
    coco = CocoDataset.from_dict(json.loads(json.dumps(gt)))  # numpy scalars -> JSON numbers, as from a file
    t0 = time.perf_counter()
    validator = Validator(coco, SegmentationDataset(parse_coco(coco, work / "images"), imgsz, with_masks=False),
                          batch=32, workers=2)
    setup = time.perf_counter() - t0
    spent = {"evaluator_s": 0.0}
    for name in ("add", "compute", "state", "update_from", "reset"):
        original = getattr(Evaluator, name)

        def timed(self, *a, _f=original, **k):
            t = time.perf_counter()
            try:
                return _f(self, *a, **k)
            finally:
                spent["evaluator_s"] += time.perf_counter() - t
        setattr(Evaluator, name, timed)
    loader = time.perf_counter()
    for _ in validator.loader():
        pass
    loader = time.perf_counter() - loader
    epochs = []
    for _ in range(2):
        spent["evaluator_s"] = 0.0
        t = time.perf_counter()
        metrics, _ = validator.run(_FixedHead(), torch.device("cpu"))
        epochs.append({"seconds": time.perf_counter() - t, "evaluator_s": spent["evaluator_s"],
                       "mask_map": metrics.mask_map})
    return {"val_images": num_images, "imgsz": imgsz, "validator_setup_s": setup, "loader_only_s": loader,
            "epochs": epochs}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=118287)
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--calls", type=int, default=20000)
    ap.add_argument("--real-calls", type=int, default=300, help="items per worker with the real __getitem__ (0: skip)")
    ap.add_argument("--work", type=Path, default=Path("/tmp/cocoseg_scale"))
    ap.add_argument("--val-images", type=int, default=5000, help="val split of the validation-cost phase (0: skip)")
    ap.add_argument("--child", choices=["parse", "memory", "real", "val"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    work = args.work / f"n{args.images}"
    if args.child:
        if args.child == "parse":
            out = parse_phase(work / f"instances_{args.images}.json", work)
        elif args.child == "val":
            out = val_phase(work, args.val_images, 320)
        else:
            out = memory_phase(work, args.workers, args.real_calls if args.child == "real" else args.calls,
                               args.child == "real")
        print(json.dumps(out))
        return
    work.mkdir(parents=True, exist_ok=True)
    t_build, _ = _seconds(lambda: build_data(work, args.images))
    report: dict = {"build_data_s": t_build}
    base = [sys.executable, __file__, "--images", str(args.images), "--work", str(args.work),
            "--workers", str(args.workers), "--calls", str(args.calls), "--real-calls", str(args.real_calls)]
    base += ["--val-images", str(args.val_images)]
    children = ["parse", "memory"] + (["real"] if args.real_calls else []) + (["val"] if args.val_images else [])
    for child in children:
        out = subprocess.run([*base, "--child", child], capture_output=True, text=True)
        if out.returncode:
            report[child] = {"error": out.stderr.strip().splitlines()[-1:]}
            continue
        report[child] = json.loads(out.stdout.strip().splitlines()[-1])
        if child == "parse":
            report["warm"] = warm_start(work)
    mem = report.get("memory", {})
    if "main" in mem and "parse" in report:
        report["label_store_mib"] = report["parse"]["cache_mib"]
        report["worker_rss_growth_fraction_of_store"] = mem["worker_rss_growth_mib"][1] / report["parse"]["cache_mib"]
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
