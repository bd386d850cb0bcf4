"""A person-like stick figure with COCO's 17 keypoints, built at unit scale (height about 2)."""
from __future__ import annotations

import numpy as np

from cocoseg.masks.polygons import polygon_area
from cocoseg.synth.categories import KEYPOINT_NAMES
from cocoseg.synth.shapes import Outline, ngon

_LIMB = 0.16  # limb thickness, in unit coordinates (8% of the height: thick enough for stride-4 masks)
_HEAD = (0.0, -0.80)
_HEAD_RADIUS = 0.16


def _segment(start: np.ndarray, end: np.ndarray, width: float) -> np.ndarray:
    """A rectangle of the given width around the segment start-end."""
    direction = end - start
    normal = np.array([-direction[1], direction[0]]) / max(float(np.hypot(*direction)), 1e-9)
    half = normal * width / 2
    return np.array([start + half, end + half, end - half, start - half])


def _limb(root: np.ndarray, angle: float, length: float, side: float) -> np.ndarray:
    """The end of a limb of `length` leaving `root` at `angle` from straight down, outward on `side`."""
    return root + length * np.array([side * np.sin(angle), np.cos(angle)])


def _skeleton_points(rng: np.random.Generator) -> np.ndarray:
    """The 17 keypoints in COCO order; the person faces the camera, so its left is image right."""
    hx, hy = _HEAD
    points = {
        "nose": (hx, hy + 0.02), "left_eye": (hx + 0.06, hy - 0.04), "right_eye": (hx - 0.06, hy - 0.04),
        "left_ear": (hx + 0.13, hy), "right_ear": (hx - 0.13, hy),
    }
    for side, name in ((1.0, "left"), (-1.0, "right")):
        shoulder = np.array([side * 0.22, -0.54])
        hip = np.array([side * 0.14, 0.04])
        arm_up = rng.uniform(0.25, 2.6)
        elbow = _limb(shoulder, arm_up, 0.32, side)
        wrist = _limb(elbow, arm_up + rng.uniform(-0.7, 0.7), 0.30, side)
        leg_out = rng.uniform(0.05, 0.5)
        knee = _limb(hip, leg_out, 0.45, side)
        ankle = _limb(knee, leg_out + rng.uniform(-0.35, 0.15), 0.43, side)
        for joint, value in (("shoulder", shoulder), ("hip", hip), ("elbow", elbow), ("wrist", wrist),
                             ("knee", knee), ("ankle", ankle)):
            points[f"{name}_{joint}"] = tuple(value)
    return np.array([points[name] for name in KEYPOINT_NAMES], dtype=np.float64)


def person(rng: np.random.Generator) -> Outline:
    """Head, neck, torso and eight limb segments with round joints; parts overlap, so the
    annotation is traced from the rasterized union."""
    kp = _skeleton_points(rng)
    ls, rs, le, re_, lw, rw, lh, rh, lk, rk, la, ra = (kp[i] for i in range(5, 17))
    head = ngon(_HEAD_RADIUS, _HEAD_RADIUS * 1.1, 20) + np.array(_HEAD)
    neck = _segment(np.array([0.0, -0.66]), np.array([0.0, -0.50]), 0.12)
    torso = np.array([ls + [0.03, -0.04], rs + [-0.03, -0.04], rh + [-0.02, 0.04], lh + [0.02, 0.04]])
    bones = [(ls, le), (le, lw), (rs, re_), (re_, rw), (lh, lk), (lk, la), (rh, rk), (rk, ra)]
    limbs = [_segment(a, b, _LIMB) for a, b in bones]
    joints = [ngon(_LIMB / 2, _LIMB / 2, 10) + p for p in (le, lw, re_, rw, lk, la, rk, ra)]
    polygons = (head, neck, torso, *limbs, *joints)
    area = polygon_area(head) + polygon_area(torso) + sum(polygon_area(p) for p in limbs)
    return Outline(polygons, area, annotatable=False, keypoints=kp, rotation_range=0.25)
