"""`challenge` subsets and `merge`."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.conftest import shared_path
from tests.curate._data import CATS, ann

from cocoseg.cli.main import main
from cocoseg.curate.challenge import challenge_subset, image_shares
from cocoseg.curate.suite import SliceSpec
from cocoseg.io import CocoDataset


def _gt() -> CocoDataset:
    images = [{"id": i, "file_name": f"{i}.png", "width": 200, "height": 200} for i in (1, 2, 3)]
    anns = [ann(1, 1, 1, [0, 0, 10, 10]), ann(2, 1, 1, [50, 50, 100, 100]),  # image 1: 1 of 2 small
            ann(3, 2, 1, [0, 0, 5, 5]), ann(4, 2, 2, [20, 20, 6, 6]),  # image 2: all small
            ann(5, 3, 1, [0, 0, 120, 120])]  # image 3: none small
    return CocoDataset.from_dict({"images": images, "annotations": anns, "categories": CATS})


def test_shares_and_subset() -> None:
    gt = _gt()
    small = SliceSpec("small", {"size": "small"})
    assert image_shares(gt, small) == {1: (1, 2), 2: (2, 2), 3: (0, 1)}
    sub = challenge_subset(gt, small)
    assert [im["id"] for im in sub.images] == [2, 1]  # most dominated first
    assert sorted(a["id"] for a in sub.annotations) == [1, 2, 3, 4]  # whole images kept
    assert sub.info["challenge"]["slice"] == "small" and sub.info["challenge"]["of"] == 3
    assert [im["id"] for im in challenge_subset(gt, small, min_share=0.9).images] == [2]
    assert [im["id"] for im in challenge_subset(gt, SliceSpec("c", {"crowded": True, "crowded_min": 2})).images] == [1, 2]


def test_challenge_and_merge_cli(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    gt = _gt()
    gt.save(tmp_path / "gt.json")
    assert main(["challenge", str(tmp_path / "gt.json"), "--slice", "small", "-o", str(tmp_path / "hard.json")]) == 0
    assert len(json.loads((tmp_path / "hard.json").read_text())["images"]) == 2
    assert main(["challenge", str(tmp_path / "gt.json"), "--slice", "tiny", "-o", str(tmp_path / "x.json")]) == 1
    assert "not a built-in slice" in capsys.readouterr().err
    suite = tmp_path / "s.yaml"
    suite.write_text("slices:\n  - {name: tiny, where: {area: [0, 30]}}\n")
    assert main(["challenge", str(tmp_path / "gt.json"), "--slice", "tiny", "--suite", str(suite),
                 "-o", str(tmp_path / "t.json")]) == 0
    assert [im["id"] for im in json.loads((tmp_path / "t.json").read_text())["images"]] == [2]
    assert main(["merge", str(tmp_path / "gt.json"), str(tmp_path / "hard.json"), "-o", str(tmp_path / "m.json")]) == 0
    merged = json.loads((tmp_path / "m.json").read_text())
    assert len(merged["images"]) == 5 and len({im["id"] for im in merged["images"]}) == 5
    assert len(merged["annotations"]) == 9 and len(merged["categories"]) == 3
    assert main(["merge", str(tmp_path / "gt.json"), "-o", str(tmp_path / "m.json")]) == 2
    assert main(["merge", str(tmp_path / "gt.json"), str(tmp_path / "nope.json"), "-o", str(tmp_path / "m.json")]) == 1


def test_real_coco_subset_challenge() -> None:
    gt = CocoDataset.load(shared_path("data", "coco-mini-val2017", "annotations", "instances_val2017.json"))
    sub = challenge_subset(gt, SliceSpec("occluded", {"occluded": True}))
    assert 0 < len(sub.images) < len(gt.images)
