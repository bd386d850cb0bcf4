"""`cocoseg view` at train2017 scale: start-up to the first grid page, filter/sort latency, thumbnails, RSS.

    python benchmarks/view_bench.py [--scale 1.0] [--workdir /tmp/cocoseg-view-bench] [--rounds 3]

Builds once (cached under --workdir) a synthetic set of train2017's shape: 118,287 images, ~860k
annotations (polygons, ~1% crowd regions as RLE; benchmarks/_coco_synth.py), ~1M box detections
(jittered GT copies, wrong classes, background boxes), and 200 JPEG images for the thumbnails.
Then, in this process: load GT and results as `cocoseg view` does, evaluate (bbox, the
evaluator's public API), build the viewer's arrays, start the server and time over HTTP:
- first page: from the evaluator finishing to the first grid page received (the goal: < 2 s);
- filter / sort: p50 and p95 of a mix of queries (category, TP/FP/FN at several IoUs, score
  ranges, slices, image size, sorts by AP/F1/FP/audit), each query new (no cached answer);
  error-type and occlusion filters after the background analyses (also timed) are done;
- thumbnails: cold (decode, draw, encode, write the cache) and cached, p50 / p95;
- RSS: after loading the inputs (the in-memory dataset), at the end, and the peak (VmHWM).
"""
from __future__ import annotations

import argparse
import http.client
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _coco_synth import make_gt, make_results  # noqa: E402

TRAIN2017 = {"images": 118_287, "anns_per_image": 7.27, "per_image": 9}
THUMB_FILES = 200
SWITCH_INTERVAL = 0.0005  # cocoseg.cli.view's: the server thread gets the GIL back from the analyses sooner


def _rss_mb(field: str = "VmRSS") -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def build_inputs(workdir: Path, scale: float) -> tuple[Path, Path, Path]:
    """GT JSON, results JSON and an images folder (cached per scale)."""
    n = max(100, int(TRAIN2017["images"] * scale))
    folder = workdir / f"train2017_shape_{n}"
    gt_path, res_path, images = folder / "gt.json", folder / "results_bbox.json", folder / "images"
    if not gt_path.exists() or not res_path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        t = time.perf_counter()
        gt = make_gt(num_images=n, anns_per_image=TRAIN2017["anns_per_image"], seed=12)
        results = make_results(gt, "bbox", TRAIN2017["per_image"], seed=13)
        res_path.with_suffix(".tmp").write_text(json.dumps(results))
        res_path.with_suffix(".tmp").replace(res_path)
        gt_path.with_suffix(".tmp").write_text(json.dumps(gt))
        gt_path.with_suffix(".tmp").replace(gt_path)
        print(f"built the set in {time.perf_counter() - t:.0f} s", flush=True)
    if not images.exists():
        import cv2

        gt = json.loads(gt_path.read_text())
        tmp = folder / "images.tmp"
        tmp.mkdir(exist_ok=True)
        rng = np.random.default_rng(0)
        for im in gt["images"][:THUMB_FILES]:
            small = rng.integers(0, 255, (im["height"] // 16 + 1, im["width"] // 16 + 1, 3), dtype=np.uint8)
            pixels = cv2.resize(small, (im["width"], im["height"]), interpolation=cv2.INTER_CUBIC)
            cv2.imwrite(str(tmp / im["file_name"]), pixels, [cv2.IMWRITE_JPEG_QUALITY, 90])
        tmp.replace(images)
    return gt_path, res_path, images


class Client:
    """One keep-alive HTTP connection to the viewer; times each GET."""

    def __init__(self, port: int, token: str) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        self.token = token

    def get(self, path: str) -> tuple[float, int, bytes]:
        sep = "&" if "?" in path else "?"
        t = time.perf_counter()
        self.conn.request("GET", f"{path}{sep}token={self.token}")
        res = self.conn.getresponse()
        body = res.read()
        return time.perf_counter() - t, res.status, body


def queries(cats: list[int], rounds: int, rng: np.random.Generator) -> list[str]:
    """A mix of grid queries, each distinct (so the server's last-query cache never answers)."""
    out = []
    ious = ["0.5", "0.55", "0.6", "0.65", "0.7", "0.75", "0.8", "0.85", "0.9", "0.95"]
    sorts = ["ap", "f1", "fp", "fn", "audit", "objects", "file"]
    for r in range(rounds):
        for k in range(10):
            cat = int(rng.choice(cats))
            iou = ious[(k + r) % len(ious)]
            out += [f"/api/images?cat={cat}", f"/api/images?cat={cat}&outcome=fp&iou={iou}",
                    f"/api/images?outcome=fn&iou={iou}&cat={cat}", f"/api/images?score_min=0.{k + 1}&score_max=0.9{r}",
                    f"/api/images?slice={['small', 'large', 'crowded', 'crowd'][k % 4]}&cat={cat}",
                    f"/api/images?side_min={300 + k}&sort={sorts[k % len(sorts)]}&iou={iou}",
                    f"/api/images?sort={sorts[(k + r) % len(sorts)]}&order={'asc' if k % 2 else 'desc'}&outcome=tp&iou={iou}"]
    return out


def _pct(values: list[float]) -> str:
    ms = np.asarray(values) * 1000
    return f"p50 {np.percentile(ms, 50):.1f} ms, p95 {np.percentile(ms, 95):.1f} ms, max {ms.max():.1f} ms (n={len(ms)})"


def _query_times(client: Client, paths: list[str]) -> list[float]:
    out = []
    for q in paths:
        dt, status, body = client.get(q)
        assert status == 200, (q, body[:200])
        out.append(dt)
    return out


def measure_requests(client: Client, session: object, cats: list[int], thumb_ids: list[int], rounds: int,
                     rng: np.random.Generator) -> None:
    """Filter/sort latency, then (analyses done) error-type filters, then thumbnails cold and cached."""
    times = _query_times(client, queries(cats, rounds, rng))
    print(f"filter/sort while the analyses run ({len(times)} distinct queries, 60 rows each): {_pct(times)}", flush=True)
    t3 = time.perf_counter()
    session.analyses.done.wait()
    print(f"background analyses (occlusion, PR/F1, TIDE labels, confusion): {time.perf_counter() - t3:.1f} s after "
          f"the queries; seconds each: {session.analyses.seconds}", flush=True)
    times = _query_times(client, queries(cats, rounds, rng))
    print(f"filter/sort, analyses done ({len(times)} distinct queries): {_pct(times)}", flush=True)
    more = []
    for k, err in enumerate(["cls", "loc", "both", "dupe", "bkg", "miss"] * rounds):
        dt, status, body = client.get(f"/api/images?error={err}&cat={cats[k % len(cats)]}&iou=0.5&slice=occluded")
        assert status == 200, body[:200]
        more.append(dt)
    print(f"error-type + occlusion filters: {_pct(more)}", flush=True)

    cold = [client.get(f"/api/thumb/{i}?iou=0.5")[0] for i in thumb_ids]
    warm = [client.get(f"/api/thumb/{i}?iou=0.5")[0] for i in thumb_ids]
    print(f"thumbnails cold: {_pct(cold)}\nthumbnails cached: {_pct(warm)}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0, help="fraction of train2017's image count")
    ap.add_argument("--workdir", default="/tmp/cocoseg-view-bench")
    ap.add_argument("--rounds", type=int, default=3, help="rounds of the query mix")
    args = ap.parse_args()
    sys.setswitchinterval(SWITCH_INTERVAL)  # as `cocoseg view` does
    gt_path, res_path, images = build_inputs(Path(args.workdir), args.scale)

    from cocoseg.eval import evaluate
    from cocoseg.eval.analysis._prepare import load_inputs
    from cocoseg.view.server import ViewServer
    from cocoseg.view.session import ViewSession

    base = _rss_mb()
    t0 = time.perf_counter()
    gt, dets = load_inputs(gt_path, res_path, "bbox")
    t_load = time.perf_counter() - t0
    loaded = _rss_mb()
    print(f"inputs: {len(gt.images)} images, {len(gt.annotations)} annotations, {len(dets)} detections; "
          f"loaded in {t_load:.1f} s; RSS {base:.0f} MB before, {loaded:.0f} MB after", flush=True)
    t1 = time.perf_counter()
    result = evaluate(gt, dets, "bbox")
    t_eval = time.perf_counter() - t1
    t2 = time.perf_counter()
    cache = Path(args.workdir) / "thumbs"
    if cache.exists():
        import shutil

        shutil.rmtree(cache)
    session = ViewSession(gt, images, detections=dets, result=result, cache_dir=cache, slices=False, tide=False)
    rng = np.random.default_rng(0)
    session.tables.audit_score = rng.random(session.tables.num_images)  # an audit queue to sort by
    server = ViewServer(session)
    server.start_background()
    client = Client(server.port, server.token)
    t_first, status, body = client.get("/api/images?offset=0&limit=60")
    t_ready = time.perf_counter() - t2
    assert status == 200, body[:200]
    print(f"evaluate (bbox): {t_eval:.1f} s; evaluator done -> first grid page: {t_ready:.2f} s "
          f"(arrays {t_ready - t_first:.2f} s + request {t_first * 1000:.0f} ms)", flush=True)
    session.analyses.start()
    while session.analyses.status.get("image_ap") in (None, "pending"):
        time.sleep(0.01)
    print(f"per-image AP (background, sorts by AP wait for it): {time.perf_counter() - t2:.2f} s after the "
          f"evaluator", flush=True)

    measure_requests(client, session, [c["id"] for c in gt.categories], [im["id"] for im in gt.images[:THUMB_FILES]],
                     args.rounds, rng)
    end, peak = _rss_mb(), _rss_mb("VmHWM")
    print(f"RSS: {loaded:.0f} MB with the inputs loaded, {end:.0f} MB at the end ({end / loaded:.2f}x), "
          f"peak {peak:.0f} MB ({peak / loaded:.2f}x; the JSON parse's transient included)", flush=True)
    server.shutdown()


if __name__ == "__main__":
    main()
