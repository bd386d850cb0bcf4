"""Training end to end on tiny synthetic data: overfitting, exact resume, run artefacts, CLI modes."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import yaml

from cocoseg.cli.train import start_trainer
from cocoseg.engine.config import TrainConfig
from cocoseg.engine.trainer import Trainer, close_mosaic_epoch
from cocoseg.errors import CocosegError

NO_AUG = {"mosaic": "0", "hsv_h": "0", "hsv_s": "0", "hsv_v": "0", "fliplr": "0", "scale": "0", "translate": "0"}


def _tiny_data(root: Path, num_images: int = 4, size: int = 64, same_split: bool = True) -> Path:
    from cocoseg.synth import generate

    result = generate(root, num_images=num_images, seed=5, size=(size, size), val_fraction=0.25,
                      min_objects=2, max_objects=4)
    if not same_split:
        return result.data_yaml
    data = yaml.safe_load(result.data_yaml.read_text())
    data["val"] = data["train"]  # overfitting: evaluate on the training images
    path = root / "overfit.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _cfg(tmp_path: Path, data: Path, **overrides: str) -> TrainConfig:
    base = {"data": str(data), "model": "yolov8n-seg.yaml", "imgsz": "64", "batch": "4", "workers": "0", "threads": "1",
            "project": str(tmp_path / "runs"), "name": "t", "device": "cpu", "plots": "False",
            "cache_labels": "False"}
    return TrainConfig.from_overrides({**base, **overrides})


def _tiny_model(path: Path, num_classes: int = 9) -> Path:
    """A yolov8n-seg at half width (1M parameters) saved as a checkpoint to start training from."""
    from cocoseg.engine.checkpoints import save_checkpoint
    from cocoseg.models import ModelConfig, SegmentationModel

    torch.manual_seed(0)
    net = SegmentationModel(ModelConfig("n", num_classes=num_classes, depth=0.33, width=0.125, max_channels=1024))
    return save_checkpoint(path, net)


def test_tiny_model_overfits_a_few_images(tmp_path):
    data = _tiny_data(tmp_path / "data")
    tiny = _tiny_model(tmp_path / "tiny.pt")
    # one batch of the 3 training images per epoch; BatchNorm statistics (momentum 0.03) need ~150 steps to settle
    cfg = _cfg(tmp_path, data, model=str(tiny), epochs="200", optimizer="AdamW", lr0="0.01", warmup_epochs="0",
               nbs="4", close_mosaic="0", val_period="1000", ema="False", **NO_AUG)
    result = Trainer(cfg).train()
    assert result["mask_map50"] > 0.9, result
    assert result["box_map50"] > 0.9, result


def test_resume_continues_exactly(tmp_path):
    data = _tiny_data(tmp_path / "data", num_images=6, same_split=False)
    common = {"epochs": "3", "max_iters": "2", "val": "False", "warmup_epochs": "0", "close_mosaic": "1",
              "batch": "2", "nbs": "4", "mixup": "0.5", "copy_paste": "0.5", "degrees": "5"}
    straight = Trainer(_cfg(tmp_path, data, name="straight", **common))
    straight.train()
    stopped = Trainer(_cfg(tmp_path, data, name="stopped", **common))
    _train_epochs(stopped, 2)  # what a run killed during epoch 3 leaves behind: last.pt of epoch 2
    resumed = Trainer(TrainConfig.from_overrides({"resume": "True", "model": str(stopped.run.last)},
                                                 base=_cfg(tmp_path, data)))
    assert resumed.resume_ckpt["epoch"] == 1 and resumed.run_path == stopped.run_path
    resumed.train()
    a = torch.load(straight.run.last, weights_only=True)
    b = torch.load(resumed.run.last, weights_only=True)
    for part in ("train_state_dict",):
        for key, value in a[part].items():
            assert torch.equal(value, b[part][key]), key
    for key, value in a["model"]["state_dict"].items():
        assert torch.equal(value, b["model"]["state_dict"][key]), f"ema {key}"
    assert a["optimizer"]["state"].keys() == b["optimizer"]["state"].keys()
    from cocoseg.engine.runs import read_results

    want, got = read_results(straight.run.results_csv), read_results(resumed.run.results_csv)
    assert [r["epoch"] for r in got] == ["1", "2", "3"]  # the last completed epoch's row is kept
    drop_time = [{k: v for k, v in r.items() if k != "time"} for r in want], \
        [{k: v for k, v in r.items() if k != "time"} for r in got]
    assert drop_time[0] == drop_time[1]


def _train_epochs(trainer: Trainer, epochs: int = 1) -> None:
    """Train and checkpoint the first `epochs` epochs only, as the loop does, then stop."""
    trainer._setup()
    for epoch in range(epochs):
        losses = trainer._train_epoch(epoch)
        trainer._save_epoch(epoch, losses, improved=False, seconds=0.0, validated=False)


def test_run_folder_contents(tmp_path, caplog):
    caplog.set_level("INFO", logger="cocoseg")
    data = _tiny_data(tmp_path / "data", same_split=False)
    cfg = _cfg(tmp_path, data, epochs="1", max_iters="1", plots="True", conf="0.01")
    result = Trainer(cfg).train()
    run = Path(result["run_dir"])
    for name in ("args.yaml", "results.csv", "results.png", "train_batch0.jpg", "metrics.json", "weights/last.pt",
                 "weights/best.pt", "box/pr_curve.png", "box/f1_curve.png", "box/confusion_matrix.png",
                 "mask/pr_curve.png", "mask/f1_curve.png", "mask/confusion_matrix.png"):
        assert (run / name).is_file(), name
    assert "epoch 1/1 val: box mAP50-95 " in caplog.text  # one line per validated epoch
    table = caplog.text[caplog.text.index("final validation"):]
    assert "images instances |  box P" in table and "\n           all " in table
    assert yaml.safe_load((run / "args.yaml").read_text())["imgsz"] == 64
    metrics = json.loads((run / "metrics.json").read_text())
    assert set(metrics) >= {"box_map", "box_map50", "mask_map", "mask_map50", "fitness"}
    ckpt = torch.load(run / "weights" / "last.pt", weights_only=True)  # no pickled objects
    assert ckpt["format"] == "cocoseg-checkpoint" and ckpt["epoch"] == 0
    from cocoseg.models import load_model

    assert load_model(run / "weights" / "best.pt").nc == 9
    best = torch.load(run / "weights" / "best.pt", weights_only=True)  # stripped: EMA weights in fp16 only
    assert "optimizer" not in best and "train_state_dict" not in best and "optimizer" in ckpt
    assert {v.dtype for v in best["model"]["state_dict"].values() if v.is_floating_point()} == {torch.float16}
    assert (run / "weights" / "best.pt").stat().st_size < (run / "weights" / "last.pt").stat().st_size / 3
    second = Trainer(cfg)  # a second run does not overwrite the first
    assert second.run_path != run


def test_close_mosaic_schedule(caplog):
    assert close_mosaic_epoch(100, 10, 1.0) == 90
    assert close_mosaic_epoch(100, 0, 1.0) == 100
    assert close_mosaic_epoch(100, 10, 0.0) == 100
    assert close_mosaic_epoch(5, 10, 1.0) == 3  # not the whole run: the first half keeps mosaic
    assert "mosaic would never run" in caplog.text


def test_config_rejects_unknown_and_malformed_keys():
    with pytest.raises(CocosegError, match="did you mean 'epochs'"):
        TrainConfig.from_overrides({"epoch": "3"})
    with pytest.raises(CocosegError, match="lr0 expects a number"):
        TrainConfig.from_overrides({"lr0": "fast"})
    with pytest.raises(CocosegError, match="multiple of 32"):
        TrainConfig.from_overrides({"imgsz": "100"})
    cfg = TrainConfig.from_overrides({"epochs": "3", "cos_lr": "yes", "lr0": "1e-3"})
    assert (cfg.epochs, cfg.cos_lr, cfg.lr0) == (3, True, 0.001)


def test_cli_train_and_val_smoke(tmp_path, capsys):
    from cocoseg.cli.main import main

    data = _tiny_data(tmp_path / "data", same_split=False)
    args = ["train", f"data={data}", "model=yolov8n-seg.yaml", "epochs=1", "imgsz=64", "batch=2", "workers=0",
            "max_iters=2", f"project={tmp_path / 'runs'}", "name=cli", "plots=False", "threads=1", "conf=0.01"]
    assert main(args) == 0
    trained = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    best = Path(trained["run_dir"]) / "weights" / "best.pt"
    assert main(["val", f"model={best}", f"data={data}", "imgsz=64", "batch=2", "workers=0", "conf=0.01"]) == 0
    validated = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    for key in ("box_map", "box_map50", "mask_map", "mask_map50"):
        assert validated[key] == pytest.approx(trained[key], abs=1e-12)
    assert main(["train", "data=x.yaml", "epoch=3"]) == 2  # unknown key: usage error with a suggestion
    assert "did you mean" in capsys.readouterr().err


def test_early_stopping_after_patience_epochs_without_improvement(tmp_path):
    data = _tiny_data(tmp_path / "data", same_split=False)
    # conf 1.0 keeps every metric at 0: epoch 1 sets the best fitness, epoch 2 does not improve on it
    cfg = _cfg(tmp_path, data, epochs="4", max_iters="1", patience="1", conf="1.0", close_mosaic="0")
    result = Trainer(cfg).train()
    assert result["epochs_completed"] == 2 and result["best_epoch"] == 1


def test_val_false_reports_null_metrics(tmp_path, capsys):
    from cocoseg.cli.main import main

    data = _tiny_data(tmp_path / "data", same_split=False)
    args = ["train", f"data={data}", "model=yolov8n-seg.yaml", "epochs=1", "imgsz=64", "batch=2", "workers=0",
            "max_iters=1", f"project={tmp_path / 'runs'}", "name=noval", "plots=False", "threads=1", "val=False"]
    assert main(args) == 0
    last_line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    stored = json.loads((tmp_path / "runs" / "noval" / "metrics.json").read_text())
    for result in (last_line, stored):
        assert {k: result[k] for k in ("box_map", "mask_map50", "fitness", "best_epoch")} == dict.fromkeys(
            ("box_map", "mask_map50", "fitness", "best_epoch"))
        assert result["epochs_completed"] == 1


def test_failed_run_leaves_no_folder_and_keeps_the_name(tmp_path):
    data = _tiny_data(tmp_path / "data", same_split=False)
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump({**yaml.safe_load(data.read_text()), "train": "no/such/images"}))
    for _ in range(2):
        trainer = Trainer(_cfg(tmp_path, broken, name="tiny", epochs="1"))
        assert trainer.run_path.name == "tiny"
        with pytest.raises(CocosegError):
            trainer.train()
        assert not (tmp_path / "runs").exists()


def test_stop_after_the_checkpoint_resumes_with_its_row_threads_and_no_stale_temp(tmp_path, monkeypatch):
    from cocoseg.engine import device as device_module
    from cocoseg.engine.runs import RunDir, read_results

    data = _tiny_data(tmp_path / "data", same_split=False)
    common = {"epochs": "2", "max_iters": "1", "val": "False", "warmup_epochs": "0", "close_mosaic": "0"}
    real_append = RunDir.append_results

    def ctrl_c_before_row(self, row):
        raise KeyboardInterrupt

    monkeypatch.setattr(RunDir, "append_results", ctrl_c_before_row)
    threads = torch.get_num_threads()
    first = start_trainer(_cfg(tmp_path, data, name="cut", threads="2", **common))  # sets 2, as `cocoseg train`
    try:
        with pytest.raises(KeyboardInterrupt):
            first.train()
        assert first.run.last.is_file()  # written before the row
        stale = first.run.weights / ".last.pt.k3j_9xQz.tmp"
        stale.write_bytes(b"")
        monkeypatch.setattr(RunDir, "append_results", real_append)
        monkeypatch.setattr(device_module, "default_cpu_threads", lambda: 1)
        torch.set_num_threads(1)  # today's count differs: the resumed run must set the recorded one again
        resumed = start_trainer(TrainConfig.from_overrides({"resume": "True", "model": str(first.run.last)},
                                                           base=_cfg(tmp_path, data, threads="0")))
        assert resumed.threads == 2 and torch.get_num_threads() == 2
        resumed.train()
        assert resumed.threads_used == 2  # the interrupted run's count, not today's idle cores
    finally:
        torch.set_num_threads(threads)
    assert [r["epoch"] for r in read_results(first.run.results_csv)] == ["1", "2"]
    assert not stale.exists()


def test_the_trainer_leaves_the_thread_count_alone_and_records_the_one_in_use(tmp_path, caplog):
    data = _tiny_data(tmp_path / "data", same_split=False)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        trainer = Trainer(_cfg(tmp_path, data, name="lib", threads="2", epochs="1", max_iters="1", val="False"))
        assert trainer.threads == 2 and torch.get_num_threads() == 1  # constructing sets nothing
        trainer.train()
        assert torch.get_num_threads() == 1 and trainer.threads_used == 1  # what really ran is recorded
        assert "training on 1 CPU threads, not the 2 this run asks for" in caplog.text
    finally:
        torch.set_num_threads(threads)
