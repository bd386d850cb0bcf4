"""Shape builders: each draws one object's outline at unit scale, centred on the origin.

A builder returns polygons in unit coordinates (about [-1, 1]; y points down as in images). The
scene scales, rotates and places them. `annotatable` says whether the polygons are already valid
COCO polygons for the shape (disjoint parts, holes bridged); otherwise the annotation is traced
from the rasterized mask.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cocoseg.masks.polygons import polygon_area

_CIRCLE_VERTICES = 32


@dataclass(frozen=True)
class Outline:
    """One object at unit scale: polygons (K, 2), optional (17, 2) keypoints, and its unit area."""

    polygons: tuple[np.ndarray, ...]
    unit_area: float
    annotatable: bool = True
    keypoints: np.ndarray | None = None
    rotation_range: float = np.pi  # the scene rotates by an angle in [-range, range]


def ngon(radius_x: float, radius_y: float, count: int = _CIRCLE_VERTICES, start: float = 0.0) -> np.ndarray:
    angles = start + np.linspace(0.0, 2.0 * np.pi, count, endpoint=False)
    return np.stack([radius_x * np.cos(angles), radius_y * np.sin(angles)], axis=1)


def circle(rng: np.random.Generator) -> Outline:
    """A disc."""
    poly = ngon(1.0, 1.0)
    return Outline((poly,), polygon_area(poly))


def square(rng: np.random.Generator) -> Outline:
    """A square (sides within 15% of each other)."""
    aspect = rng.uniform(0.87, 1.15)
    hx, hy = 0.75 * np.sqrt(aspect), 0.75 / np.sqrt(aspect)
    poly = np.array([[-hx, -hy], [hx, -hy], [hx, hy], [-hx, hy]])
    return Outline((poly,), polygon_area(poly))


def triangle(rng: np.random.Generator) -> Outline:
    """A roughly equilateral triangle."""
    angles = -np.pi / 2 + np.arange(3) * 2 * np.pi / 3 + rng.uniform(-0.15, 0.15, 3)
    radii = rng.uniform(0.85, 1.0, 3)
    poly = np.stack([radii * np.cos(angles), radii * np.sin(angles)], axis=1)
    return Outline((poly,), polygon_area(poly))


def star(rng: np.random.Generator) -> Outline:
    """A five-pointed star."""
    inner = rng.uniform(0.42, 0.52)
    angles = -np.pi / 2 + np.arange(10) * np.pi / 5
    radii = np.where(np.arange(10) % 2 == 0, 1.0, inner)
    poly = np.stack([radii * np.cos(angles), radii * np.sin(angles)], axis=1)
    return Outline((poly,), polygon_area(poly))


def ellipse(rng: np.random.Generator) -> Outline:
    """An elongated ellipse (minor/major 0.4-0.6), clearly unlike the circle."""
    poly = ngon(1.0, rng.uniform(0.4, 0.6))
    return Outline((poly,), polygon_area(poly))


def ring(rng: np.random.Generator) -> Outline:
    """A disc with a round hole: one polygon, the hole joined to the rim by a zero-width bridge."""
    inner = rng.uniform(0.5, 0.62)
    outer = ngon(1.0, 1.0)
    hole = ngon(inner, inner)[::-1]  # opposite orientation, starting at angle 0 like the rim
    hole = np.roll(hole, 1, axis=0)
    poly = np.concatenate([outer, outer[:1], hole, hole[:1]])
    return Outline((poly,), polygon_area(outer) - polygon_area(hole))


def pair(rng: np.random.Generator) -> Outline:
    """Two separate dots that form one object (one instance, two polygons)."""
    radius = rng.uniform(0.4, 0.48)
    left = ngon(radius, radius, 24) + [-0.6, 0.0]
    right = ngon(radius, radius, 24) + [0.6, 0.0]
    return Outline((left, right), 2 * polygon_area(left))


def cross(rng: np.random.Generator) -> Outline:
    """A plus sign with arms of equal length."""
    w = rng.uniform(0.26, 0.36)
    poly = np.array([
        [-w, -1], [w, -1], [w, -w], [1, -w], [1, w], [w, w],
        [w, 1], [-w, 1], [-w, w], [-1, w], [-1, -w], [-w, -w],
    ], dtype=np.float64)
    return Outline((poly,), polygon_area(poly))
