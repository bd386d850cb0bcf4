"""`cocoseg prelabels DATASET.json --to labelstudio|cvat -o OUT [--ranking ranking.json]`: pre-labels for annotators."""
from __future__ import annotations

import argparse

HELP = "export a pre-label dataset as Label Studio tasks or CVAT's COCO 1.0 import, in ranking order"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `cocoseg prelabels`."""
    parser.add_argument("dataset", help="COCO dataset of pre-labels (e.g. from predict save_coco=... as_dataset=True)")
    parser.add_argument("--to", required=True, choices=("labelstudio", "cvat"), help="the annotation tool")
    parser.add_argument("-o", "--out", required=True, help="output: tasks .json (Label Studio); .zip or .json (CVAT)")
    parser.add_argument("--ranking", default=None, help="order images by this ranking (cocoseg rank JSON/CSV, or ids)")
    parser.add_argument("--image_prefix", default="", help="Label Studio: prepended to file_name in data.image, e.g. "
                                                          "/data/local-files/?d=images/ (default: none)")
    parser.add_argument("--from_name", default="label", help="Label Studio: the PolygonLabels name (default: label)")
    parser.add_argument("--to_name", default="image", help="Label Studio: the Image name (default: image)")


def run(args: argparse.Namespace) -> int:
    """Load, order, write."""
    from cocoseg.curate import exports
    from cocoseg.io import CocoDataset

    ds = CocoDataset.load(args.dataset)
    ranking = exports.read_ranking(args.ranking) if args.ranking else None
    if args.to == "labelstudio":
        tasks = exports.label_studio_tasks(ds, ranking, image_prefix=args.image_prefix, from_name=args.from_name,
                                           to_name=args.to_name)
        path = exports.write_label_studio(args.out, tasks)
        print(f"{len(tasks)} Label Studio tasks, {sum(len(t['predictions'][0]['result']) for t in tasks)} polygons "
              f"-> {path}")
    else:
        data = exports.cvat_coco(ds, ranking)
        path = exports.write_cvat(args.out, data)
        print(f"CVAT COCO 1.0: {len(data['images'])} images, {len(data['annotations'])} annotations -> {path}")
    return 0
