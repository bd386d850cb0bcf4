"""The training loop: data, model, optimizer, EMA, per-epoch validation, checkpoints, resume, DDP.

`Trainer(cfg).train()` runs a whole training and returns the final metrics. Everything random is seeded
from `cfg.seed`: the sampler order from (seed, epoch), each augmented image from (seed, epoch, index),
so `resume=True` continues exactly where `last.pt` (written atomically after every epoch) left off.
"""
from __future__ import annotations

import logging
import math
import random
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from cocoseg.data import SegmentationDataset, collate
from cocoseg.data.labels import cache_dir as label_cache_dir
from cocoseg.data.split_labels import SplitData, load_split_labels
from cocoseg.engine import optim
from cocoseg.engine.checkpoints import load_model, resume_state, save_checkpoint, strip_checkpoint
from cocoseg.engine.config import TrainConfig
from cocoseg.engine.device import select_device, threads_in_use, training_threads
from cocoseg.engine.distributed import DistContext
from cocoseg.engine.ema import ModelEMA, unwrap
from cocoseg.engine.model_setup import build_training_model
from cocoseg.engine.preflight import checked_split, short_run_warnings
from cocoseg.engine.runs import RunDir, new_run_dir
from cocoseg.engine.val_report import epoch_line, write_final_report
from cocoseg.engine.validator import Validator, ValMetrics
from cocoseg.errors import CocosegError
from cocoseg.models.loss import LOSS_NAMES, SegmentationLoss

LOGGER = logging.getLogger(__name__)


class Trainer:
    """One training run (see the module docstring)."""

    def __init__(self, cfg: TrainConfig, dist: DistContext | None = None):
        self.dist = dist or DistContext.from_env()
        self.device = _device_for(cfg.device, self.dist)
        self.dist.init(self.device)
        self.resume_ckpt: dict[str, Any] | None = None
        if cfg.resume:
            cfg, self.resume_ckpt, run_path = resume_state(cfg)
        else:
            run_path = new_run_dir(cfg.project, cfg.name, cfg.exist_ok)
        if self.dist.enabled:  # every rank must write into the same folder
            run_path = Path(self.dist.broadcast(str(run_path)))
        self.cfg = cfg
        # a resume reuses the interrupted run's thread count: CPU results depend on it. Setting torch's
        # (process-wide) count is the application's job: `cocoseg train` calls set_cpu_threads(trainer.threads)
        recorded = int((self.resume_ckpt or {}).get("threads_used") or 0)
        self.threads = training_threads(cfg.threads or recorded, self.dist.world_size, self.device)
        self.run = RunDir(run_path) if self.dist.is_main else None
        self.run_path = run_path
        self.best_fitness, self.best_epoch, self.best_metrics = -1.0, -1, ValMetrics()
        self.metrics = ValMetrics()
        self.start_epoch = 0

    # ---- setup ---------------------------------------------------------------------------------
    def _setup(self) -> None:
        cfg, dist = self.cfg, self.dist
        self.threads_used = threads_in_use(self.threads, self.device)
        _seed_everything(cfg.seed + dist.rank, cfg.deterministic)
        image_cache = label_cache_dir() if cfg.cache_labels else None
        train = checked_split(load_split_labels(cfg.data, "train", cache=cfg.cache_labels), "train",
                              cfg.check_images, image_cache)
        val = load_split_labels(cfg.data, "val", need_gt=True) if cfg.val else None
        val = checked_split(val, "val", cfg.check_images, image_cache) if val is not None else None
        self.names = train.names
        if val is not None and val.gt is not None and len(val.gt.categories) != len(self.names):
            raise CocosegError(f"{cfg.data}: names lists {len(self.names)} classes but the val split has "
                               f"{len(val.gt.categories)} categories")
        self.train_set = self._train_dataset(train)
        # channels_last: about 10 % faster convolutions forward and backward on CPU (and with AMP on CUDA)
        self.model = build_training_model(cfg.model, self.names, cfg.imgsz, self.resume_ckpt,
                                          cfg.pretrained).to(self.device, memory_format=torch.channels_last)
        self.ema = ModelEMA(self.model) if cfg.ema else None
        self.loss_fn = SegmentationLoss.for_model(self.model, box=cfg.box, cls=cfg.cls, dfl=cfg.dfl,
                                                  overlap_mask=cfg.overlap_mask)
        self.batch_per_rank = max(cfg.batch // dist.world_size, 1)
        self.sampler = torch.utils.data.DistributedSampler(self.train_set, dist.world_size, dist.rank,
                                                           shuffle=True, seed=cfg.seed)
        self.iters_per_epoch = math.ceil(len(self.sampler) / self.batch_per_rank)
        if cfg.max_iters:
            self.iters_per_epoch = min(self.iters_per_epoch, cfg.max_iters)
        for warning in short_run_warnings(cfg.epochs, self.iters_per_epoch,
                                          optim.warmup_iterations(cfg.warmup_epochs, self.iters_per_epoch),
                                          cfg.warmup_epochs):
            LOGGER.warning(warning)
        self.accumulate = optim.accumulate_steps(cfg.batch, cfg.nbs)
        choice = optim.choose_optimizer(cfg.optimizer, cfg.lr0, cfg.momentum, len(self.names),
                                        self.iters_per_epoch * cfg.epochs)
        self.optim_choice = choice
        wd = optim.scaled_weight_decay(cfg.weight_decay, cfg.batch, self.accumulate, cfg.nbs)
        self.optimizer = optim.build_optimizer(self.model, choice, wd)
        self.amp = bool(cfg.amp and self.device.type == "cuda")
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp)
        self.validator = None
        if val is not None and val.gt is not None:
            val_set = SegmentationDataset(val.labels, cfg.imgsz, augment=False, with_masks=False)
            self.validator = Validator(val.gt, val_set, batch=max(self.batch_per_rank * 2, 1),
                                       workers=cfg.workers, conf=cfg.conf, iou=cfg.iou, max_det=cfg.max_det)
        if cfg.cache_images:
            self._cache_images()
        if self.resume_ckpt is not None:
            self._restore(self.resume_ckpt)
        self.train_model = dist.wrap(self.model, self.device)

    def _cache_images(self) -> None:
        sets = [("train", self.train_set)]
        if self.validator is not None:
            sets.append(("val", self.validator.dataset))
        for name, dataset in sets:
            t0 = time.time()
            if dataset.cache_images():
                LOGGER.info("cached %d %s images in RAM (%.1f s)", len(dataset), name, time.time() - t0)
            else:
                LOGGER.warning("not caching %s images: they would take over half the free memory", name)

    def _train_dataset(self, split: SplitData) -> SegmentationDataset:
        labels = split.labels
        if self.cfg.fraction < 1:
            labels = labels[: max(1, round(len(labels) * self.cfg.fraction))]
        return SegmentationDataset(labels, self.cfg.imgsz, augment=True, hyp=self.cfg.augment,
                                   mask_ratio=self.cfg.mask_ratio, overlap_mask=self.cfg.overlap_mask,
                                   seed=self.cfg.seed)

    def _restore(self, ckpt: dict[str, Any]) -> None:
        self.optimizer.load_state_dict(ckpt["optimizer"])
        if self.ema is not None and ckpt.get("ema_updates") is not None:
            self.ema.ema.load_state_dict(ckpt["model"]["state_dict"])
            self.ema.updates = int(ckpt["ema_updates"])
        if ckpt.get("scaler"):
            self.scaler.load_state_dict(ckpt["scaler"])
        self.start_epoch = int(ckpt["epoch"]) + 1
        self.best_fitness = float(ckpt.get("best_fitness", -1.0))
        self.best_epoch = int(ckpt.get("best_epoch", -1))
        self.best_metrics = ValMetrics(**ckpt.get("best_metrics", {}))
        if "torch_rng" in ckpt:
            torch.set_rng_state(ckpt["torch_rng"])
        if self.run is not None:  # results.csv counts epochs from 1, the checkpoint from 0
            self.run.truncate_results(int(ckpt["epoch"]) + 1)
            if ckpt.get("results_row"):  # the row is part of the checkpoint: a kill between the two loses nothing
                self.run.append_results(ckpt["results_row"])
        LOGGER.info("resuming %s from epoch %d of %d", self.run_path, self.start_epoch + 1, self.cfg.epochs)

    # ---- the loop ------------------------------------------------------------------------------
    def train(self) -> dict[str, Any]:
        """Run every remaining epoch; returns the final metrics (also written to metrics.json)."""
        self._setup()
        cfg = self.cfg
        if self.run is not None:
            for path in self.run.create():
                LOGGER.info("removed %s (a temp file of an interrupted write)", path)
            self.run.write_args({**cfg.to_dict(), "optimizer_used": self.optim_choice.name,
                                 "lr_used": self.optim_choice.lr})
        close_at = close_mosaic_epoch(cfg.epochs, cfg.close_mosaic, cfg.mosaic)
        patience_left, started = cfg.patience, time.time()
        epoch = self.start_epoch - 1
        for epoch in range(self.start_epoch, cfg.epochs):
            if epoch >= close_at and not self.train_set.mosaic_closed:
                LOGGER.info("closing mosaic (and mixup, copy-paste) for the last %d epochs", cfg.epochs - epoch)
                self.train_set.close_mosaic()
            t0 = time.time()
            losses = self._train_epoch(epoch)
            self.dist.sync_state(self.model)
            if self.ema is not None:
                self.dist.sync_state(self.ema.ema)
            final = epoch == cfg.epochs - 1
            validated = self.validator is not None and (final or (epoch + 1) % max(cfg.val_period, 1) == 0)
            if validated:
                self.metrics = self.validate()
                LOGGER.info(epoch_line(epoch, cfg.epochs, self.metrics))
            improved = validated and self.metrics.fitness > self.best_fitness
            if improved:
                self.best_fitness, self.best_epoch, self.best_metrics = self.metrics.fitness, epoch, self.metrics
            self._save_epoch(epoch, losses, improved, time.time() - t0, validated)
            if validated:
                patience_left = cfg.patience if improved else patience_left - 1
            out_of_time = self.dist.broadcast(cfg.time > 0 and (time.time() - started) > cfg.time * 3600)
            if not final and (patience_left <= 0 or out_of_time):
                LOGGER.info("stopping early after epoch %d: %s", epoch + 1,
                            f"no improvement in {cfg.patience} epochs" if patience_left <= 0 else "time limit")
                break
        self._loader = None  # stops the persistent loader workers
        return self._finish(epoch, time.time() - started)

    def _train_epoch(self, epoch: int) -> np.ndarray:
        cfg, dist = self.cfg, self.dist
        self.train_set.set_epoch(epoch)
        self.sampler.set_epoch(epoch)
        loader = self._train_loader()
        self.train_model.train()
        warmup = optim.warmup_iterations(cfg.warmup_epochs, self.iters_per_epoch)
        mean = np.zeros(len(LOSS_NAMES))
        bar = _progress(loader, self.iters_per_epoch, f"{epoch + 1}/{cfg.epochs}", dist.is_main)
        pending = 0
        self.optimizer.zero_grad(set_to_none=True)
        for i, batch in enumerate(bar):
            if i >= self.iters_per_epoch:
                break
            ni = i + self.iters_per_epoch * epoch
            optim.set_lr(self.optimizer, epoch, ni, warmup, cfg.epochs, cfg.lrf, cfg.cos_lr, cfg.warmup_bias_lr,
                         cfg.warmup_momentum, self.optim_choice.momentum)
            items = self._step(batch)
            pending += 1
            if pending >= self.accumulate:
                self._optimizer_step()
                pending = 0
            mean = (mean * i + items) / (i + 1)
            if dist.is_main:
                bar.set_postfix(dict(zip([n.split("_")[0] for n in LOSS_NAMES], np.round(mean, 3).tolist()),
                                     inst=int(len(batch["labels"])), size=int(batch["img"].shape[-1])))
            if i == 0 and epoch == self.start_epoch and self.run is not None and cfg.plots:
                _plot_batch(batch, self.names, self.run.path / f"train_batch{epoch}.jpg")
        if pending:  # epochs are self-contained: no accumulated gradient crosses an epoch boundary
            self._optimizer_step()
        return mean

    def _train_loader(self) -> torch.utils.data.DataLoader:
        """One loader for the whole run: its workers persist, and so do their decoded-image buffers
        (the dataset's epoch lives in shared memory; the sampler reshuffles in this process)."""
        if getattr(self, "_loader", None) is None:
            workers = self.cfg.workers
            self._loader = torch.utils.data.DataLoader(
                self.train_set, batch_size=self.batch_per_rank, sampler=self.sampler, num_workers=workers,
                collate_fn=collate, pin_memory=self.device.type == "cuda", persistent_workers=workers > 0)
        return self._loader

    def _step(self, batch: dict[str, Any]) -> np.ndarray:
        imgs = batch["img"].to(self.device, non_blocking=True).contiguous(memory_format=torch.channels_last)
        with torch.autocast(self.device.type, enabled=self.amp):
            outputs = self.train_model(imgs)
        loss, items = self.loss_fn(outputs, batch)
        if self.dist.enabled:  # DDP averages gradients over ranks; the recipe's loss is a per-batch sum
            loss = loss * self.dist.world_size
        self.scaler.scale(loss).backward()
        return items.cpu().numpy()

    def _optimizer_step(self) -> None:
        self.scaler.unscale_(self.optimizer)
        if self.cfg.max_norm > 0:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), max_norm=self.cfg.max_norm)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.optimizer.zero_grad(set_to_none=True)
        if self.ema is not None:
            self.ema.update(self.model)

    def eval_model(self) -> torch.nn.Module:
        """The weights validated and saved: the EMA when on, else the live model."""
        return self.ema.ema if self.ema is not None else unwrap(self.model)

    def validate(self) -> ValMetrics:
        """Sharded validation of the EMA weights; every rank gets the merged metrics."""
        assert self.validator is not None
        autocast = torch.autocast("cuda") if self.amp else None
        gather = self.dist.gather if self.dist.enabled else None
        metrics, _ = self.validator.run(self.eval_model(), self.device, self.dist.rank, self.dist.world_size,
                                        gather=gather, autocast=autocast, progress=self.dist.is_main)
        return metrics

    # ---- saving --------------------------------------------------------------------------------
    def _save_epoch(self, epoch: int, losses: np.ndarray, improved: bool, seconds: float,
                    validated: bool = True) -> None:
        if self.run is None:
            return
        row: dict[str, Any] = {"epoch": epoch + 1}
        row.update({f"train/{n}": float(v) for n, v in zip(LOSS_NAMES, losses)})
        # epochs without validation leave the metric columns empty
        row.update({f"metrics/{k}": v if validated else "" for k, v in self.metrics.as_dict().items()})
        row["fitness"] = self.metrics.fitness if validated else ""
        row.update({f"lr/pg{j}": float(g["lr"]) for j, g in enumerate(self.optimizer.param_groups)})
        row["time"] = seconds
        # the checkpoint (which carries the row) first: a stop between the two leaves a resumable last.pt
        model, record = self.eval_model(), {**self._checkpoint_record(epoch), "results_row": row}
        save_checkpoint(self.run.last, model, extra=record)
        self.run.append_results(row)
        if improved or not self.run.best.exists():
            save_checkpoint(self.run.best, model, extra=record)
        if self.cfg.save_period > 0 and (epoch + 1) % self.cfg.save_period == 0:
            save_checkpoint(self.run.weights / f"epoch{epoch + 1}.pt", model, extra=record)

    def _checkpoint_record(self, epoch: int) -> dict[str, Any]:
        """Everything but the model (`save_checkpoint` stores the EMA / eval model: what load_model uses)."""
        return {
            "train_state_dict": unwrap(self.model).state_dict(),
            "ema_updates": self.ema.updates if self.ema is not None else None,
            "optimizer": self.optimizer.state_dict(),
            "scaler": self.scaler.state_dict() if self.amp else {},
            "epoch": epoch,
            "best_fitness": self.best_fitness,
            "best_epoch": self.best_epoch,
            "best_metrics": self.best_metrics.as_dict(),
            "metrics": self.metrics.as_dict(),
            "train_args": self.cfg.to_dict(),
            "torch_rng": torch.get_rng_state(),
            "threads_used": self.threads_used,
        }

    def _finish(self, epoch: int, seconds: float) -> dict[str, Any]:
        if self.run is not None and self.run.best.exists():
            strip_checkpoint(self.run.best)
        self.dist.barrier()
        best = self.best_metrics if self.best_epoch >= 0 else self.metrics
        if self.validator is not None and self.run_path.joinpath("weights", "best.pt").exists():
            best = self._final_validation()
        scores: dict[str, Any] = {**best.as_dict(), "fitness": best.fitness, "best_epoch": self.best_epoch + 1}
        if self.validator is None:  # val=False: nothing was measured, so no number is reported
            scores = dict.fromkeys(scores)
        result = {**scores,
                  "epochs_completed": epoch + 1, "train_seconds": round(seconds, 1), "run_dir": str(self.run_path)}
        if self.run is not None:
            self.run.write_metrics(result)
            if self.cfg.plots:
                from cocoseg.viz.training_plots import plot_results

                plot_results(self.run.results_csv, self.run.path / "results.png")
        self.dist.close()
        return result

    def _final_validation(self) -> ValMetrics:
        """The stripped best.pt validated as `cocoseg val` will see it (half-precision weights)."""
        net = load_model(self.run_path / "weights" / "best.pt").to(self.device, memory_format=torch.channels_last)
        LOGGER.info("validating best.pt (epoch %d)", self.best_epoch + 1)
        gather = self.dist.gather if self.dist.enabled else None
        metrics, records = self.validator.run(net, self.device, self.dist.rank, self.dist.world_size, gather=gather,
                                              keep_results=True, progress=self.dist.is_main)
        if gather is not None:
            records = [r for shard in gather(records) for r in shard]
        if self.run is not None:
            box, mask = self.validator.evaluations
            write_final_report(self.validator.gt, records, box, mask, self.run.path if self.cfg.plots else None)
        return metrics


def close_mosaic_epoch(epochs: int, close_mosaic: int, mosaic: float) -> int:
    """First epoch without mosaic. When `close_mosaic` would cover the whole run (the reference then
    trains without mosaic at all), mosaic is kept for the first half instead, with a warning."""
    if close_mosaic <= 0 or mosaic <= 0:
        return epochs
    if close_mosaic >= epochs:
        LOGGER.warning("close_mosaic=%d >= epochs=%d: mosaic would never run; closing it for the last %d "
                       "epochs instead (set close_mosaic explicitly to choose)", close_mosaic, epochs, epochs // 2)
        return epochs - epochs // 2
    return epochs - close_mosaic


def _device_for(requested: str, dist: DistContext) -> torch.device:
    device = select_device(requested)
    if dist.enabled and device.type == "cuda":
        return torch.device("cuda", dist.local_rank)
    return device


def _seed_everything(seed: int, deterministic: bool) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if deterministic:  # cuDNN: fixed algorithms (CPU kernels are deterministic already)
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False


def _progress(loader: Any, total: int, desc: str, enabled: bool) -> Any:
    from tqdm import tqdm

    return tqdm(loader, total=total, desc=desc, disable=not enabled, leave=True, unit="batch",
                bar_format="{l_bar}{bar:20}{r_bar}", dynamic_ncols=True)


def _plot_batch(batch: dict[str, Any], names: dict[int, str], path: Path) -> None:
    from cocoseg.viz.training_plots import plot_training_batch

    try:
        plot_training_batch(batch, names, path)
    except OSError as exc:  # a plot must never stop training
        LOGGER.warning("could not write %s: %s", path, exc)
