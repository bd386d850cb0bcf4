"""Checks before training starts: runs too short for their warmup or for BatchNorm statistics
(`short_run_warnings`), and the images of every split (`check_images`: missing or unreadable files,
checked in parallel, the verdict cached beside the labels)."""
from __future__ import annotations

import logging

from cocoseg.models.blocks import BN_MOMENTUM

LOGGER = logging.getLogger(__name__)

# BatchNorm running statistics keep (1 - momentum)^n of their initial values after n training iterations:
# below this many they are still mostly the initialisation's, and validation (eval mode) suffers
MIN_BN_ITERATIONS = 100


def short_run_warnings(epochs: int, iters_per_epoch: int, warmup_iters: int, warmup_epochs: float) -> list[str]:
    """What makes a short run look broken, each with what to change ([] when nothing)."""
    total = epochs * iters_per_epoch
    out = []
    if warmup_iters and warmup_iters >= 0.5 * total:
        share = min(warmup_iters / max(total, 1), 1.0)
        out.append(f"warmup covers {share:.0%} of the run ({warmup_iters} warmup iterations, at least 100, of "
                   f"{total}): the learning rate stays near zero; set warmup_epochs=0 for a short fine-tune "
                   f"(now {warmup_epochs:g}) or train more epochs")
    if total < MIN_BN_ITERATIONS:
        left = (1 - BN_MOMENTUM) ** total
        out.append(f"only {total} training iterations: BatchNorm running statistics (momentum {BN_MOMENTUM}) still "
                   f"hold {left:.0%} of their initial values, so validation lags the weights; train at least "
                   f"{MIN_BN_ITERATIONS} iterations (more epochs, or a smaller batch)")
    return out
