"""The reference's command-line habits (issue 14 items 14-16): task word, task=/mode=, list values,
bare booleans, suggestions that name a command or an option users confuse."""
from __future__ import annotations

import argparse

import pytest

from cocoseg.cli.args import ArgumentParser, IntList, add_bool, int_values
from cocoseg.cli.main import build_parser, main, reference_form
from cocoseg.errors import UsageError
from cocoseg.values import closest_key, parse_int_list


def _parsers() -> dict[str, ArgumentParser]:
    parser, _ = build_parser()
    return parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]


@pytest.mark.parametrize("argv,expected", [
    (["segment", "train", "data=x.yaml"], ["train", "data=x.yaml"]),
    (["task=segment", "mode=train", "data=x.yaml"], ["train", "data=x.yaml"]),
    (["train", "task=segment", "mode=train", "epochs=1"], ["train", "epochs=1"]),
    (["mode=val", "model=m.pt"], ["val", "model=m.pt"]),
    (["convert", "a.json", "o", "task=detect"], ["convert", "a.json", "o", "task=detect"]),  # convert's own task
])
def test_reference_grammar_is_rewritten_to_commands(argv: list[str], expected: list[str]) -> None:
    assert reference_form(argv, _parsers()) == expected


@pytest.mark.parametrize("argv,needle", [
    (["detect", "train"], "instance segmentation only"),
    (["train", "task=pose"], "instance segmentation only"),
    (["mode=track"], "mode 'track' is not available"),
    (["train", "mode=val"], "contradicts"),
])
def test_other_tasks_and_modes_are_refused(argv: list[str], needle: str) -> None:
    with pytest.raises(UsageError, match=needle):
        reference_form(argv, _parsers())


def test_segment_train_reaches_train_and_names_the_data(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    # before: "unknown key 'data'; valid keys: help, verbose, version"
    assert main(["segment", "train", f"data={tmp_path / 'absent.yaml'}", "epochs=1"]) == 1
    err = capsys.readouterr().err
    assert "absent.yaml" in err and "unknown key" not in err


def test_a_mistyped_command_gets_the_closest_one(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["trian", "data=x"]) == 2
    assert "unknown command 'trian'; did you mean 'train'?" in capsys.readouterr().err
    assert main(["data=x"]) == 2
    assert "no command before 'data=x'" in capsys.readouterr().err


@pytest.mark.parametrize("text,expected", [
    ("640", [640]), ("640,480", [640, 480]), ("[480,640]", [480, 640]), ("(480, 640)", [480, 640]),
    ("0,2", [0, 2]), ("[0, 2]", [0, 2]), ("480 640", [480, 640]),
])
def test_list_spellings_parse(text: str, expected: list[int]) -> None:
    assert parse_int_list(text) == expected


@pytest.mark.parametrize("bad", ["abc", "640,x", "[]", "1.5"])
def test_bad_lists_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_int_list(bad)


@pytest.mark.parametrize("tokens,expected", [
    (["imgsz=640,480"], [640, 480]), (["imgsz=[480,640]"], [480, 640]), (["--imgsz", "480", "640"], [480, 640]),
    (["--imgsz", "[480,640]"], [480, 640]), (["imgsz=320"], [320]),
])
def test_predict_parser_reads_every_spelling(tokens: list[str], expected: list[int]) -> None:
    args = _parsers()["predict"].parse_args(["model=m.pt", "source=a.jpg", *tokens, "classes=0,2"])
    assert args.imgsz == expected and args.classes == [0, 2] and args.source == ["a.jpg"]
    assert _parsers()["predict"].parse_args(["model=m.pt", "source=a.jpg", "classes=[0,2]"]).classes == [0, 2]


def test_a_bare_boolean_word_is_true_not_a_source() -> None:
    args = _parsers()["predict"].parse_args(["model=m.pt", "source=a.jpg", "save"])
    assert args.save is True and args.source == ["a.jpg"]


def test_flags_and_bare_words_in_a_small_parser() -> None:
    parser = ArgumentParser(prog="t")
    parser.add_argument("--json", action="store_true")
    add_bool(parser, "half", False, "float16")
    parser.add_argument("--imgsz", type=int_values, action=IntList, nargs="+", default=[640])
    assert parser.parse_args(["json=True", "half"]).json is True
    ns = parser.parse_args(["json=False", "imgsz=[1,2]"])
    assert ns.json is False and ns.half is False and ns.imgsz == [1, 2]
    assert isinstance(ns, argparse.Namespace)


@pytest.mark.parametrize("key,expected", [
    ("save_txt", None), ("save_conf", None), ("save_crop", None), ("show_labels", None),  # other options
    ("epoch", "epochs"), ("maxdet", "max_det"), ("batch_size", "batch"), ("iou_thres", "iou"), ("imgsize", "imgsz"),
])
def test_suggestions_are_typos_or_known_confusions(key: str, expected: str | None) -> None:
    valid = ["save", "save_coco", "conf", "iou", "max_det", "epochs", "imgsz", "batch", "show", "project"]
    assert closest_key(key, valid) == expected


def test_an_unknown_predict_key_is_not_called_a_typo_of_save(capsys: pytest.CaptureFixture[str]) -> None:
    parser = ArgumentParser(prog="t")
    add_bool(parser, "save", False, "save drawings")
    with pytest.raises(SystemExit) as exc:
        parser.parse_args(["save_txt=True"])
    assert exc.value.code == 2 and "did you mean 'save'" not in capsys.readouterr().err
