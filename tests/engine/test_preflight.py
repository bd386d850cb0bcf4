"""Checks before training: short-run warnings (issue 14.10) and the image check (issue 14.11)."""
from __future__ import annotations

from pathlib import Path

import pytest

from cocoseg.engine.preflight import short_run_warnings


def test_short_run_warnings_say_what_to_change():
    # epochs=3, warmup_epochs=3, 10 iterations an epoch: 100 warmup iterations (the minimum) of 30
    warmup, bn = short_run_warnings(3, 10, 100, 3.0)
    assert "warmup covers 100% of the run" in warmup and "warmup_epochs=0" in warmup
    assert "only 30 training iterations" in bn and "BatchNorm" in bn and "more epochs" in bn
    assert short_run_warnings(100, 50, 150, 3.0) == []  # a normal run: no warning
    assert short_run_warnings(3, 100, 0, 0.0) == []  # no warmup, 300 iterations


def _tiny_run(tmp_path, **overrides: str):
    from cocoseg.engine.config import TrainConfig
    from cocoseg.engine.trainer import Trainer
    from cocoseg.synth import generate

    data = generate(tmp_path / "data", num_images=4, seed=5, size=(64, 64), val_fraction=0.25)
    base = {"data": str(data.data_yaml), "model": "yolov8n-seg.yaml", "imgsz": "64", "batch": "2", "workers": "0", "threads": "1",
            "project": str(tmp_path / "runs"), "device": "cpu", "plots": "False", "epochs": "1", "max_iters": "1"}
    return Trainer(TrainConfig.from_overrides({**base, **overrides})), data


def test_trainer_logs_them(tmp_path, caplog):
    trainer, _ = _tiny_run(tmp_path, val="False")
    trainer._setup()
    assert "warmup covers" in caplog.text and "BatchNorm running statistics" in caplog.text


def test_bad_images_are_reported_once_skipped_or_an_error(tmp_path, caplog, monkeypatch):
    from cocoseg.data.split_labels import load_split_labels
    from cocoseg.engine import preflight
    from cocoseg.errors import CocosegError

    trainer, data = _tiny_run(tmp_path, val="False", check_images="warn", cache_labels="False")
    files = [item.file for item in load_split_labels(data.data_yaml, "train", cache=False).labels]
    Path(files[0]).unlink()
    Path(files[1]).write_bytes(b"\xff\xd8 not really a jpeg")
    trainer.train()
    warning = next(r.getMessage() for r in caplog.records if "missing or unreadable" in r.getMessage())
    assert f"2 of {len(files)} train images" in warning and "skipping them" in warning
    assert f"{files[0]} (missing)" in warning and f"{files[1]} (cannot be decoded)" in warning
    strict, _ = _tiny_run(tmp_path / "b", val="False", check_images="error", cache_labels="False")
    strict_files = [item.file for item in load_split_labels(strict.cfg.data, "train", cache=False).labels]
    Path(strict_files[0]).unlink()
    with pytest.raises(CocosegError, match=r"1 of \d+ train images missing or unreadable"):
        strict.train()
    # the verdict is cached: a second check of the unchanged split decodes nothing
    labels = load_split_labels(data.data_yaml, "train", cache=False).labels
    assert len(preflight.check_images(labels, "train", tmp_path / "cache")) == 2
    monkeypatch.setattr(preflight, "_image_problem", lambda f: pytest.fail("decoded again"))
    assert len(preflight.check_images(labels, "train", tmp_path / "cache")) == 2
