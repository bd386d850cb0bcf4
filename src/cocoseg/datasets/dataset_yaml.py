"""Dataset YAMLs: Ultralytics' format as it is, plus cocoseg's COCO-JSON splits.

Keys: `path` (dataset root), `train` / `val` / `test` (each a folder of images, a .txt list of
images, or a list of either; or cocoseg's mapping `{images: DIR, annotations: FILE.json}` for a
COCO JSON split, or a list of such mappings merged into one split), `names` (list or {index: name}), optional `nc` (must equal the number of
names), optional `download`, and cocoseg's optional `category_ids` (the COCO id of each class
index, so a conversion back to COCO restores the ids) and `synth` (arguments of
`cocoseg.synth.generate` for a dataset generated on demand).

Where the root is (`path`):
  1. absent: the YAML's folder;
  2. absolute: as written;
  3. relative: the YAML's folder / path if it exists, else the datasets folder / path if it exists
     (the datasets folder is $COCOSEG_DATASETS, default ./datasets). A YAML shipped with cocoseg
     uses only the datasets folder.
If that root does not exist but the YAML's own folder holds the splits (an Ultralytics YAML
copied beside its data, e.g. `path: ../datasets/coco128-seg`), the YAML's folder is the root.
Otherwise the root is where it would be created: datasets folder / path (see `ensure_dataset`).
"""
from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from cocoseg.errors import DataError, Problem
from cocoseg.io import CategoryMap

DATASETS_ENV = "COCOSEG_DATASETS"
PACKAGED_DIR = Path(__file__).resolve().parents[1] / "cfg" / "datasets"
SPLIT_KEYS = ("train", "val", "test")


@dataclass(frozen=True)
class SplitSource:
    """Where one split's data lives: image folders/lists/files, and its annotations.

    format: 'yolo' (labels found the Ultralytics way), 'coco' (`annotations` is a COCO JSON) or
    'voc' (`annotations` is the Annotations folder, `images` the JPEGImages folder and an
    ImageSets list).
    """

    name: str
    images: tuple[Path, ...]
    annotations: Path | None = None
    format: str = "yolo"
    image_set: Path | None = None  # VOC: ImageSets/Main/<split>.txt
    parts: tuple[SplitSource, ...] = ()  # COCO: several {images, annotations} merged into one split


@dataclass(frozen=True)
class DataConfig:
    """A dataset description: class names, root folder, splits, and how to obtain the data."""

    names: dict[int, str]
    root: Path
    splits: dict[str, SplitSource]
    yaml_file: Path | None = None
    download: Any = None
    synth: dict | None = None
    category_ids: tuple[int, ...] | None = None
    packaged: bool = False
    raw: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def nc(self) -> int:
        """Number of classes."""
        return len(self.names)

    @property
    def category_map(self) -> CategoryMap:
        """Class index <-> COCO category id: `category_ids` when given, COCO's ids when the names are
        COCO's 80 classes, else index + 1."""
        names = tuple(self.names[i] for i in range(len(self.names)))
        if self.category_ids is not None:
            return CategoryMap(tuple(self.category_ids), names)
        coco_names, coco_ids = coco80()
        if names == coco_names:
            return CategoryMap(coco_ids, names)
        return CategoryMap.from_names(names, first_id=1)

    def missing(self) -> list[Path]:
        """The split sources (and annotation files) that do not exist on disk."""
        out = []
        for split in self.splits.values():
            out += [p for p in split.images if not p.exists()]
            for a in [split.annotations, *(part.annotations for part in split.parts)]:
                if a is not None and not a.exists():
                    out.append(a)
        return out


def datasets_dir() -> Path:
    """The folder for datasets referenced by relative paths: $COCOSEG_DATASETS or ./datasets."""
    return Path(os.environ.get(DATASETS_ENV) or "datasets").resolve()


def packaged_yamls() -> list[str]:
    """Names of the dataset YAMLs shipped with cocoseg."""
    return sorted(p.name for p in PACKAGED_DIR.glob("*.yaml"))


def resolve_yaml(source: str | os.PathLike[str]) -> tuple[Path, bool]:
    """(YAML file, shipped with cocoseg?) for a path, a folder holding one YAML, or a packaged name."""
    path = Path(source)
    if path.is_dir():
        found = [path / "data.yaml"] if (path / "data.yaml").exists() else sorted(path.glob("*.y*ml"))
        if len(found) != 1:
            raise DataError(f"{path}: expected one dataset YAML in the folder, found {len(found)}")
        return found[0], False
    if path.exists():
        return path, False
    if path.parent == Path("."):
        for name in (path.name, f"{path.name}.yaml"):
            if (PACKAGED_DIR / name).exists():
                return PACKAGED_DIR / name, True
    raise DataError(f"{source}: no such dataset YAML (shipped with cocoseg: {', '.join(packaged_yamls())})")


def load_data_yaml(source: str | os.PathLike[str] | dict) -> DataConfig:
    """Read and check a dataset YAML (a path, a folder, a packaged name such as 'coco-seg.yaml', or a dict)."""
    if isinstance(source, dict):
        return parse_data_dict(source, None, False)
    path, packaged = resolve_yaml(source)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise DataError(f"{path}: invalid YAML{where}: {getattr(exc, 'problem', None) or exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read: {exc}") from None
    return parse_data_dict(data, path, packaged)


def parse_data_dict(data: Any, yaml_file: Path | None, packaged: bool = False) -> DataConfig:
    """Check a parsed dataset YAML and resolve its paths; DataError lists every problem."""
    file = str(yaml_file) if yaml_file else "<dataset>"
    if not isinstance(data, dict):
        raise DataError(f"{file}: expected a mapping with path, train, val and names, got {type(data).__name__}")
    problems: list[Problem] = []
    names = _names(data, file, problems)
    category_ids = _category_ids(data.get("category_ids"), len(names), file, problems)
    synth = data.get("synth")
    if synth is not None and not isinstance(synth, dict):
        problems.append(Problem(file, "", "synth", "must be a mapping of cocoseg.synth.generate arguments"))
        synth = None
    if not any(data.get(k) for k in SPLIT_KEYS):
        problems.append(Problem(file, "", "train/val", "no split given: set at least 'train' and 'val'"))
    if problems:
        raise DataError(problems)
    yaml_dir = yaml_file.parent.resolve() if yaml_file else Path.cwd()
    root = _root(data.get("path"), yaml_dir, packaged, data)
    splits = {}
    for key in SPLIT_KEYS:
        value = data.get(key)
        if value:
            splits[key] = _split(key, value, root, file, problems)
    if not names and not problems:  # a COCO-JSON split YAML without names: the JSON's categories give them
        names, category_ids = _names_from_json(splits, file, problems)
    if problems:
        raise DataError(problems)
    return DataConfig(names, root, splits, yaml_file, data.get("download"), synth, category_ids, packaged, data)


def _coco_annotations(splits: dict[str, SplitSource]) -> list[Path]:
    """The COCO JSON files of the splits, smallest split first (val, test, train): reading one gives the names."""
    order = sorted(splits.values(), key=lambda s: {"val": 0, "test": 1}.get(s.name, 2))
    return [a for split in order for a in [split.annotations, *(p.annotations for p in split.parts)] if a is not None]


def _names_from_json(splits: dict[str, SplitSource], file: str,
                     problems: list[Problem]) -> tuple[dict[int, str], tuple[int, ...] | None]:
    """Class names (categories sorted by id, the label order) and their ids, from a split's COCO JSON."""
    from cocoseg.io import read_json

    files = _coco_annotations(splits)
    existing = [f for f in files if f.is_file()]
    if not existing:
        problems.append(Problem(file, "", "names", f"missing, and the COCO JSON that would give them "
                                                   f"({files[0]}) does not exist" if files else
                                                   "missing: give a list of class names or {index: name}"))
        return {}, None
    categories = read_json(existing[0]).get("categories") or []
    if not isinstance(categories, list) or not categories:
        problems.append(Problem(file, "", "names", f"missing, and {existing[0]} has no categories"))
        return {}, None
    cats = sorted(categories, key=lambda c: c["id"])
    return {i: str(c["name"]) for i, c in enumerate(cats)}, tuple(int(c["id"]) for c in cats)


MAX_CLASSES = 100_000  # far above any detection set (LVIS 1,203; ImageNet-21k 21,841): a bound, not a limit


def _names(data: dict, file: str, problems: list[Problem]) -> dict[int, str]:
    raw, nc = data.get("names"), data.get("nc")
    names: dict[int, str] = {}
    if nc is not None and (not isinstance(nc, int) or isinstance(nc, bool) or not 0 < nc <= MAX_CLASSES):
        problems.append(Problem(file, "", "nc", f"must be a class count from 1 to {MAX_CLASSES}, got {str(nc)[:40]}"))
        return {}
    if isinstance(raw, (list, dict)) and len(raw) > MAX_CLASSES:
        problems.append(Problem(file, "", "names", f"has {len(raw)} entries, more than {MAX_CLASSES}"))
        return {}
    values = raw if isinstance(raw, list) else list(raw.values()) if isinstance(raw, dict) else []
    if any(not isinstance(v, (str, int, float)) for v in values):  # a nested alias bomb would expand in str()
        problems.append(Problem(file, "", "names", "entries must be class names (strings)"))
        return {}
    if isinstance(raw, list):
        names = {i: str(n) for i, n in enumerate(raw)}
    elif isinstance(raw, dict):
        try:
            names = {int(k): str(v) for k, v in raw.items()}
        except (TypeError, ValueError):
            problems.append(Problem(file, "", "names", "keys must be class indices 0, 1, 2, ..."))
            return {}
        if sorted(names) != list(range(len(names))):
            problems.append(Problem(file, "", "names", f"indices must be 0..{len(names) - 1} without gaps, "
                                                       f"got {sorted(names)[:10]}"))
    elif raw is None and isinstance(data.get("nc"), int):
        names = {i: f"class{i}" for i in range(data["nc"])}
    elif raw is None and _has_coco_split(data):
        return {}  # taken from the split's COCO JSON once the paths are resolved
    else:
        problems.append(Problem(file, "", "names", "missing: give a list of class names or {index: name}"))
    dup = sorted(n for n, count in Counter(names.values()).items() if count > 1)
    if dup:
        problems.append(Problem(file, "", "names", f"duplicate class names {dup}"))
    if nc is not None and names and nc != len(names):
        problems.append(Problem(file, "", "nc", f"is {nc} but 'names' has {len(names)} entries"))
    return names


def _has_coco_split(data: dict) -> bool:
    for key in SPLIT_KEYS:
        value = data.get(key)
        entries = value if isinstance(value, list) else [value]
        if any(isinstance(e, dict) and "annotations" in e for e in entries):
            return True
    return False


def _category_ids(raw: Any, count: int, file: str, problems: list[Problem]) -> tuple[int, ...] | None:
    if raw is None:
        return None
    if isinstance(raw, dict):
        raw = [raw.get(i) for i in range(count)]
    if (not isinstance(raw, list) or len(raw) != count or not all(isinstance(v, int) for v in raw)
            or len(set(raw)) != count):
        problems.append(Problem(file, "", "category_ids", f"must be {count} distinct integers, one per class index"))
        return None
    return tuple(raw)


def _root(path_value: Any, yaml_dir: Path, packaged: bool, data: dict) -> Path:
    if not path_value:
        return yaml_dir
    path = Path(str(path_value)).expanduser()
    if path.is_absolute():
        candidates = [path]
    else:
        candidates = ([] if packaged else [yaml_dir / path]) + [datasets_dir() / path]
    for cand in candidates:
        if cand.exists():
            return cand.resolve()
    if not packaged and _splits_exist_under(yaml_dir, data):
        return yaml_dir
    return candidates[-1].resolve()


def _splits_exist_under(folder: Path, data: dict) -> bool:
    for key in SPLIT_KEYS:
        value = data.get(key)
        first = value[0] if isinstance(value, list) and value else value
        if isinstance(first, dict):
            first = first.get("images")
        if isinstance(first, str):
            return (folder / first).exists()
    return False


def _split(key: str, value: Any, root: Path, file: str, problems: list[Problem]) -> SplitSource:
    if isinstance(value, dict):
        images, annotations = value.get("images"), value.get("annotations")
        if not isinstance(images, str) or not isinstance(annotations, str):
            problems.append(Problem(file, "", key, "a mapping split needs 'images' (folder) and 'annotations' (COCO JSON)"))
            return SplitSource(key, ())
        return SplitSource(key, (root / images,), root / annotations, "coco")
    entries = value if isinstance(value, list) else [value]
    if entries and all(isinstance(e, dict) for e in entries) and len(entries) > 1:  # several COCO splits, merged
        parts = tuple(_split(key, e, root, file, problems) for e in entries)
        return SplitSource(key, tuple(p for part in parts for p in part.images), None, "coco", parts=parts)
    if len(entries) == 1 and isinstance(entries[0], dict):
        return _split(key, entries[0], root, file, problems)
    if not all(isinstance(e, str) for e in entries):
        problems.append(Problem(file, "", key, "must be a folder, a .txt list of images, or a list of those"))
        return SplitSource(key, ())
    return SplitSource(key, tuple(root / e for e in entries))


@lru_cache(maxsize=1)
def coco80() -> tuple[tuple[str, ...], tuple[int, ...]]:
    """COCO's 80 class names (label order) and their category ids, from the shipped coco-seg.yaml."""
    data = yaml.safe_load((PACKAGED_DIR / "coco-seg.yaml").read_text(encoding="utf-8"))
    names = tuple(str(data["names"][i]) for i in range(len(data["names"])))
    return names, tuple(int(v) for v in data["category_ids"])


def write_data_yaml(path: Path, root: Path, splits: dict[str, Any], names: dict[int, str],
                    category_ids: tuple[int, ...] | None = None, header: str = "") -> Path:
    """Write a dataset YAML atomically: `path` (absolute, so Ultralytics finds it too), splits, names."""
    from cocoseg.io import atomic_write

    head: dict[str, Any] = {"path": str(root.resolve())}
    head.update(splits)
    head["nc"] = len(names)
    text = header + "".join(
        f"{k}: {yaml.safe_dump(v, default_flow_style=True, sort_keys=False, width=1000).strip()}\n"
        if isinstance(v, (dict, list)) else yaml.safe_dump({k: v}, default_flow_style=False) for k, v in head.items())
    text += yaml.safe_dump({"names": {int(k): v for k, v in sorted(names.items())}}, sort_keys=False,
                           default_flow_style=False, allow_unicode=True, width=1000)
    if category_ids is not None:
        text += yaml.safe_dump({"category_ids": [int(v) for v in category_ids]}, default_flow_style=None, width=100)
    return atomic_write(path, lambda fh: fh.write(text))
