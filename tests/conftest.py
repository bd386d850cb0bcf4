"""Shared fixtures: the read-only ../shared data (skipped with a reason when absent), one torch thread per test."""
from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
os.environ.setdefault("COCOSEG_OFFLINE", "1")  # no network in tests: released weights are never downloaded


def shared_path(*parts: str) -> Path:
    """A path under ../shared, or skip the calling test with a reason when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent (the ../shared data is only beside the project in CI and dev)")
    return path


@pytest.fixture
def shared() -> Path:
    """The ../shared folder, or skip."""
    return shared_path()


@pytest.fixture(autouse=True)
def _one_torch_thread() -> Iterator[None]:
    """Tests run two at a time (xdist) on two cores: torch's own threads would only fight each other."""
    torch = sys.modules.get("torch")
    if torch is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


# the real COCO subsets in ../shared/data (skipped when absent)
@pytest.fixture
def coco128(shared: Path) -> Path:
    """../shared/data/coco128-seg: COCO JSON and Ultralytics YOLO-seg labels of the same 128 images."""
    return shared / "data" / "coco128-seg"


@pytest.fixture
def coco_mini(shared: Path) -> Path:
    """../shared/data/coco-mini-val2017: 79 val2017 images with their instances JSON."""
    return shared / "data" / "coco-mini-val2017"


@pytest.fixture
def coco8(shared: Path) -> Path:
    """../shared/data/coco8: 8 images with YOLO box labels and coco8.yaml."""
    return shared / "data" / "coco8"


FIXTURES = ROOT / "tests" / "fixtures"
_FAKE100_FILES = {  # vendored name -> the path under ../shared/data/cocoapi-val2014-fake100
    "gt.json.gz": "annotations/instances_val2014_100.json",
    "bbox.json.gz": "results/instances_val2014_fakebbox100_results.json",
    "segm.json.gz": "results/instances_val2014_fakesegm100_results.json",
}


@pytest.fixture(scope="session")
def fake100(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """cocoapi's fake100 (GT + bbox/segm results) in ../shared's layout: ../shared's copy when present, else the
    vendored tests/fixtures/fake100 copy unpacked, so a plain clone still checks pycocotools' numbers."""
    source = SHARED / "data" / "cocoapi-val2014-fake100"
    if source.is_dir():
        return source
    import gzip

    root = tmp_path_factory.mktemp("fake100")
    for name, rel in _FAKE100_FILES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(gzip.decompress((FIXTURES / "fake100" / name).read_bytes()))
    return root


@pytest.fixture(params=["native", "numba"])
def scan_core(request, monkeypatch) -> str:
    """Run a results-reading test with the compiled core (when built) and with the numba fallback."""
    from cocoseg.io import results_json
    from cocoseg.masks import packed_rle

    if request.param == "numba":
        monkeypatch.setattr(results_json, "NATIVE", None)
        monkeypatch.setattr(packed_rle, "NATIVE", None)
    elif results_json.NATIVE is None:
        pytest.skip("the compiled core is not built here")
    return request.param
