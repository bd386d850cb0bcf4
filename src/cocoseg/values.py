"""Values as users type them (`key=value` on the command line, overrides in YAML): the one parser.

Booleans and the close-match hint for a mistyped key, shared by the CLI's argument parser and
`TrainConfig.from_overrides`. Plain Python, importable by every layer.
"""
from __future__ import annotations

import difflib
from collections.abc import Iterable

TRUE_WORDS = frozenset({"1", "true", "yes", "y", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "n", "off"})


def parse_bool(value: str | bool) -> bool:
    """true/false, yes/no, 1/0, on/off (any case) -> bool; ValueError for anything else."""
    if isinstance(value, bool):
        return value
    text = value.strip().lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise ValueError(f"expected a boolean (True/False), got {value!r}")


# Keys users bring from other tools (YOLOv5, detectron2, their own scripts) -> ours. Checked first:
# these are not typos, so no string distance finds them.
CONFUSED_KEYS: dict[str, str] = {
    "batch_size": "batch", "bs": "batch", "img_size": "imgsz", "image_size": "imgsz", "imgsize": "imgsz",
    "img": "imgsz", "size": "imgsz", "conf_thres": "conf", "conf_threshold": "conf", "score_thr": "conf",
    "iou_thres": "iou", "iou_threshold": "iou", "nms_iou": "iou", "weights": "model", "checkpoint": "model",
    "ckpt": "model", "lr": "lr0", "learning_rate": "lr0", "epoch": "epochs", "num_epochs": "epochs",
    "num_workers": "workers", "max_dets": "max_det", "output": "project", "out_dir": "project",
    "dataset": "data", "input": "source", "images": "source", "gpu": "device", "gpus": "device",
    "cache": "cache_images",
}


def closest_key(key: str, valid: Iterable[str]) -> str | None:
    """The valid key a mistyped `key` most likely meant, or None.

    A known confusion (`batch_size` -> `batch`) first; else a typo: the spellings without underscores
    are close (`maxdet`, `epochs` for `epoch`). A valid key that `key` only extends with more words
    (`save` for `save_txt`, `conf` for `save_conf`) is a different option, never a suggestion.
    """
    name = key.lstrip("-")
    options = list(valid)
    alias = CONFUSED_KEYS.get(name.lower().replace("-", "_"))
    if alias in options:
        return alias

    def squash(text: str) -> str:
        return text.lower().replace("_", "").replace("-", "")

    def extends(a: str, b: str) -> bool:  # a's words strictly contain b's
        wa, wb = set(a.lower().replace("-", "_").split("_")), set(b.lower().replace("-", "_").split("_"))
        return wb < wa or wa < wb

    candidates = [o for o in options if not extends(name, o)]
    squashed = {squash(o): o for o in candidates}
    close = difflib.get_close_matches(squash(name), list(squashed), n=1, cutoff=0.8)
    return squashed[close[0]] if close else None


def parse_int_list(value: str | int | Iterable[int]) -> list[int]:
    """One or more integers as the reference spells them: `640`, `640,480`, `[480,640]`, `(480, 640)`,
    `480 640`; ValueError naming the bad item otherwise."""
    if isinstance(value, bool):
        raise ValueError(f"expected integers, got {value!r}")
    if isinstance(value, int):
        return [value]
    if not isinstance(value, str):
        return [v for item in value for v in parse_int_list(item)]
    text = value.strip()
    if text[:1] + text[-1:] in ("[]", "()"):
        text = text[1:-1]
    items = [t for t in text.replace(",", " ").split() if t]
    if not items:
        raise ValueError(f"expected integers such as 640 or 640,480, got {value!r}")
    out = []
    for item in items:
        try:
            number = float(item)
        except ValueError:
            raise ValueError(f"expected integers such as 640 or 640,480, got {value!r}") from None
        if not number.is_integer():
            raise ValueError(f"expected integers, got {item!r} in {value!r}")
        out.append(int(number))
    return out
