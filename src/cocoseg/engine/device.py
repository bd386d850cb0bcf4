"""The only place that chooses a device: cuda, then mps, then cpu; CPU thread count; half precision."""
from __future__ import annotations

import logging
import os
import time

import torch

from cocoseg.errors import CocosegError

LOGGER = logging.getLogger(__name__)


def available_cpus() -> int:
    """CPU cores this process may use: its affinity mask, capped by a cgroup CPU quota (containers)."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        n = os.cpu_count() or 1
    quota = _cgroup_cpu_quota()
    return max(1, min(n, quota)) if quota else n


def _cgroup_cpu_quota() -> int | None:
    """Whole CPUs allowed by cgroup v2 `cpu.max` or v1 `cpu.cfs_quota_us`, or None when unlimited."""
    v2 = _read("/sys/fs/cgroup/cpu.max").split()
    if v2:
        quota, period = v2[0], v2[1] if len(v2) > 1 else "100000"
    else:
        quota, period = _read("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"), _read("/sys/fs/cgroup/cpu/cpu.cfs_period_us")
    try:
        q, p = int(quota), int(period)
    except ValueError:  # "max", missing files
        return None
    return max(1, q // p) if q > 0 and p > 0 else None


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return ""


def select_device(device: str | int | torch.device | None = None) -> torch.device:
    """'auto'/None/'' -> cuda, mps or cpu (first available); also 'cpu', 'cuda', 'cuda:1', '0', 0, 'mps'."""
    if isinstance(device, torch.device):
        return device
    text = "" if device is None else str(device).strip().lower()
    if text in ("", "auto"):
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        return torch.device("mps") if mps is not None and mps.is_available() else torch.device("cpu")
    if text.isdigit():
        text = f"cuda:{text}"
    try:
        chosen = torch.device(text)
    except RuntimeError as exc:
        raise CocosegError(f"device: {device!r} is not a device (use auto, cpu, cuda, cuda:N, N or mps)") from exc
    if chosen.type == "cuda" and not torch.cuda.is_available():
        raise CocosegError(f"device: {device!r} requested but CUDA is not available here (use device=cpu)")
    if chosen.type == "cuda" and chosen.index is not None and chosen.index >= torch.cuda.device_count():
        raise CocosegError(f"device: {device!r} but only {torch.cuda.device_count()} CUDA device(s) exist")
    if chosen.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise CocosegError(f"device: {device!r} requested but MPS is not available here")
    return chosen


def default_cpu_threads() -> int:
    """All available cores, less those other processes keep busy.

    On an oversubscribed machine every extra intra-op thread waits at each barrier for a descheduled
    sibling (measured here: a 2-thread forward pass 4-7x slower than a 1-thread one on 2 shared cores).
    "Busy" is the smaller of the 1-minute load average and the CPU time used in the last 0.2 s
    (/proc/stat): the load average alone still counts a process that ended seconds ago, and picked one
    thread on an idle 2-core machine right after another run (one epoch 18.5 s instead of 9.8 s).
    """
    cores = available_cpus()
    try:
        busy = os.getloadavg()[0]
    except (AttributeError, OSError):  # Windows
        busy = 0.0
    measured = _busy_cores_now()
    if measured is not None:
        busy = min(busy, measured)
    return max(1, cores - int(busy + 0.5))


def _busy_cores_now(window: float = 0.2) -> float | None:
    """Cores' worth of CPU time all processes used over `window` seconds (Linux), or None."""
    first = _cpu_jiffies()
    if first is None:
        return None
    time.sleep(window)
    second = _cpu_jiffies()
    if second is None or second[0] <= first[0]:
        return None
    total, idle, ncpu = second[0] - first[0], second[1] - first[1], second[2]
    return ncpu * (total - idle) / total


def _cpu_jiffies() -> tuple[int, int, int] | None:
    """(total, idle + iowait, cpu count) from /proc/stat, or None where it does not exist."""
    lines = _read("/proc/stat").splitlines()
    if not lines or not lines[0].startswith("cpu "):
        return None
    values = [int(v) for v in lines[0].split()[1:9]]
    ncpu = sum(1 for line in lines if line.startswith("cpu") and line[3:4].isdigit())
    return sum(values), values[3] + values[4], max(ncpu, 1)


def set_cpu_threads(threads: int | None = None) -> int:
    """Set torch's intra-op threads to `threads`, or `default_cpu_threads()`; returns the count."""
    n = threads or default_cpu_threads()
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return n


def training_threads(threads: int, world: int, device: torch.device) -> int:
    """The CPU thread count a run asks for (0 off the CPU): `threads`, or for 0 the cores other processes
    leave idle (an oversubscribed 2-thread run is several times slower than a 1-thread one), shared among
    the ranks of this machine."""
    if device.type != "cpu":
        return 0
    return threads if threads > 0 else max(default_cpu_threads() // world, 1)


def threads_in_use(wanted: int, device: torch.device) -> int:
    """torch's thread count as the run starts (what the checkpoint records), with a warning when it is not
    the count the run asks for: the library never sets it."""
    if device.type != "cpu":
        return 0
    n = torch.get_num_threads()
    if n != wanted:
        LOGGER.warning("training on %d CPU threads, not the %d this run asks for: torch's thread count is the "
                       "application's to set (call cocoseg.engine.device.set_cpu_threads(trainer.threads) "
                       "before train(), as `cocoseg train` does)", n, wanted)
    LOGGER.info("CPU threads: %d", n)
    return n


def resolve_half(half: bool, device: torch.device) -> bool:
    """Half precision only where it is fast and supported: CUDA. Elsewhere float32."""
    return bool(half) and device.type == "cuda"
