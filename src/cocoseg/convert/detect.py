"""What a conversion input is: COCO JSON, a dataset YAML, a YOLO folder, a COCO folder, or Pascal VOC."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from cocoseg.convert.yolo_sidecar import read_sidecar, sidecar_path
from cocoseg.datasets.dataset_yaml import DataConfig, SplitSource, load_data_yaml
from cocoseg.datasets.imagesize import IMAGE_SUFFIXES
from cocoseg.errors import DataError

_FORMAT_NAMES = {"coco": "COCO JSON", "yolo": "YOLO labels", "voc": "Pascal VOC"}


@dataclass(frozen=True)
class InputSpec:
    """A detected input: its dataset description and a human name for the format."""

    cfg: DataConfig
    format: str
    notes: tuple[str, ...] = ()


def open_input(path: str | Path, images: str | Path | None = None) -> InputSpec:
    """Detect the format of `path` and describe it as a DataConfig (splits, names, root)."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    if path.is_file() and path.suffix.lower() in (".json", ".gz"):
        return _coco_files([path], images)
    if path.is_file() and path.suffix.lower() in (".yaml", ".yml"):
        return _from_yaml(path)
    if path.is_file():
        raise DataError(f"{path}: expected a COCO JSON, a dataset YAML, or a dataset folder")
    voc = _voc_root(path)
    if voc is not None:
        from cocoseg.convert.voc_read import open_voc

        return InputSpec(open_voc(voc), "Pascal VOC")
    yamls = [path / "data.yaml"] if (path / "data.yaml").exists() else sorted(path.glob("*.y*ml"))
    if len(yamls) == 1:
        return _from_yaml(yamls[0])
    jsons = sorted((path / "annotations").glob("instances_*.json")) if (path / "annotations").is_dir() else []
    if jsons:
        return _coco_files(jsons, images)
    if (path / "images").is_dir() and (path / "labels").is_dir():
        return _yolo_root(path)
    raise DataError(f"{path}: not a dataset folder this converter knows: expected a dataset YAML, "
                    "annotations/instances_*.json, images/ + labels/ (YOLO), or Annotations/ + JPEGImages/ (VOC)")


def _from_yaml(path: Path) -> InputSpec:
    cfg = load_data_yaml(path)
    kinds = sorted({_FORMAT_NAMES[s.format] for s in cfg.splits.values()})
    return InputSpec(cfg, f"dataset YAML {path.name} ({', '.join(kinds)})")


def split_name_of(json_path: Path) -> str:
    """instances_val2017.json -> val2017."""
    stem = json_path.name.split(".")[0]
    return re.sub(r"^(instances|person_keypoints)_", "", stem) or stem


def _coco_files(jsons: list[Path], images: str | Path | None) -> InputSpec:
    splits = {}
    for js in jsons:
        name = split_name_of(js)
        folder = Path(images) if images else _guess_images(js, name)
        if folder is None:
            raise DataError(f"{js}: cannot find its images folder (looked for {name}/ and images/{name}/ "
                            "beside and above it); pass --images DIR")
        if not folder.is_dir():
            raise DataError(f"{folder}: images folder does not exist")
        splits[name] = SplitSource(name, (folder.resolve(),), js.resolve(), "coco")
    root = jsons[0].resolve().parent
    return InputSpec(DataConfig({}, root, splits), "COCO JSON")


def _guess_images(js: Path, split: str) -> Path | None:
    here, up = js.resolve().parent, js.resolve().parent.parent
    for cand in (up / split, up / "images" / split, here / split, here / "images" / split, here / "images", up / "images"):
        if cand.is_dir() and any(p.suffix.lower() in IMAGE_SUFFIXES for p in cand.iterdir()):
            return cand
    return None


def _voc_root(path: Path) -> Path | None:
    for cand in (path, *sorted(path.glob("VOC*")), *sorted(path.glob("VOCdevkit/VOC*"))):
        if (cand / "Annotations").is_dir() and (cand / "JPEGImages").is_dir():
            return cand
    return None


def _yolo_root(path: Path) -> InputSpec:
    images = path / "images"
    subs = sorted(p for p in images.iterdir() if p.is_dir())
    sources = {p.name: SplitSource(p.name, (p.resolve(),)) for p in subs} or {"train": SplitSource("train", (images,))}
    names, note = _yolo_names(path, [Path("labels") / s for s in sources])
    cfg = DataConfig(names, path.resolve(), sources)
    return InputSpec(cfg, "YOLO dataset folder (no YAML)", (note,) if note else ())


def _yolo_names(root: Path, label_dirs: list[Path]) -> tuple[dict[int, str], str]:
    """Class names from a sidecar, else classes.txt / obj.names, else class0..N from the labels."""
    for rel in label_dirs:
        side = read_sidecar(sidecar_path(root / rel))
        if side and side.get("categories"):
            cats = sorted(side["categories"], key=lambda c: c["id"])
            return {i: c["name"] for i, c in enumerate(cats)}, ""
    for name in ("classes.txt", "obj.names", "labels/classes.txt"):
        if (root / name).is_file():
            lines = [s.strip() for s in (root / name).read_text(encoding="utf-8").splitlines() if s.strip()]
            return dict(enumerate(lines)), ""
    top = -1
    for rel in label_dirs:
        for txt in (root / rel).rglob("*.txt"):
            for line in txt.read_text(encoding="utf-8").splitlines():
                tok = line.split(maxsplit=1)
                if tok and tok[0].isdigit():
                    top = max(top, int(tok[0]))
    return {i: f"class{i}" for i in range(top + 1)}, "no class names found (YAML, classes.txt): named class0, class1, ..."
