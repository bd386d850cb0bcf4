"""Bitmap -> COCO polygons that pycocotools rasterizes back to the same bitmap, and ring bridging.

Rings follow the pixel cracks (the edges between foreground and background pixels) through
their midpoints: in COCO coordinates pixel (row r, col c) covers [c, c+1] x [r, r+1], and
pycocotools' `rleFrPoly` samples each column at x = c + 0.5 and starts a run at row
ceil(y - 0.4) of the crossing, so the crack midpoint (c + 0.5, r) toggles exactly row r.
Simplification (Douglas-Peucker) is accepted only when the ring rasterizes identically.

Holes: COCO unions the parts of a polygon, so a hole cannot be its own part. It is bridged into
its outer ring by a zero-width cut (out along a segment and back along the same segment).
`rleFrPoly` fills by crossing parity and the cut's two traversals produce identical crossings
that cancel, so the single ring rasterizes to outer minus hole. The same bridging joins the
parts of one object into a single ring for formats that allow one polygon per object (YOLO).
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np
from pycocotools import mask as _coco_mask

# direction codes of a crack edge, image coordinates (y down): east, south, west, north
_STEP = np.array([[1, 0], [0, 1], [-1, 0], [0, -1]], dtype=np.int64)


def _crack_edges(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Directed crack edges with the foreground on the right: (start (E, 2) int [x, y], direction (E,))."""
    h, w = mask.shape
    m = np.zeros((h + 2, w + 2), dtype=np.int8)
    m[1:-1, 1:-1] = mask != 0
    dv = m[1:, 1:-1] - m[:-1, 1:-1]  # (h+1, w): below minus above, on the line y = row
    dh = m[1:-1, 1:] - m[1:-1, :-1]  # (h, w+1): right minus left, on the line x = col
    ys, xs = np.nonzero(dv > 0)  # foreground below: walk east from (x, y)
    east = np.stack([xs, ys], 1)
    ys, xs = np.nonzero(dv < 0)  # foreground above: walk west from (x + 1, y)
    west = np.stack([xs + 1, ys], 1)
    ys, xs = np.nonzero(dh < 0)  # foreground left: walk south from (x, y)
    south = np.stack([xs, ys], 1)
    ys, xs = np.nonzero(dh > 0)  # foreground right: walk north from (x, y + 1)
    north = np.stack([xs, ys + 1], 1)
    starts = np.concatenate([east, south, west, north]).astype(np.int64)
    dirs = np.repeat(np.arange(4), [len(east), len(south), len(west), len(north)])
    return starts, dirs


def _successors(starts: np.ndarray, dirs: np.ndarray, width: int) -> np.ndarray:
    """Index of the edge that follows each edge; at a saddle turn left, so foreground is 8-connected."""
    stride = width + 1
    vert = starts[:, 1] * stride + starts[:, 0]
    table = np.full((int(vert.max()) + stride + 2) * 4, -1, dtype=np.int64)
    table[vert * 4 + dirs] = np.arange(len(dirs))
    ends = starts + _STEP[dirs]
    end_vert = ends[:, 1] * stride + ends[:, 0]
    nxt = np.full(len(dirs), -1, dtype=np.int64)
    for turn in (1, 0, 3):  # right, straight, left: the last one found wins
        cand = table[end_vert * 4 + (dirs + turn) % 4]
        nxt = np.where(cand >= 0, cand, nxt)
    return nxt


def _cycles(nxt: np.ndarray) -> list[np.ndarray]:
    """The cycles of a permutation, each as edge indices in walking order."""
    succ = nxt.tolist()
    seen = bytearray(len(succ))
    rings = []
    for start in range(len(succ)):
        if seen[start]:
            continue
        ring = []
        e = start
        while not seen[e]:
            seen[e] = 1
            ring.append(e)
            e = succ[e]
        rings.append(np.asarray(ring, dtype=np.int64))
    return rings


def _drop_collinear(pts: np.ndarray) -> np.ndarray:
    """Remove vertices lying on the segment between their neighbours (exact on the half-pixel grid)."""
    while len(pts) > 3:
        prev, nxt = np.roll(pts, 1, 0), np.roll(pts, -1, 0)
        a, b = pts - prev, nxt - pts
        cross = a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]
        keep = (cross != 0) | ((a * b).sum(1) < 0)
        if keep.all():
            break
        pts = pts[keep]
    return pts


def _ring_rle(points: np.ndarray, h: int, w: int) -> bytes:
    return _coco_mask.frPyObjects([points.reshape(-1).tolist()], h, w)[0]["counts"]


def _segment_crossings(xs: int, ys: int, xe: int, ye: int, h: int, w: int) -> list[int]:
    """Run toggles (col * h + row) that `rleFrPoly` records for one edge given in 5x-scaled ints.

    Mirrors maskApi.c: the edge is drawn point by point on the 5x grid (endpoints swapped so it
    runs left to right or top to bottom), a column is sampled where the x step crosses its
    centre (scaled 5c+2 -> 5c+3), and the run starts at ceil((min v + .5) / 5 - .5).
    """
    dx, dy = abs(xe - xs), abs(ys - ye)
    if (dx >= dy and xs > xe) or (dx < dy and ys > ye):
        xs, xe, ys, ye = xe, xs, ye, ys
    steps = []
    if dx >= dy:
        if dx == 0:
            return []
        s = (ye - ys) / dx
        for um in range(xs + (2 - xs) % 5, xe, 5):
            steps.append((um, min(int(ys + s * (um - xs) + .5), int(ys + s * (um + 1 - xs) + .5))))
    elif xe != xs:
        # y-major: u(t) = int(xs + s*t + .5) moves by at most 1 per step; per column centre
        # 5c+2 | 5c+3 that u passes, the first t beyond it (estimated, then exact integer steps)
        s = (xe - xs) / dy
        lo, hi = min(xs, xe), max(xs, xe)
        for um in range(lo + (2 - lo) % 5, hi, 5):
            t = _first_step_past(xs, s, um, dy)
            if t is not None:
                steps.append((um, ys + t - 1))
    out = []
    for um, vm in steps:
        col = (um - 2) // 5
        if 0 <= col <= w - 1:
            out.append(col * h + math.ceil(min(max((vm + .5) / 5 - .5, 0.0), float(h))))
    return out


def _first_step_past(xs: int, s: float, um: int, dy: int) -> int | None:
    """Smallest t in 1..dy where int(xs + s*t + .5) has moved past the column boundary um | um+1."""
    def past(t: int) -> bool:
        u = int(xs + s * t + .5)
        return u >= um + 1 if s > 0 else u <= um

    t = min(max(int((um + .5 - xs) / s) - 1, 1), dy)
    while t < dy and not past(t):
        t += 1
    while t > 1 and past(t - 1):
        t -= 1
    return t if past(t) and not past(t - 1) else None


def _greedy_runs(xs: list[float], ys: list[float], tolerance: float) -> list[int]:
    """Vertices kept by walking the ring and extending each edge while it stays x-monotone and
    passes every column centre within `tolerance` of the crack midpoint there."""
    n = len(xs)
    keep, a = [0], 0
    while a < n:
        ax, ay = xs[a], ys[a]
        lo, hi, sx, best, px = -math.inf, math.inf, 0, a + 1, ax
        for j in range(a + 1, n + 1):
            k = j - n if j >= n else j
            x, y = xs[k], ys[k]
            if x != px:
                sign = 1 if x > px else -1
                if sx == 0:
                    sx = sign
                elif sign != sx:
                    break
            px = x
            t = x - ax
            if t == 0:
                if sx == 0:
                    best = j
                continue
            m = (y - ay) / t
            if lo <= m <= hi:
                best = j
            if x % 1.0 == 0.5:  # a horizontal crack: the new edge must toggle the same row here
                b1, b2 = (y - tolerance - ay) / t, (y + tolerance - ay) / t
                lo, hi = max(lo, min(b1, b2)), min(hi, max(b1, b2))
                if lo > hi:
                    break
        a = best
        if a < n:
            keep.append(a)
    return keep


def _simplify(mids: np.ndarray, h: int, w: int, tolerance: float) -> np.ndarray:
    """Fewer vertices with the same `rleFrPoly` toggles: greedy runs, each checked and split until exact."""
    n = len(mids)
    if tolerance <= 0 or n <= 4:
        return _drop_collinear(mids)
    xs, ys = mids[:, 0].tolist(), mids[:, 1].tolist()
    scaled = [(int(5.0 * x + .5), int(5.0 * y + .5)) for x, y in zip(xs, ys)]
    # the midpoint (c + .5, r) of a horizontal crack is where the exact ring toggles row r of column c
    toggle = [int(x) * h + int(y) if x % 1.0 == 0.5 else -1 for x, y in zip(xs, ys)]
    bounds = _greedy_runs(xs, ys, tolerance) + [n]
    stack, out = list(zip(bounds[:-1], bounds[1:]))[::-1], []
    while stack:
        a, b = stack.pop()
        if b - a > 1:
            bb = b % n
            chain = [toggle[k] for k in range(a + 1, b) if toggle[k] >= 0]
            end = toggle[bb] if xs[bb] > xs[a] else toggle[a]  # the end reached from the left owns its toggle
            if end >= 0:
                chain.append(end)
            if sorted(chain) != sorted(_segment_crossings(*scaled[a], *scaled[bb], h, w)):
                mid = (a + b) // 2
                stack += [(mid, b), (a, mid)]
                continue
        out.append(a)
    pts = mids[out]
    if len(pts) < 3 or _ring_rle(pts, h, w) != _ring_rle(mids, h, w):  # safety net; never seen to fail
        return _drop_collinear(mids)
    return pts


def signed_area(pts: np.ndarray) -> float:
    """Shoelace area of a ring (N, 2); positive when clockwise on screen (y down), as outer rings here run."""
    x, y = pts[:, 0], pts[:, 1]
    return float(0.5 * (x * np.roll(y, -1) - np.roll(x, -1) * y).sum())


def bridge_rings(base: np.ndarray, other: np.ndarray) -> np.ndarray:
    """One ring tracing `base` and `other` joined by a zero-width cut between their closest vertices.

    base, other: (N, 2) and (M, 2) vertices. The cut is walked out and back along the same
    segment, so its crossings cancel under parity filling (pycocotools' `rleFrPoly`).
    """
    i, j = _closest_pair(base, other)
    return np.concatenate([base[: i + 1], other[j:], other[: j + 1], base[i:]])


def _closest_pair(a: np.ndarray, b: np.ndarray, chunk: int = 2048) -> tuple[int, int]:
    best, best_ij = np.inf, (0, 0)
    for s in range(0, len(a), chunk):
        d = ((a[s:s + chunk, None, :] - b[None, :, :]) ** 2).sum(-1)
        k = int(np.argmin(d))
        if d.flat[k] < best:
            best, best_ij = float(d.flat[k]), (s + k // d.shape[1], k % d.shape[1])
    return best_ij


def bridge_polygons(polygons: Sequence[Sequence[float]]) -> list[float]:
    """Join flat polygon parts into one flat ring by zero-width cuts, nearest part first.

    The result's parity fill is the XOR of the parts: equal to their union (COCO's merge)
    exactly when the parts do not overlap.
    """
    rings = [np.asarray(p, dtype=np.float64).reshape(-1, 2) for p in polygons if len(p) >= 2]
    if not rings:
        return []
    order = sorted(range(len(rings)), key=lambda k: (rings[k][:, 0].min(), rings[k][:, 1].min()))
    merged, rest = rings[order[0]], [rings[k] for k in order[1:]]
    while rest:
        pairs = [_closest_pair(merged, r) for r in rest]
        dists = [float(((merged[i] - r[j]) ** 2).sum()) for (i, j), r in zip(pairs, rest)]
        merged = bridge_rings(merged, rest.pop(int(np.argmin(dists))))
    return merged.reshape(-1).tolist()


def _component_of_edge(labels: np.ndarray, start: np.ndarray, direction: int) -> int:
    """Connected-component label of the foreground pixel on the right of a crack edge."""
    x, y = int(start[0]), int(start[1])
    row, col = {0: (y, x), 1: (y, x - 1), 2: (y - 1, x - 1), 3: (y - 1, x)}[direction]
    return int(labels[row, col])


def bitmap_to_polygons(mask: np.ndarray, tolerance: float = 0.45) -> list[list[float]]:
    """Binary mask (H, W) -> flat COCO polygon parts, one per 8-connected part, holes bridged in.

    pycocotools (`frPyObjects` + `merge`) rasterizes the parts back to exactly `mask`. Each ring
    runs through the crack midpoints; runs of them are replaced by straight edges that pass every
    column centre within `tolerance` pixels of the midpoint there, and each such edge is kept only
    if it reproduces pycocotools' run toggles exactly (else it is split), so the simplification
    never changes the mask (about half the vertices of the staircase on COCO masks; 0 keeps the
    staircase). Coordinates are COCO's (pixel (r, c) covers [c, c+1] x [r, r+1]); an empty mask
    gives [].
    """
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"expected a (H, W) mask, got shape {mask.shape}")
    if mask.size == 0 or not mask.any():
        return []
    rows, cols = np.nonzero(mask.any(1))[0], np.nonzero(mask.any(0))[0]
    r0, c0 = int(rows[0]), int(cols[0])
    crop = mask[r0:int(rows[-1]) + 1, c0:int(cols[-1]) + 1] != 0  # rasterization is shift-invariant
    h, w = crop.shape
    starts, dirs = _crack_edges(crop)
    _, labels = cv2.connectedComponents(crop.astype(np.uint8), connectivity=8)
    mids = starts + 0.5 * _STEP[dirs]
    outer: dict[int, np.ndarray] = {}
    holes: dict[int, list[np.ndarray]] = {}
    extra: list[np.ndarray] = []  # never expected: a second outer ring of one component stays its own part
    for ring in _cycles(_successors(starts, dirs, w)):
        pts = _simplify(mids[ring], h, w, tolerance)
        comp = _component_of_edge(labels, starts[ring[0]], int(dirs[ring[0]]))
        if signed_area(pts) > 0:
            if comp in outer:
                extra.append(pts)
            else:
                outer[comp] = pts
        else:
            holes.setdefault(comp, []).append(pts)
    parts = []
    for comp in sorted(outer):
        ring = outer[comp]
        for hole in sorted(holes.get(comp, []), key=lambda p: (p[:, 0].min(), p[:, 1].min())):
            ring = bridge_rings(ring, hole)
        parts.append((ring + [c0, r0]).reshape(-1).tolist())
    return parts + [(p + [c0, r0]).reshape(-1).tolist() for p in extra]
