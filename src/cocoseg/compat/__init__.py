"""A pycocotools drop-in on cocoseg's engine: `COCO`, `COCOeval`, `Params`, `mask`.

    from cocoseg.compat import COCO, COCOeval       # instead of pycocotools.coco / .cocoeval
    import cocoseg.compat; cocoseg.compat.init_as_pycocotools()   # or: every `import pycocotools` gets these

Same API, same numbers (every array), same printed lines and the same exception types as
pycocotools 2.0.11; numpy only. The departures, all listed, are in docs/pycocotools_departures.md.
"""
from __future__ import annotations

import sys

from cocoseg.compat import mask
from cocoseg.compat.coco import COCO
from cocoseg.compat.cocoeval import COCOeval, Params

__all__ = ["COCO", "COCOeval", "Params", "init_as_pycocotools", "mask"]

_cocoseg_compat = True  # marks these modules as the drop-in (see _reference)
_MODULES = ("pycocotools", "pycocotools.coco", "pycocotools.cocoeval", "pycocotools.mask")


def init_as_pycocotools() -> None:
    """Make `import pycocotools`, `.coco`, `.cocoeval` and `.mask` give cocoseg's drop-in for this process.

    `pycocotools._mask` stays pycocotools' C codec (the drop-in's mask module runs on it).
    """
    from cocoseg.compat import _reference, coco, cocoeval

    for name in (*_MODULES, "pycocotools._mask"):
        _reference.keep(name)
    package = sys.modules[__name__]
    package._mask = _reference.real("pycocotools._mask")  # type: ignore[attr-defined]
    package.coco, package.cocoeval = coco, cocoeval  # type: ignore[attr-defined]
    for module in (coco, cocoeval, mask):
        module._cocoseg_compat = True  # type: ignore[attr-defined]
    sys.modules.update({"pycocotools": package, "pycocotools.coco": coco, "pycocotools.cocoeval": cocoeval,
                        "pycocotools.mask": mask})
