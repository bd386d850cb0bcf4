"""torchrun support: process group, DDP wrapping, and the all-gather the validator merges states with.

`torchrun --nproc_per_node=N -m cocoseg train ...` sets RANK, LOCAL_RANK and WORLD_SIZE; every process
runs the same trainer on its shard of each batch (DistributedSampler), gradients are averaged by DDP,
and only rank 0 logs and writes files. Backend: nccl on CUDA, gloo on CPU.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from cocoseg.errors import CocosegError


@dataclass(frozen=True)
class DistContext:
    """This process's place in the job (rank 0 of 1 when not launched by torchrun)."""

    rank: int = 0
    local_rank: int = 0
    world_size: int = 1

    @classmethod
    def from_env(cls) -> DistContext:
        """Read RANK / LOCAL_RANK / WORLD_SIZE as torchrun sets them."""
        world = int(os.environ.get("WORLD_SIZE", "1"))
        if world <= 1:
            return cls()
        return cls(int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0")), world)

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def init(self, device: torch.device, timeout_s: float | None = None, backend: str | None = None) -> None:
        """Join the process group (no-op for a single process or when already joined).

        `backend` defaults to nccl on CUDA, gloo on CPU; `timeout_s` bounds every collective.
        """
        if not self.enabled or dist.is_initialized():
            return
        backend = backend or ("nccl" if device.type == "cuda" else "gloo")
        if device.type == "cuda":
            torch.cuda.set_device(device)
        extra = {"timeout": timedelta(seconds=timeout_s)} if timeout_s else {}
        dist.init_process_group(backend=backend, rank=self.rank, world_size=self.world_size, **extra)

    def agree(self, error: str | None, timeout_s: float) -> None:
        """Wait (at most `timeout_s`) for every rank to finish; a CocosegError naming failed or missing ranks.

        Each rank passes its own failure (None when it succeeded). A rank that died or hangs is named
        by gloo's monitored barrier after the timeout instead of blocking the others for ever.
        """
        if not self.enabled:
            if error:
                raise CocosegError(error)
            return
        try:
            dist.monitored_barrier(timeout=timedelta(seconds=timeout_s), wait_all_ranks=True)
            errors = self.gather(error)
        except RuntimeError as exc:  # gloo reports the ranks that did not arrive
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise CocosegError(f"rank {self.rank}: the other ranks did not all finish within {timeout_s:g} s "
                               f"({first}); see the missing rank's log, then rerun with resume=True") from None
        failed = [f"rank {r}: {e}" for r, e in enumerate(errors) if e]
        if failed:
            raise CocosegError("; ".join(failed))

    def wrap(self, model: nn.Module, device: torch.device) -> nn.Module:
        """DDP around the model when distributed, else the model itself."""
        if not self.enabled:
            return model
        ids = [device.index] if device.type == "cuda" else None
        return nn.parallel.DistributedDataParallel(model, device_ids=ids)

    def gather(self, obj: Any) -> list[Any]:
        """Every process's `obj`, in rank order, on every process."""
        if not self.enabled:
            return [obj]
        out: list[Any] = [None] * self.world_size
        dist.all_gather_object(out, obj)
        return out

    def broadcast(self, obj: Any) -> Any:
        """Rank 0's `obj` on every process."""
        if not self.enabled:
            return obj
        box = [obj]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def sync_state(self, module: nn.Module) -> None:
        """Copy rank 0's parameters and buffers into every process's `module` (in place).

        DDP keeps parameters equal, but BatchNorm statistics (and an EMA fed from them) drift apart
        with each rank's local batches; syncing before validation makes every rank evaluate, and
        rank 0 save, the same weights.
        """
        if not self.enabled:
            return
        with torch.no_grad():
            for tensor in module.state_dict().values():
                dist.broadcast(tensor, src=0)

    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()

    def close(self) -> None:
        if self.enabled and dist.is_initialized():
            dist.destroy_process_group()
