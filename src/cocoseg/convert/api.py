"""`convert(input, output, to=...)`: any supported input to COCO, YOLO or VOC, with a report."""
from __future__ import annotations

from pathlib import Path

from cocoseg.convert.coco_write import write_coco
from cocoseg.convert.detect import InputSpec, open_input, split_name_of
from cocoseg.convert.output import check_file_names
from cocoseg.convert.output_folder import claim_output, input_paths
from cocoseg.convert.report import ConvertReport, Progress, no_progress
from cocoseg.convert.splits import load_split
from cocoseg.convert.voc_write import write_voc
from cocoseg.convert.yolo_write import write_yolo
from cocoseg.errors import CocosegError, DataError
from cocoseg.io import CocoDataset
from cocoseg.io.paths import refuse_input_overlap

TARGETS = ("coco", "yolo", "voc")


def convert(input: str | Path | InputSpec, output: str | Path, to: str, images: str | Path | None = None,
            task: str = "segment", split_parts: bool = False, image_mode: str = "link", strict: bool = True,
            splits: list[str] | None = None, crowd: str = "auto", progress: Progress = no_progress,
            exist_ok: bool = False, overwrite: bool = False) -> ConvertReport:
    """Convert a dataset (COCO JSON, dataset YAML, YOLO/COCO/VOC folder) to `to` under `output`.

    image_mode: 'link' (symlinks), 'copy', or 'none' (COCO output then points at the original
    images). crowd: how YOLO output treats crowd annotations (see `write_yolo`). The output folder is
    locked for the run, may not be or contain an input, and must be empty unless `exist_ok` (write
    into it) or `overwrite` (then remove what this run did not write): see `convert.output_folder`.
    Returns what was written, changed and dropped, per reason.
    """
    if to not in TARGETS:
        raise CocosegError(f"--to must be one of {', '.join(TARGETS)}, got {to!r}")
    spec = input if isinstance(input, InputSpec) else open_input(input, images)
    source = Path(spec.cfg.yaml_file or spec.cfg.root) if isinstance(input, InputSpec) else Path(input)
    report = ConvertReport(input_format=spec.format)
    for text in spec.notes:
        report.note(text)
    names = splits or list(spec.cfg.splits)
    unknown = [s for s in names if s not in spec.cfg.splits]
    if unknown:
        raise CocosegError(f"no split {unknown} in {source} (has: {', '.join(spec.cfg.splits)})")
    out = Path(output)
    inputs = input_paths(spec.cfg, None if isinstance(input, InputSpec) else Path(input))
    refuse_input_overlap(out, inputs)
    loaded = _load_unique(spec.cfg, names, strict, report, progress)
    if image_mode != "none":
        check_file_names(loaded)  # unsafe names first: they are the reason, not the missing images
        _check_images_found(loaded)
    with claim_output(out, inputs, exist_ok, overwrite) as claim:
        if to == "yolo":
            write_yolo(loaded, out, task, split_parts, image_mode, progress, report, crowd)
        elif to == "voc":
            write_voc(loaded, out, image_mode, progress, report)
        else:
            write_coco(loaded, out, image_mode, progress, report)
    if claim.removed:
        report.note(f"overwrite: removed {claim.removed} files of an earlier output that this run did not write")
    return report


def _load_unique(cfg, names: list[str], strict: bool, report: ConvertReport,
                 progress: Progress) -> dict[str, tuple[CocoDataset, Path]]:
    """Load each split once; YAMLs such as coco128-seg point train and val at the same images."""
    out: dict[str, tuple[CocoDataset, Path]] = {}
    seen: dict[tuple, str] = {}
    for name in names:
        src = cfg.splits[name]
        key = (src.images, src.annotations, src.format)
        if key in seen:
            report.note(f"split '{name}' is the same data as '{seen[key]}': written once")
            continue
        seen[key] = name
        out[name] = load_split(cfg, name, strict=strict, report=report, progress=progress)
    return _folder_names(cfg, out)


def _check_images_found(loaded: dict[str, tuple[CocoDataset, Path]]) -> None:
    """Refuse a split none of whose images exists (a wrong --images folder), before anything is written."""
    for name, (ds, folder) in loaded.items():
        if ds.images and not any((Path(folder) / im["file_name"]).is_file() for im in ds.images):
            first = Path(folder) / ds.images[0]["file_name"]
            raise DataError(f"split '{name}': none of its {len(ds.images)} images is under {folder} "
                            f"(first expected: {first}); give the image folder with --images, or "
                            f"link=False to write annotations only")


def _folder_names(cfg, loaded: dict[str, tuple]) -> dict[str, tuple]:
    """Name output splits after their source when that keeps them distinct, so a round trip keeps the
    original split names: a COCO split after its annotation file (instances_val2017.json -> val2017),
    others after their image folder or list (images/train2017 or train2017.txt -> train2017)."""
    names = {}
    for key in loaded:
        src = cfg.splits[key]
        if src.format == "coco" and src.annotations is not None:
            names[key] = split_name_of(src.annotations)
        else:
            names[key] = src.images[0].stem if len(src.images) == 1 and src.format != "voc" else key
    if len(set(names.values())) != len(names) or any(not n or n in ("images", ".") for n in names.values()):
        return loaded
    return {names[k]: v for k, v in loaded.items()}
