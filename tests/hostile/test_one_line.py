"""Issue 16 items 5 and 10: failures that were tracebacks or vague are one clear line naming the file."""
from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from cocoseg.errors import CocosegError, DataError
from cocoseg.io import jsonio
from cocoseg.io.jsonio import read_json


def test_whitespace_only_file(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_text(" " * 10_000 + "\n\t")
    with pytest.raises(DataError, match="only whitespace"):
        read_json(path)


def test_utf16_without_bom(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_bytes(json.dumps({"images": []}).encode("utf-16-le"))
    with pytest.raises(DataError, match="looks like UTF-16"):
        read_json(path)


def test_gzip_bomb_is_read_with_a_limit(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(jsonio, "MAX_GZIP_CHARS", 1000)
    path = tmp_path / "a.json.gz"
    path.write_bytes(gzip.compress(b"[" + b"0," * 100_000 + b"0]"))
    with pytest.raises(DataError, match="decompresses to more than 1,000 characters"):
        read_json(path)


def test_small_gzip_still_reads(tmp_path: Path) -> None:
    path = tmp_path / "a.json.gz"
    path.write_bytes(gzip.compress(b"[1, 2]"))
    assert read_json(path) == [1, 2]


def test_unknown_synth_key(tmp_path: Path) -> None:
    from cocoseg.datasets import ensure_dataset, load_data_yaml

    path = tmp_path / "s.yaml"
    path.write_text(f"path: {tmp_path / 'ds'}\ntrain: images/train\nval: images/val\nnames: [a]\n"
                    "synth: {num_images: 2, bogus_key: 3}\n")
    with pytest.raises(DataError, match="s.yaml: synth: .*bogus_key"):
        ensure_dataset(load_data_yaml(path))


@pytest.mark.parametrize("body", ["nc: 1000000000\n", "nc: -3\n", "nc: eighty\n",
                                  "names: [[x, x], [x]]\n",
                                  "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                                  "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                                  "names: [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n"])
def test_class_count_and_names_are_bounded(tmp_path: Path, body: str) -> None:
    """Issue 16.5: `nc: 1000000000` (40 s, 2.8 GB) and a YAML alias bomb in `names` are refused at once."""
    import time

    from cocoseg.datasets import load_data_yaml

    path = tmp_path / "d.yaml"
    path.write_text("path: .\ntrain: a\nval: a\n" + body)
    start = time.perf_counter()
    with pytest.raises(CocosegError, match="nc|names"):
        load_data_yaml(path)
    assert time.perf_counter() - start < 5.0
