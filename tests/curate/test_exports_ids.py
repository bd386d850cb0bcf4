"""The pre-label id rule and file names under one images root."""
from __future__ import annotations

from pathlib import Path

import pytest

from cocoseg.curate.exports_ids import image_ids_from_files, names_under_root


def test_integer_stems_become_ids() -> None:
    ids, mapping = image_ids_from_files(["val/000000005001.jpg", "val/000000000139.jpg"])
    assert ids == [5001, 139] and mapping == {}


def test_other_names_get_free_ids_in_file_order() -> None:
    files = ["a/cat.jpg", "a/2.jpg", "a/dog.png", "b/002.jpg", "a/1.jpg"]
    ids, mapping = image_ids_from_files(files)
    # 2 and 1 are stems; 002 repeats 2, so it and the named files take the free ids 3, 4, 5 in order
    assert ids == [3, 2, 4, 5, 1] and mapping == {"a/cat.jpg": 3, "a/dog.png": 4, "b/002.jpg": 5}
    assert image_ids_from_files(files) == (ids, mapping)  # stable


def test_names_never_climb(tmp_path: Path) -> None:
    (tmp_path / "x" / "a").mkdir(parents=True)
    (tmp_path / "x" / "b").mkdir()
    files = [str(tmp_path / "x/a/1.jpg"), str(tmp_path / "x/b/2.jpg")]
    root, names = names_under_root(files)
    assert root == (tmp_path / "x").resolve() and names == ["a/1.jpg", "b/2.jpg"]
    assert names_under_root([str(tmp_path / "x/a/1.jpg")])[1] == ["1.jpg"]
    with pytest.raises(ValueError, match="not under the images root"):
        names_under_root(files, root=tmp_path / "x" / "a")
