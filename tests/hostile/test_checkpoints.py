"""Issue 16.10: hostile checkpoints (the one reader, models/checkpoint.py, and the reference import behind it)
give one line naming the file, never a traceback."""
from __future__ import annotations

import pickletools
import sys
import zipfile
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from cocoseg.errors import CocosegError  # noqa: E402
from cocoseg.models.hub import build_model, load_model, model_state  # noqa: E402

BASE = {"format": "cocoseg-checkpoint", "format_version": 1}


@pytest.fixture(scope="module")
def state():
    return model_state(build_model("yolov8n-seg"))


def _offset_past_the_data(tmp_path: Path, stride: bool) -> Path:
    """A checkpoint whose tensor view (offset or stride) reaches past its 4-element storage."""
    src, dst = tmp_path / "src.pt", tmp_path / "bad_view.pt"
    torch.save({**BASE, "model": {"config": {}, "state_dict": {"w": torch.zeros(4)}}}, src)
    with zipfile.ZipFile(src) as zin:
        pkl = next(n for n in zin.namelist() if n.endswith("data.pkl"))
        data = bytearray(zin.read(pkl))
        ops = list(pickletools.genops(bytes(data)))
        at = next(i for i, (op, _, _) in enumerate(ops) if op.name == "BINPERSID")
        ints = [pos for op, _, pos in ops[at + 1:at + 8] if op.name == "BININT1"]  # offset, size, stride
        pos = ints[2] if stride else ints[0]
        data[pos:pos + 2] = b"K\x64"
        with zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as zout:
            for item in zin.infolist():
                zout.writestr(item, bytes(data) if item.filename == pkl else zin.read(item.filename))
    return dst


def _cases(state: dict, tmp_path: Path) -> dict[str, tuple[object, str]]:
    """name -> (file contents: bytes or a record for torch.save, what the line must say)."""
    missing = dict(state["state_dict"])
    missing.pop(next(iter(missing)))
    return {
        "ext1_opcode": (b"\x80\x02\x82\x01.", "not a torch zip checkpoint"),
        "hello": (b"hello", "not a checkpoint"),
        "string_format_version": ({**BASE, "format_version": "1", "model": state}, "format_version must be an integer"),
        "no_model": (dict(BASE), "has no 'model' record"),
        "model_not_a_record": ({**BASE, "model": "x"}, "'model' must be a record"),
        "config_not_a_record": ({**BASE, "model": {**state, "config": "x"}}, "needs a 'config' and a 'state_dict'"),
        "weight_not_a_tensor": ({**BASE, "model": {**state, "state_dict": {"w": [1, 2]}}}, "is not a tensor"),
        "missing_weights": ({**BASE, "model": {**state, "state_dict": missing}}, "Missing key(s)"),
        "nc_eighty": ({**BASE, "model": {**state, "config": {**state["config"], "num_classes": "eighty"}}},
                      "num_classes must be a whole number"),
        "nc_zero": ({**BASE, "model": {**state, "config": {**state["config"], "num_classes": 0}}},
                    "num_classes must be a whole number"),
    }


NAMES = ("ext1_opcode", "hello", "string_format_version", "no_model", "model_not_a_record", "config_not_a_record",
         "weight_not_a_tensor", "missing_weights", "nc_eighty", "nc_zero")


@pytest.mark.parametrize("name", NAMES)
def test_hostile_checkpoint_is_one_line(state, tmp_path: Path, name: str) -> None:
    content, words = _cases(state, tmp_path)[name]
    path = tmp_path / f"{name}.pt"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        torch.save(content, path)
    with pytest.raises(CocosegError, match=None) as info:
        load_model(path)
    message = str(info.value)
    assert len(message.splitlines()) == 1 and str(path) in message and words in message, message


@pytest.mark.parametrize("stride", [False, True])
def test_tensor_offset_or_stride_past_its_data(tmp_path: Path, stride: bool) -> None:
    path = _offset_past_the_data(tmp_path, stride)
    with pytest.raises(CocosegError, match="cannot read checkpoint") as info:
        load_model(path)
    assert len(str(info.value).splitlines()) == 1 and str(path) in str(info.value)


@pytest.mark.parametrize("shape", ["cyclic", "deep"])
def test_cyclic_or_5000_deep_module_tree(tmp_path: Path, shape: str) -> None:
    if shape == "cyclic":
        tree = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 1))
        tree.add_module("again", tree)
    else:
        tree = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 1))
        for _ in range(5000):
            tree = torch.nn.Sequential(tree)
    path = tmp_path / f"{shape}.pt"
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(100_000)  # only to write it: pickling 5000 levels recurses
    try:
        torch.save({"model": tree, "train_args": {}}, path)
    finally:
        sys.setrecursionlimit(limit)
    with pytest.raises(CocosegError) as info:
        load_model(path)
    assert len(str(info.value).splitlines()) == 1 and str(path) in str(info.value)
