"""`--help` says what every option does (issue 14 item 23); the demo shows the values it uses."""
from __future__ import annotations

import re

import pytest

from cocoseg.cli.main import build_parser
from cocoseg.cli.train_help import TRAIN_HELP
from cocoseg.engine.config import TrainConfig


def _help(command: str) -> str:
    parser, _ = build_parser()
    return parser._subparsers._group_actions[0].choices[command].format_help()  # type: ignore[union-attr]


def test_every_training_key_has_a_description() -> None:
    assert set(TRAIN_HELP) == set(TrainConfig.keys())
    parser, _ = build_parser()
    train = parser._subparsers._group_actions[0].choices["train"]  # type: ignore[union-attr]
    for action in train._actions:
        if action.dest != "help":
            assert not action.help.startswith("(default"), action.dest  # a description before the default


@pytest.mark.parametrize("command", ["validate", "stats", "convert", "eval", "predict", "val", "export", "train",
                                     "demo", "synth", "download", "info", "rank", "audit"])
def test_every_option_of_every_command_says_what_it_does(command: str) -> None:
    parser, _ = build_parser()
    sub = parser._subparsers._group_actions[0].choices[command]  # type: ignore[union-attr]
    for action in sub._actions:
        assert action.help and not action.help.startswith("(default"), f"{command} {action.dest}"


def test_demo_help_shows_the_demo_values() -> None:
    text = re.sub(r"\s+", " ", _help("demo"))
    assert "--epochs INT passes over the train split (default: 15)" in text
    assert "--imgsz INT square input size in pixels, a multiple of 32 (default: 192)" in text
    assert "(default: 100)" not in text.split("--epochs")[1].split("--imgsz")[0]
    assert "(default: 640)" not in text
