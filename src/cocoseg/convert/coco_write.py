"""COCO JSON output: `annotations/instances_<split>.json`, the images placed beside them, a data.yaml."""
from __future__ import annotations

from pathlib import Path

from cocoseg.convert.output import place_image, start_writing, yaml_split_keys
from cocoseg.convert.report import ConvertReport, Progress, no_progress
from cocoseg.datasets.dataset_yaml import write_data_yaml
from cocoseg.io import CategoryMap, CocoDataset
from cocoseg.io.paths import inside


def write_coco(splits: dict[str, tuple[CocoDataset, Path | None]], out: str | Path, image_mode: str = "link",
               progress: Progress = no_progress, report: ConvertReport | None = None) -> ConvertReport:
    """Write splits as `annotations/instances_<split>.json` (+ `images/<split>/`) and a data.yaml in mapping form."""
    out = Path(out)
    report, categories = start_writing(splits, report, "COCO JSON")
    entries = {}
    for name, (ds, root) in splits.items():
        folder = root
        if image_mode != "none" and root is not None:
            folder = out / "images" / name
            for image in progress(ds.images, len(ds.images), f"images {name}"):
                record = f"image id {image['id']}"
                place_image(inside(root, image["file_name"], record, False), inside(out, f"images/{name}/{image['file_name']}", record),
                            image_mode, report)
        ann_path = out / "annotations" / f"instances_{name}.json"
        ds.save(ann_path)
        report.outputs.append(str(ann_path))
        report.written["images"] += len(ds.images)
        report.written["annotations"] += len(ds.annotations)
        report.written["crowd annotations"] += sum(1 for a in ds.annotations if a.get("iscrowd"))
        entries[name] = {"images": _rel(folder or out, out), "annotations": f"annotations/instances_{name}.json"}
    keys, notes = yaml_split_keys(list(splits))
    for text in notes:
        report.note(text)
    cmap = CategoryMap.from_categories(categories)
    yaml_path = write_data_yaml(out / "data.yaml", out, {k: entries[v] for k, v in keys.items()}, cmap.label_names,
                                cmap.category_ids, header="# written by cocoseg convert (COCO JSON splits)\n")
    report.outputs.append(str(yaml_path))
    return report


def _rel(folder: Path, base: Path) -> str:
    try:
        return folder.resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        return str(folder.resolve())
