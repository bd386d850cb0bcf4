"""pycocotools' `Params`: the evaluation settings callers mutate in place."""
from __future__ import annotations

import numpy as np

from cocoseg.eval.params import COCO_KEYPOINT_SIGMAS


def _thresholds() -> tuple[np.ndarray, np.ndarray]:
    # by linspace, as pycocotools (np.arange gives 0.55000000000000004-style values)
    iou = np.linspace(.5, 0.95, int(np.round((0.95 - .5) / .05)) + 1, endpoint=True)
    rec = np.linspace(.0, 1.00, int(np.round((1.00 - .0) / .01)) + 1, endpoint=True)
    return iou, rec


class Params:
    """Evaluation parameters with pycocotools' names, types and defaults for `iouType`."""

    def setDetParams(self) -> None:  # noqa: N802 - pycocotools' names
        """Defaults for bbox and segm."""
        self.imgIds: list = []
        self.catIds: list = []
        self.iouThrs, self.recThrs = _thresholds()
        self.maxDets = [1, 10, 100]
        self.areaRng = [[0 ** 2, 1e5 ** 2], [0 ** 2, 32 ** 2], [32 ** 2, 96 ** 2], [96 ** 2, 1e5 ** 2]]
        self.areaRngLbl = ["all", "small", "medium", "large"]
        self.useCats = 1

    def setKpParams(self) -> None:  # noqa: N802
        """Defaults for keypoints (COCO's 17 OKS sigmas)."""
        self.imgIds = []
        self.catIds = []
        self.iouThrs, self.recThrs = _thresholds()
        self.maxDets = [20]
        self.areaRng = [[0 ** 2, 1e5 ** 2], [32 ** 2, 96 ** 2], [96 ** 2, 1e5 ** 2]]
        self.areaRngLbl = ["all", "medium", "large"]
        self.useCats = 1
        self.kpt_oks_sigmas = np.array(COCO_KEYPOINT_SIGMAS)

    def __init__(self, iouType: str = "segm") -> None:  # noqa: N803
        if iouType in ("segm", "bbox"):
            self.setDetParams()
        elif iouType == "keypoints":
            self.setKpParams()
        else:
            raise Exception("iouType not supported")  # pycocotools raises a bare Exception
        self.iouType = iouType
        self.useSegm = None  # deprecated: 1 -> segm, 0 -> bbox
