"""engine.ranker: one batched pass per image, the predictor's detections with their full score vectors."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from cocoseg.engine.predictor import Predictor
from cocoseg.engine.ranker import Ranker, score_pool
from cocoseg.models import build_model


@pytest.fixture(scope="module")
def model() -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model("yolov8n-seg", num_classes=3, names=["a", "b", "c"])


@pytest.fixture
def paths(tmp_path):
    rng = np.random.default_rng(0)
    out = []
    for i, (h, w) in enumerate([(64, 64), (48, 80), (64, 64)]):
        img = rng.integers(0, 80, (h, w, 3), dtype=np.uint8)
        cv2.circle(img, (20 + 5 * i, 25), 12, (200, 60 + 40 * i, 90), -1)
        cv2.rectangle(img, (30, 30), (45, 44), (40, 220, 120), -1)
        path = tmp_path / f"im{i}.png"
        cv2.imwrite(str(path), img)
        out.append(path)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    out.insert(1, broken)
    return out


def test_outputs_match_the_predictor(model, paths, caplog):
    ranker = Ranker(model, imgsz=64, batch=2, conf=0.001, max_det=10, threads=1)
    outputs = list(ranker.run(paths, progress=False))
    assert [o.path for o in outputs] == [str(p) for p in paths]
    assert outputs[1].error and "broken.png" in caplog.text
    good = [paths[0], paths[2], paths[3]]
    results = Predictor(model, imgsz=64, conf=0.001, max_det=10, batch=1, threads=1)([str(p) for p in good])
    for out, res in zip([outputs[0], outputs[2], outputs[3]], results):
        assert out.error is None and len(out.scores) == len(res) > 0
        np.testing.assert_allclose(out.scores, res.scores, rtol=1e-5)
        # the carried score vectors are the detections' own: their best is the detection score
        assert out.class_scores.shape == (len(res), 3)
        np.testing.assert_allclose(out.class_scores.max(1), out.scores, rtol=1e-6)
        assert len(out.mask_probs) == len(res)
        assert all(((p > 0) & (p < 1)).all() and p.ndim == 2 for p in out.mask_probs)
        assert out.embedding.dtype == np.float16 and out.embedding.shape == (ranker.embedding_dim,)
    assert ranker.embedding_dim == 64 + 128 + 256  # P3 + P4 + P5 channels of yolov8n


def test_flip_pass_is_the_mirrored_image(model, tmp_path, paths):
    image = cv2.imread(str(paths[0]))
    mirrored = tmp_path / "mirrored.png"
    cv2.imwrite(str(mirrored), image[:, ::-1])
    ranker = Ranker(model, imgsz=64, batch=2, conf=0.001, max_det=10, flip=True, threads=1)
    plain, mirror = ranker.run([paths[0], mirrored], progress=False)
    # 64 x 64 needs no padding: the flipped pass of the image is the plain pass of its mirror, mirrored back
    np.testing.assert_allclose(plain.flipped_scores, mirror.scores, rtol=1e-4)
    assert plain.masks.shape[1:] == (16, 16)
    agree = (plain.flipped_masks[:, :, ::-1] == mirror.masks).mean()
    assert agree > 0.99


def test_score_pool(model, paths):
    pool = score_pool(Ranker(model, imgsz=64, batch=4, conf=0.001, max_det=5, threads=1), paths, progress=False)
    assert pool.components[1] is None and list(pool.errors) == [1]
    assert pool.components[0]["detections"] == 5 and "entropy_max" in pool.components[0]
    assert pool.embeddings.shape == (4, 448) and pool.embeddings.dtype == np.float16
    assert not pool.embeddings[1].any() and pool.embeddings[0].any()
    pool.store.close()
