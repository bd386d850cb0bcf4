"""The training config and the dataset's augmentation config agree on the reference defaults."""
from __future__ import annotations

import dataclasses

from cocoseg.data import AugmentConfig
from cocoseg.engine.config import TrainConfig


def test_augmentation_defaults_agree() -> None:
    train = {f.name: f.default for f in dataclasses.fields(TrainConfig)}
    for field in dataclasses.fields(AugmentConfig):
        assert train[field.name] == field.default, field.name
