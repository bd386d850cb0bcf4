"""The vendored fake100 copy (tests/fixtures/fake100): cocoseg gives the stats pycocotools gave on it."""
from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from cocoseg.eval import evaluate

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "fake100"


@pytest.mark.parametrize("iou_type", ["bbox", "segm"])
def test_evaluate_on_the_vendored_gz_files_gives_pycocotools_stats(iou_type: str) -> None:
    meta = json.loads((FIXTURES / "stats.json").read_text(encoding="utf-8"))
    result = evaluate(FIXTURES / "gt.json.gz", FIXTURES / f"{iou_type}.json.gz", iou_type)
    np.testing.assert_allclose(result.stats, meta["stats"][iou_type], rtol=0, atol=1e-12)


def test_the_vendored_copy_is_byte_equal_to_shared_where_present(shared: Path) -> None:
    root = shared / "data" / "cocoapi-val2014-fake100"
    pairs = {"gt": "annotations/instances_val2014_100.json", "bbox": "results/instances_val2014_fakebbox100_results.json",
             "segm": "results/instances_val2014_fakesegm100_results.json"}
    for name, rel in pairs.items():
        assert gzip.decompress((FIXTURES / f"{name}.json.gz").read_bytes()) == (root / rel).read_bytes()
