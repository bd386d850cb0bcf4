"""`cocoseg train data=... model=... epochs=... imgsz=...`: train YOLOv8-seg (also under torchrun)."""
from __future__ import annotations

import argparse
import json
import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cocoseg.engine.config import TrainConfig
    from cocoseg.engine.trainer import Trainer

HELP = "train a YOLOv8-seg model on a dataset YAML (every hyperparameter as key=value)"


def add_config_options(parser: argparse.ArgumentParser, shown: dict[str, str] | None = None) -> None:
    """One `--key` per TrainConfig field; only the keys given on the command line override defaults.
    `shown`: the values a command uses instead of TrainConfig's defaults (the demo's), for `--help`."""
    from cocoseg.cli.train_help import TRAIN_HELP
    from cocoseg.engine.config import TrainConfig

    shown = shown or {}
    for key, kind, default in TrainConfig.options():
        value = shown.get(key, default)
        text = f"{TRAIN_HELP.get(key, '')} (default: {value if key in shown else repr(value)})".lstrip()
        if kind is bool:
            parser.add_argument(f"--{key}", nargs="?", const="True", default=None, metavar="BOOL", help=text)
        else:
            parser.add_argument(f"--{key}", default=None, metavar=kind.__name__.upper(), help=text)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `cocoseg train`."""
    add_config_options(parser)


def overrides(args: argparse.Namespace) -> dict[str, str]:
    """The TrainConfig keys given explicitly."""
    from cocoseg.engine.config import TrainConfig

    return {k: getattr(args, k) for k in TrainConfig.keys() if getattr(args, k, None) is not None}


def config_from(settings: dict[str, str]) -> TrainConfig:
    """The TrainConfig of command-line settings; a value that does not parse or cannot work is a usage
    mistake (exit 2): nothing has been read yet."""
    from cocoseg.engine.config import TrainConfig
    from cocoseg.errors import CocosegError, UsageError

    try:
        return TrainConfig.from_overrides(settings)
    except CocosegError as exc:
        raise UsageError(str(exc)) from None


def start_trainer(cfg: TrainConfig) -> Trainer:
    """A Trainer with the process-wide settings the library leaves to the application: rank-0 logging
    (other ranks report only problems) and torch's CPU thread count (the run's, or the resumed run's)."""
    from cocoseg.engine.device import set_cpu_threads
    from cocoseg.engine.distributed import DistContext
    from cocoseg.engine.trainer import Trainer

    if not DistContext.from_env().is_main:
        logging.getLogger("cocoseg").setLevel(logging.WARNING)
    trainer = Trainer(cfg)
    if trainer.threads:
        set_cpu_threads(trainer.threads)
    return trainer


def run(args: argparse.Namespace) -> int:
    """Train; prints the final metrics as one JSON line (rank 0 only under torchrun)."""
    cfg = config_from(overrides(args))
    if not cfg.data and not cfg.resume:
        from cocoseg.errors import CocosegError

        raise CocosegError("train: data=path/to/data.yaml is required")
    trainer = start_trainer(cfg)
    result = trainer.train()
    if trainer.dist.is_main:
        print(json.dumps(result))
    return 0
