"""Published pycocotools numbers on real COCO data, checked without pycocotools at run time."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cocoseg.eval import evaluate

# ../shared/data/cocoapi-val2014-fake100/SOURCE.txt (pycocotools 2.0.11, default parameters)
FAKE100 = {
    "bbox": [0.5045806987249628, 0.6969727247299577, 0.5729816669904824, 0.5856257209410443, 0.5193996948036719,
             0.5013978986347466, 0.38681277964578054, 0.5936795762842003, 0.595352982877607, 0.6398109626113442,
             0.5664205978994309, 0.5642905982905982],
    "segm": [0.3195452758576433, 0.5622883972521636, 0.29892653412086784, 0.3873740315997837, 0.31018272403369485,
             0.3269339071005138, 0.2682297225711534, 0.41544868114906375, 0.4168394992198818, 0.4694498622754236,
             0.37675922666197265, 0.3814715099715099],
}
# ../shared/data/fce-eval-fixtures/SOURCE.txt
KEYPOINTS = [0.5048844884488449, 0.7227722772277227, 0.6336633663366337, 0.46633663366336636, 0.7504950495049505,
             0.5181818181818182, 0.7272727272727273, 0.6363636363636364, 0.4666666666666666, 0.75]


@pytest.mark.parametrize("iou_type", ["bbox", "segm"])
def test_cocoapi_fake_results(iou_type: str, fake100: Path) -> None:
    root = fake100
    result = evaluate(root / "annotations" / "instances_val2014_100.json",
                      root / "results" / f"instances_val2014_fake{iou_type}100_results.json", iou_type)
    np.testing.assert_allclose(result.stats, FAKE100[iou_type], rtol=0, atol=1e-12)
    assert result.ap == pytest.approx(FAKE100[iou_type][0], abs=1e-12)
    assert result.ar100 == pytest.approx(FAKE100[iou_type][8], abs=1e-12)
    assert result.summary().splitlines()[0] == (
        " Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = "
        + f"{FAKE100[iou_type][0]:0.3f}")


def test_keypoints_fixture(shared: Path) -> None:
    root = shared / "data" / "fce-eval-fixtures" / "keypoints_val2017_139099"
    result = evaluate(root / "gt.json", root / "dt.json", "keypoints")
    np.testing.assert_allclose(result.stats, KEYPOINTS, rtol=0, atol=1e-12)
    assert [i.name for i in result.items] == ["ap", "ap50", "ap75", "ap_medium", "ap_large",
                                              "ar", "ar50", "ar75", "ar_medium", "ar_large"]
    assert "maxDets= 20" in result.summary().splitlines()[0]
