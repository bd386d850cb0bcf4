"""Import of the reference's pickled-module checkpoints: parity, path independence, refusal of code."""
from __future__ import annotations

import os
import zipfile

import numpy as np
import pytest
import torch

from cocoseg.errors import CocosegError
from cocoseg.models import UnsafeCheckpointError, import_reference_checkpoint, load_model


@pytest.fixture
def ref(shared):
    """The reference fixtures folder (the test skips where ../shared is absent)."""
    return shared / "fixtures" / "reference-yolov8-seg"


@pytest.mark.parametrize("stem,nc", [("yolov8n-seg-ref", 80), ("yolov8n-seg-nc3-ref", 3)])
def test_outputs_equal_the_reference_to_1e_4(ref, stem, nc):
    model, meta = import_reference_checkpoint(ref / f"{stem}.pt")
    io = np.load(ref / f"{stem}_io.npz")
    with torch.no_grad():
        # the fixture holds the reference network's 0..1 input; ours takes 0..255 and divides itself
        pred, protos = model.infer(torch.from_numpy(io["input"]) * 255)
    assert model.nc == nc and pred.shape == io["pred"].shape
    # scores, coefficients, prototypes: 1e-4 absolute; box coordinates (up to 640 px, where a float32
    # ulp is 6e-5) may differ by a few ulps with the thread count, hence the 1e-6 relative term
    nb = 4
    np.testing.assert_allclose(pred.numpy()[:, nb:], io["pred"][:, nb:], rtol=0, atol=1e-4)
    np.testing.assert_allclose(pred.numpy()[:, :nb], io["pred"][:, :nb], rtol=1e-6, atol=1e-4)
    np.testing.assert_allclose(protos.numpy(), io["proto"], rtol=0, atol=1e-4)
    assert meta["version"] == "8.4.190" and meta["train_args"]["task"] == "segment"


def test_names_come_from_the_checkpoint(ref):
    model = load_model(ref / "yolov8n-seg-nc3-ref.pt")
    assert model.names == {0: "class0", 1: "class1", 2: "class2"}
    assert not model.training and next(model.parameters()).dtype == torch.float32


def _rewrite_pickle(src, dst, edit) -> None:
    """Copy a torch zip checkpoint, passing its data.pkl through `edit(bytes) -> bytes`."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            zout.writestr(item, edit(data) if item.filename.endswith("data.pkl") else data)


def test_module_path_of_pickled_classes_does_not_matter(ref, tmp_path):
    """Early releases pickled every class from one `ultralytics.nn.modules` module."""
    src = ref / "yolov8n-seg-nc3-ref.pt"
    dst = tmp_path / "old-layout.pt"

    def to_old_layout(data: bytes) -> bytes:
        for sub in (b"conv", b"block", b"head"):
            data = data.replace(b"cultralytics.nn.modules." + sub + b"\n", b"cultralytics.nn.modules\n")
        assert b"cultralytics.nn.modules\nC2f\n" in data
        return data

    _rewrite_pickle(src, dst, to_old_layout)
    io = np.load(ref / "yolov8n-seg-nc3-ref_io.npz")
    with torch.no_grad():
        pred, _ = load_model(dst).infer(torch.from_numpy(io["input"]) * 255)
    np.testing.assert_allclose(pred.numpy(), io["pred"], rtol=1e-6, atol=1e-4)


class _RunsCode:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_pickle_that_would_run_code_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    torch.save({"model": _RunsCode(str(marker)), "train_args": {}}, path)
    with pytest.raises(UnsafeCheckpointError, match="refusing to load 'posix.system'|refusing to load 'os.system'"):
        load_model(path)
    assert not marker.exists()


def test_unknown_class_inside_a_model_tree_is_refused(ref, tmp_path):
    """A module class outside the YOLOv8 allow-list (here builtins.eval spliced in) is refused."""
    src = ref / "yolov8n-seg-nc3-ref.pt"
    dst = tmp_path / "tampered.pt"
    _rewrite_pickle(src, dst, lambda d: d.replace(b"ctorch.nn.modules.activation\nSiLU\n", b"cbuiltins\neval\n"))
    with pytest.raises(UnsafeCheckpointError, match="builtins.eval"):
        load_model(dst)


def test_not_a_yolov8_seg_checkpoint(tmp_path):
    path = tmp_path / "weights.pt"
    torch.save({"model.0.conv.weight": torch.zeros(1)}, path)
    with pytest.raises(CocosegError, match="not a reference YOLOv8 checkpoint"):
        load_model(path)
    with pytest.raises(CocosegError, match="no such file and not a model name"):
        load_model(tmp_path / "yolov8n-seg.pt")


def test_value_types_of_trained_checkpoints_are_read(tmp_path):
    """Checkpoints from a real training run hold torch.Size (the head's cached shape) and torch.device."""
    from cocoseg.models.safe_unpickle import safe_load

    path = tmp_path / "trained.pt"
    torch.save({"shape": torch.Size([1, 144, 80, 80]), "device": torch.device("cpu"), "w": torch.ones(2)}, path)
    loaded = safe_load(path)
    assert loaded["shape"] == torch.Size([1, 144, 80, 80]) and isinstance(loaded["shape"], torch.Size)
    assert loaded["device"] == torch.device("cpu") and torch.equal(loaded["w"], torch.ones(2))
