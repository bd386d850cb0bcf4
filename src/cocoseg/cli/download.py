"""`cocoseg download coco-seg`: fetch a dataset's archives with resume, checks and unpacking."""
from __future__ import annotations

import argparse
import os

from cocoseg.cli.args import add_bool

HELP = "download a dataset named by a dataset YAML (coco-seg, or a path) with resume and checksum checks"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `cocoseg download`."""
    parser.add_argument("data", help="dataset YAML: a shipped name (coco-seg, synth-seg) or a path")
    parser.add_argument("--splits", default=None,
                        help="comma-separated splits to fetch (default: all but test), e.g. train,val,test")
    parser.add_argument("--dir", default=None, help="datasets folder (default: $COCOSEG_DATASETS or ./datasets)")
    add_bool(parser, "keep_archives", False, "keep the downloaded archives after unpacking")


def run(args: argparse.Namespace) -> int:
    """Resolve the YAML, fetch what is missing, say where the data is."""
    from tqdm import tqdm

    from cocoseg.datasets.dataset_yaml import DATASETS_ENV, load_data_yaml
    from cocoseg.datasets.download import describe_size, download_dataset, ensure_dataset

    if args.dir:
        os.environ[DATASETS_ENV] = os.path.abspath(args.dir)
    cfg = load_data_yaml(args.data)
    if cfg.synth is not None:
        ensure_dataset(cfg)
        print(f"{cfg.root}: synthetic dataset ready")
        return 0
    splits = [s.strip() for s in args.splits.split(",") if s.strip()] if args.splits else None
    bar: list = [None]

    def on_item(item, k, n):
        if bar[0] is not None:
            bar[0].close()
        print(f"[{k + 1}/{n}] {item.url} ({describe_size(item.size)})", flush=True)
        bar[0] = tqdm(total=item.size, unit="B", unit_scale=True, unit_divisor=1024, dynamic_ncols=True)

    def on_bytes(done, total):
        if bar[0] is not None:
            bar[0].total = total
            bar[0].update(done - bar[0].n)

    fetched = download_dataset(cfg, splits, args.keep_archives, on_item=on_item, on_bytes=on_bytes)
    if bar[0] is not None:
        bar[0].close()
    print(f"{cfg.root}: {len(fetched)} item(s) fetched" if fetched else f"{cfg.root}: already complete")
    missing = cfg.missing()
    if missing:
        print("not present (not requested or not in the archives): " + ", ".join(str(p) for p in missing[:5]))
    return 0
