"""Cheap textured backgrounds: gradients, smooth noise and stripes in muted colours."""
from __future__ import annotations

import colorsys

import cv2
import numpy as np


def hsv_to_bgr(hue_deg: float, saturation: float, value: float) -> np.ndarray:
    """A BGR colour (float32, 0-255) from hue in degrees and saturation, value in [0, 1]."""
    r, g, b = colorsys.hsv_to_rgb((hue_deg % 360.0) / 360.0, saturation, value)
    return np.array([b, g, r], dtype=np.float32) * 255.0


def _muted(rng: np.random.Generator) -> np.ndarray:
    # low saturation keeps the background apart from the saturated objects
    return hsv_to_bgr(rng.uniform(0, 360), rng.uniform(0.0, 0.25), rng.uniform(0.25, 0.85))


def _projection(angle: float, width: int, height: int) -> np.ndarray:
    """x cos(angle) + y sin(angle) for every pixel, (H, W) float32."""
    xs = np.arange(width, dtype=np.float32) * np.float32(np.cos(angle))
    ys = np.arange(height, dtype=np.float32) * np.float32(np.sin(angle))
    return ys[:, None] + xs[None, :]


def _ramp(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """Values in [0, 1] rising along a random direction, (H, W) float32."""
    t = _projection(rng.uniform(0, 2 * np.pi), width, height)
    return (t - t.min()) / max(float(t.max() - t.min()), 1.0)


def _smooth_noise(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """Low-frequency noise in [0, 1]: a coarse random grid resized bilinearly, (H, W) float32."""
    cells = int(rng.integers(3, 9))
    grid = rng.random((cells, cells), dtype=np.float32)
    return cv2.resize(grid, (width, height), interpolation=cv2.INTER_LINEAR)


def _stripes(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A sinusoidal stripe pattern in [0, 1] with a random period and angle, (H, W) float32."""
    angle = rng.uniform(0, np.pi)
    period = rng.uniform(6.0, 40.0)
    phase = _projection(angle, width, height) * np.float32(2 * np.pi / period)
    return 0.5 + 0.5 * np.sin(phase + np.float32(rng.uniform(0, 2 * np.pi)))


def background(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A (H, W, 3) float32 BGR background: a two-colour gradient, shaded by smooth noise, sometimes striped."""
    low, high = _muted(rng), _muted(rng)
    shade = _ramp(rng, width, height)
    light = 0.8 + 0.4 * _smooth_noise(rng, width, height)
    if rng.random() < 0.4:
        contrast = np.float32(rng.uniform(0.1, 0.3))
        light *= 1 - contrast + 2 * contrast * _stripes(rng, width, height)
    image = low + shade[..., None] * (high - low)
    image *= light[..., None]
    return image
