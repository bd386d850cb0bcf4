"""cocoseg checkpoints: the model (config, names, state dict) plus whatever the trainer adds.

The file format, its one writer and its one reader are `cocoseg.models.checkpoint` (`load_model`
reads checkpoints too, and `models` sits below `engine`); this module is their model-level API:
`save_checkpoint(path, model, extra=...)` and `load_checkpoint(path)`. The trainer writes every
`last.pt` / `best.pt` through `save_checkpoint`.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from cocoseg.engine.config import TrainConfig
from cocoseg.errors import CocosegError
from cocoseg.models import SegmentationModel, load_model, model_state
from cocoseg.models.checkpoint import CHECKPOINT_FORMAT, read_checkpoint_file, write_checkpoint_file

__all__ = ["CHECKPOINT_FORMAT", "load_checkpoint", "load_model", "save_checkpoint", "strip_checkpoint"]

# what a stripped checkpoint keeps beside the model: enough to know where it came from, nothing to resume
KEPT_WHEN_STRIPPED = ("epoch", "best_fitness", "best_epoch", "best_metrics", "metrics", "train_args")


def save_checkpoint(path: str | Path, model: SegmentationModel, *, extra: Mapping[str, Any] | None = None) -> Path:
    """Write `model` (+ `extra`: train args, optimizer state, EMA, epoch, RNG state...) to `path` atomically.

    `extra` keys must not be one of the reserved keys; values must be weights_only-loadable.
    """
    extra = dict(extra or {})
    if "model" in extra:
        raise CocosegError("checkpoint: extra keys ['model'] are reserved")
    return write_checkpoint_file(path, {"model": model_state(model), **extra})


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """The checkpoint dict of a cocoseg `.pt` (with `torch.load(weights_only=True)`, tensors on the CPU).

    A reference checkpoint is not a cocoseg checkpoint: use `load_model` for those.
    """
    ckpt = read_checkpoint_file(path)
    if ckpt is None:
        raise CocosegError(
            f"{path}: not a cocoseg checkpoint (a reference YOLOv8 .pt can be imported with load_model)"
        )
    return ckpt


def strip_checkpoint(path: str | Path) -> Path:
    """Rewrite a training checkpoint as weights only: the (EMA) model in half precision plus its provenance
    (epoch, metrics, train args); the optimizer, raw weights and RNG state go (a nano model: 55 -> 7 MB)."""
    import torch

    ckpt = load_checkpoint(path)
    model = dict(ckpt["model"])
    model["state_dict"] = {k: v.half() if torch.is_floating_point(v) else v for k, v in model["state_dict"].items()}
    kept = {k: ckpt[k] for k in KEPT_WHEN_STRIPPED if k in ckpt}
    return write_checkpoint_file(path, {"model": model, **kept, "stripped": True})


DEFAULT_IMGSZ = 640


def trained_imgsz(model: Any) -> int | None:
    """The input size a cocoseg checkpoint was trained at (its `train_args`), else None."""
    path = Path(model) if isinstance(model, (str, Path)) else None
    if path is None or path.suffix != ".pt" or not path.is_file():
        return None
    try:
        ckpt = read_checkpoint_file(path)
    except CocosegError:
        return None  # the loader that follows reports it
    imgsz = (ckpt or {}).get("train_args", {}).get("imgsz")
    return int(imgsz) if isinstance(imgsz, int) and imgsz > 0 else None


def resolve_imgsz(model: Any, given: int | Sequence[int] | None) -> int | tuple[int, int]:
    """The input size for val/predict/export: `given` (S, or [S] / [H, W]), else the size `model` was
    trained at, else 640 (as the reference: a checkpoint is used at the size it learned)."""
    if given is None:
        return trained_imgsz(model) or DEFAULT_IMGSZ
    if isinstance(given, int):
        return given
    sizes = [int(v) for v in given]
    if len(sizes) not in (1, 2):
        raise CocosegError(f"imgsz: expected S or H W, got {list(given)}")
    return sizes[0] if len(sizes) == 1 else (sizes[0], sizes[1])


# On resume these may differ from the interrupted run's values (they do not change the result; threads=0
# reuses the count the run recorded).
RESUME_OVERRIDABLE = ("device", "workers", "threads", "plots")


def resume_state(cfg: TrainConfig) -> tuple[TrainConfig, dict[str, Any], Path]:
    """The interrupted run's config (a few keys overridable), its last checkpoint and its folder."""
    given = Path(cfg.model)
    last = given if given.suffix == ".pt" and given.is_file() else Path(cfg.project) / cfg.name / "weights" / "last.pt"
    if not last.is_file():
        raise CocosegError(f"resume: no checkpoint at {last} (pass model=path/to/last.pt)")
    ckpt = load_checkpoint(last)
    if ckpt.get("stripped") or "optimizer" not in ckpt:
        raise CocosegError(f"resume: {last} holds weights only (best.pt is stripped at the end of a run); "
                           "resume from the run's weights/last.pt")
    stored = dict(ckpt["train_args"])
    if int(ckpt["epoch"]) + 1 >= int(stored["epochs"]):
        raise CocosegError(f"resume: {last} already finished all {stored['epochs']} epochs; nothing to resume")
    for key in RESUME_OVERRIDABLE:
        stored[key] = getattr(cfg, key)
    stored["resume"] = True
    resumed = TrainConfig.from_overrides(stored).replace(model=str(last))
    return resumed, ckpt, last.parent.parent


# the reference's released YOLOv8-seg weights (imported safely by load_model)
RELEASE_URL = "https://github.com/ultralytics/assets/releases/download/v8.2.0/{name}.pt"


def weights_cache() -> Path:
    """Where downloaded released weights live: the cocoseg cache folder's `weights/`."""
    from cocoseg.data.labels import cache_dir

    return cache_dir() / "weights"


def resolve_weights(model: Any) -> Any:
    """`yolov8n-seg` (a model name without extension) means the released `yolov8n-seg.pt`, as users know it:
    the working folder's, else the weights cache's, else downloaded into the cache (unless
    $COCOSEG_OFFLINE is set), else one clear error. `yolov8n-seg.yaml` is an untrained model; paths and
    modules are returned as they are."""
    import os

    from cocoseg.models.zoo import list_models, normalize_name

    if not isinstance(model, (str, Path)) or Path(model).suffix or Path(model).exists():
        return model
    name = normalize_name(str(model))
    if name not in list_models() or normalize_name(Path(model).name) != str(model).strip().lower():
        return model
    for candidate in (Path.cwd() / f"{name}.pt", weights_cache() / f"{name}.pt"):
        if candidate.is_file():
            return candidate
    dest, url = weights_cache() / f"{name}.pt", RELEASE_URL.format(name=name)
    why = "offline ($COCOSEG_OFFLINE is set)"
    if not os.environ.get("COCOSEG_OFFLINE"):
        from cocoseg.datasets.download import download_file

        try:
            return download_file(url, dest, retries=1, timeout=30)
        except (OSError, CocosegError) as exc:
            why = f"download failed: {exc}"
    raise CocosegError(f"model {model!r} means the released {name}.pt: not in the working folder or {dest.parent}, "
                       f"and {why}; download {url} into one of them, or use model={name}.yaml for an untrained model")
