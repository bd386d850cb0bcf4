"""YOLO label reading: malformed lines, clipping per object, mixed box/polygon lines, header sizes."""
from __future__ import annotations

import struct
from pathlib import Path

import cv2
import numpy as np
import pytest

from cocoseg import masks
from cocoseg.convert import ConvertReport, load_split
from cocoseg.convert.polygons import split_cuts, unbridge
from cocoseg.convert.yolo_labels import parse_label_text, polygon_line, quantize
from cocoseg.datasets import image_size, load_data_yaml
from cocoseg.errors import DataError
from cocoseg.masks.polygons import clip_polygon


def _dataset(tmp: Path, labels: dict[str, str], size: tuple[int, int] = (40, 30), names=("a", "b")) -> Path:
    """A YOLO dataset with PNG images of `size` (w, h) and the given label texts."""
    w, h = size
    for stem, text in labels.items():
        (tmp / "images" / "train").mkdir(parents=True, exist_ok=True)
        (tmp / "labels" / "train").mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(tmp / "images" / "train" / f"{stem}.png"), np.zeros((h, w, 3), np.uint8))
        (tmp / "labels" / "train" / f"{stem}.txt").write_text(text)
    (tmp / "data.yaml").write_text(f"path: .\ntrain: images/train\nval: images/train\nnames: {list(names)}\n")
    return tmp / "data.yaml"


def test_malformed_lines_are_reported_with_file_and_line(tmp_path: Path) -> None:
    yaml_file = _dataset(tmp_path, {"img1": "0 0.1 0.1 0.5 0.1 0.5 0.5\n1 0.2 x 0.3 0.3\n",
                                     "img2": "\n0 0.1 0.1 0.2\n7 0.1 0.1 0.2 0.2\n0.5 0.1 0.1 0.2 0.2\n"})
    with pytest.raises(DataError) as err:
        load_split(load_data_yaml(yaml_file), "train")
    text = str(err.value)
    assert "img1.txt: line 2: 'x' is not a number" in text
    assert "img2.txt: line 2: has 3 coordinates" in text
    assert "img2.txt: line 3: class 7 is out of range: the dataset has 2 classes" in text
    assert "img2.txt: line 4: class '0.5' is not a non-negative integer" in text
    report = ConvertReport()
    ds, _ = load_split(load_data_yaml(yaml_file), "train", strict=False, report=report)
    assert len(ds.annotations) == 1 and report.dropped["malformed label line dropped (strict=False)"] == 4


def test_out_of_range_coordinates_are_clipped_per_object_never_dropping_the_image(tmp_path: Path) -> None:
    yaml_file = _dataset(tmp_path, {"img": ("0 -0.25 0.0 0.5 0.0 0.5 0.5 -0.25 0.5\n"  # sticks out on the left
                                            "1 0.5 0.5 0.2 0.2\n"  # a box, inside
                                            "1 1.1 0.5 0.1 0.1\n"  # a box fully outside
                                            "0 0.5 0.5 0.2 0.2\n"  # a box in a polygon dataset
                                            "0 -0.25 0.0 0.5 0.0 0.5 0.5 -0.25 0.5\n")})  # duplicate line
    report = ConvertReport()
    ds, _ = load_split(load_data_yaml(yaml_file), "train", report=report)
    assert len(ds.images) == 1 and len(ds.annotations) == 3
    poly, box1, box2 = sorted(ds.annotations, key=lambda a: a["id"])
    assert poly["segmentation"] == [[0.0, 0.0, 20.0, 0.0, 20.0, 15.0, 0.0, 15.0]]
    assert poly["area"] == 300 and poly["bbox"] == [0.0, 0.0, 20.0, 15.0]  # pycocotools' area and box
    assert box1["bbox"] == [16.0, 12.0, 8.0, 6.0] and box1["category_id"] == 2
    assert box2["segmentation"] == [[16.0, 12.0, 24.0, 12.0, 24.0, 18.0, 16.0, 18.0]]
    assert report.changed["coordinates outside the image clipped to it"] == 2
    assert report.dropped["object entirely outside the image dropped"] == 1
    assert report.dropped["duplicate label line dropped"] == 1
    assert report.changed["box line in a polygon dataset given its rectangle as mask"] == 2


def test_box_only_dataset_reads_boxes_without_masks(coco8: Path) -> None:
    ds, root = load_split(load_data_yaml(coco8 / "coco8.yaml"), "val")
    assert len(ds.images) == 4 and root.name == "val"
    assert all("segmentation" not in a for a in ds.annotations)
    assert {im["id"] for im in ds.images} == {36, 42, 49, 61}  # COCO ids from COCO-style file names


def test_quantize_keeps_every_vertex_on_the_pycocotools_grid() -> None:
    rng = np.random.default_rng(0)
    w = 640
    x = np.round(rng.uniform(0, w, 5000), 2)
    x[:500] = np.floor(x[:500]) + 0.1  # exactly on half steps of the 5x grid: 5 * 303.1 = 1515.5
    back = np.array(quantize(x, w), dtype=float) * w
    np.testing.assert_array_equal(np.floor(5 * back + 0.5), np.floor(5 * x + 0.5))
    assert np.abs(back - x).max() < 2e-6 * w
    naive = np.round(x / w, 6) * w
    assert (np.floor(5 * naive + 0.5) != np.floor(5 * x + 0.5)).any()  # plain rounding would move some


def test_polygon_line_round_trips_small_objects_exactly() -> None:
    ring = np.array([[303.1, 10.3], [305.5, 10.3], [305.5, 12.7], [303.1, 12.7]])
    line = polygon_line(3, ring, 640, 480)
    parsed, problems, _ = parse_label_text(line, "f", 5)
    assert not problems and parsed[0].label == 3
    back = parsed[0].values * [640, 480]
    a = masks.polygons_to_rle([ring.reshape(-1).tolist()], 480, 640)
    b = masks.polygons_to_rle([back.reshape(-1).tolist()], 480, 640)
    assert a["counts"] == b["counts"]


def test_clip_ring_and_split_cuts() -> None:
    ring = np.array([[-10.0, 5], [10, 5], [10, 25], [-10, 25]])
    clipped = clip_polygon(ring, 0, 0, 20, 20)
    assert sorted(map(tuple, clipped.tolist())) == [(0, 5), (0, 20), (10, 5), (10, 20)]
    assert len(clip_polygon(np.array([[30.0, 30], [40, 30], [40, 40]]), 0, 0, 20, 20)) == 0
    square = np.array([[0.0, 0], [4, 0], [4, 4], [0, 4]])
    far = square + 10
    bridged = np.concatenate([square[:1], far, far[:1], square])  # cut from (0,0) to (10,10) and back
    loops = split_cuts(bridged)
    assert len(loops) == 2 and sorted(len(p) for p in loops) == [4, 4]
    assert len(unbridge(bridged, 20, 20)) == 2
    # a hole bridged into its outer ring stays one part: the union of two parts would fill it
    outer = np.array([[0.0, 0], [10, 0], [10, 10], [0, 10]])
    hole = np.array([[3.0, 3], [3, 6], [6, 6], [6, 3]])
    holed = np.concatenate([outer[:1], hole, hole[:1], outer])
    parts = unbridge(holed, 12, 12)
    mask = masks.decode(masks.polygons_to_rle([p.reshape(-1).tolist() for p in parts], 12, 12))
    assert len(parts) == 1 and mask[4, 4] == 0 and mask[1, 1] == 1


def _jpeg_with_orientation(path: Path, w: int, h: int, orientation: int) -> None:
    ok, buf = cv2.imencode(".jpg", np.zeros((h, w, 3), np.uint8))
    data = buf.tobytes()
    tiff = b"MM\x00\x2a\x00\x00\x00\x08" + struct.pack(">H", 1) + struct.pack(">HHIHH", 0x0112, 3, 1, orientation, 0)
    tiff += b"\x00\x00\x00\x00"
    app1 = b"Exif\x00\x00" + tiff
    path.write_bytes(data[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + data[2:])


def test_image_size_from_headers_matches_opencv(tmp_path: Path) -> None:
    for ext in (".png", ".jpg", ".bmp", ".webp"):
        p = tmp_path / f"a{ext}"
        cv2.imwrite(str(p), np.zeros((37, 53, 3), np.uint8))
        assert image_size(p) == (53, 37)
    for orientation, expected in ((1, (53, 37)), (6, (37, 53)), (8, (37, 53))):
        p = tmp_path / f"o{orientation}.jpg"
        _jpeg_with_orientation(p, 53, 37, orientation)
        assert image_size(p) == expected
        assert cv2.imread(str(p)).shape[1::-1] == expected  # OpenCV applies the orientation too
    (tmp_path / "bad.jpg").write_bytes(b"not an image")
    with pytest.raises(DataError, match="bad.jpg"):
        image_size(tmp_path / "bad.jpg")
