"""Per-frame warp kernels: sparse offsets -> dense field -> sampled frame (paper Sec. 4).

The field is a *forward* displacement on the photo's pixel grid: photo pixel ``y`` appears at
``y + field[y]`` in the output. Working on the photo's grid means the triangulation and every
per-pixel weight are fixed per photo (see ``rig.py``); a frame costs

1. ``interpolate_offsets``: piecewise-linear field from the control-point offsets (3 taps);
2. ``smooth_field``: confidence-aware smoothing, a box whose radius grows with distance from
   the face (summed-area table: any radius in O(1) per pixel), nothing inside the face;
3. ``inverse_map``: inverse mapping, solving ``y + field(y) = x`` by Newton steps;
   ``front_sheets``: where the field folds, the sheet in front; ``sample_map``: bilinear
   sampling of the photo at ``y``.

Each kernel is a small ``@njit(cache=True)`` function writing into preallocated outputs; the
plain-numpy twins live in ``tests/naive.py``.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, parallel=True, fastmath=False)
def _interpolate_offsets(vertex_ids, weights, offsets, out):
    h, w = out.shape[0], out.shape[1]
    for y in prange(h):
        for x in range(w):
            a, b, c = vertex_ids[y, x, 0], vertex_ids[y, x, 1], vertex_ids[y, x, 2]
            wa, wb, wc = weights[y, x, 0], weights[y, x, 1], weights[y, x, 2]
            out[y, x, 0] = wa * offsets[a, 0] + wb * offsets[b, 0] + wc * offsets[c, 0]
            out[y, x, 1] = wa * offsets[a, 1] + wb * offsets[b, 1] + wc * offsets[c, 1]


def interpolate_offsets(vertex_ids: np.ndarray, weights: np.ndarray, offsets: np.ndarray,
                        out: np.ndarray) -> np.ndarray:
    """Piecewise-linear dense field from control-point offsets.

    Parameters
    ----------
    vertex_ids : (H, W, 3) int32, the control points of the triangle under each pixel.
    weights : (H, W, 3) float32, barycentric weights of the pixel in that triangle.
    offsets : (K, 2) float32, (dx, dy) per control point.
    out : (H, W, 2) float32, written in place and returned.
    """
    _interpolate_offsets(vertex_ids, weights, offsets, out)
    return out


_SAT_BLOCK = 128  # columns


@njit(cache=True, parallel=True)
def _summed_area(field, sat):
    """sat[c, y + 1, x + 1] = sum of field[:y+1, :x+1, c]; row 0 and column 0 stay zero."""
    h, w = field.shape[0], field.shape[1]
    for y in prange(h):
        s0 = 0.0
        s1 = 0.0
        for x in range(w):
            s0 += field[y, x, 0]
            s1 += field[y, x, 1]
            sat[0, y + 1, x + 1] = s0
            sat[1, y + 1, x + 1] = s1
    # Down the columns, a block of them a row at a time (the same sums in the same order as
    # a running sum per column, but along memory: a column's stride missed the cache at
    # every step).
    blocks = (w + _SAT_BLOCK - 1) // _SAT_BLOCK
    for b in prange(2 * blocks):
        c = b // blocks
        x0 = 1 + (b % blocks) * _SAT_BLOCK
        x1 = min(x0 + _SAT_BLOCK, w + 1)
        for y in range(1, h):
            for x in range(x0, x1):
                sat[c, y + 1, x] += sat[c, y, x]


@njit(cache=True, inline="always")
def _box_mean(sat, c, y, x, r, h, w):
    y0 = max(y - r, 0)
    y1 = min(y + r, h - 1) + 1
    x0 = max(x - r, 0)
    x1 = min(x + r, w - 1) + 1
    s = sat[c, y1, x1] - sat[c, y0, x1] - sat[c, y1, x0] + sat[c, y0, x0]
    return s / ((y1 - y0) * (x1 - x0))


@njit(cache=True, parallel=True)
def _box_by_level(field, sat, level, radii, hold, out):
    h, w = field.shape[0], field.shape[1]
    top = radii.shape[0] - 1
    for y in prange(h):
        for x in range(w):
            lv = level[y, x]
            if lv <= 0.0:
                out[y, x, 0] = field[y, x, 0] * hold[y, x]
                out[y, x, 1] = field[y, x, 1] * hold[y, x]
                continue
            k = min(int(lv), top)
            t = lv - k
            for c in range(2):
                m = _box_mean(sat, c, y, x, radii[k], h, w)
                if t > 0.0 and k < top:
                    m = (1.0 - t) * m + t * _box_mean(sat, c, y, x, radii[k + 1], h, w)
                out[y, x, c] = m * hold[y, x]


def smooth_field(field: np.ndarray, level: np.ndarray, radii: np.ndarray, hold: np.ndarray, *,
                 passes: int, sat: np.ndarray, scratch: np.ndarray) -> np.ndarray:
    """Confidence-aware smoothing, in place on ``field``.

    Parameters
    ----------
    field : (H, W, 2) float32 forward displacement; smoothed in place and returned.
    level : (H, W) float32 blur level per pixel: 0 inside the face (no smoothing); a
        fractional level k + t blends the boxes of ``radii[k]`` and ``radii[k + 1]``, so the
        blur grows continuously with distance instead of jumping between the discrete radii
        (a jump would put a step into the field).
    radii : (L,) int32 box half-widths of the levels, ``radii[0] == 0``.
    hold : (H, W) float32 in [0, 1], multiplies the result (1 = free, 0 = held still at the
        frame border); applied once, on the last pass.
    passes : number of box passes (2 = tent-shaped kernel).
    sat : (2, H + 1, W + 1) float64 scratch for the summed-area table (row/col 0 zero).
    scratch : (H, W, 2) float32 scratch.
    """
    ones = _ones_like_hold(hold) if passes > 1 else hold
    src, dst = field, scratch
    for k in range(passes):
        _summed_area(src, sat)
        _box_by_level(src, sat, level, radii, hold if k == passes - 1 else ones, dst)
        src, dst = dst, src
    if src is not field:
        field[...] = src
    return field


_ONES_CACHE: dict[tuple[int, int], np.ndarray] = {}


def _ones_like_hold(hold: np.ndarray) -> np.ndarray:
    # Cached so that a frame allocates nothing after the first one.
    key = hold.shape
    ones = _ONES_CACHE.get(key)
    if ones is None:
        ones = _ONES_CACHE[key] = np.ones(key, np.float32)
    return ones


@njit(cache=True, inline="always")
def _field_and_jacobian(field, x, y):
    """Bilinear field value at (x, y) and its derivatives, from the same four taps."""
    h, w = field.shape[0], field.shape[1]
    x = min(max(x, 0.0), w - 1.0)
    y = min(max(y, 0.0), h - 1.0)
    x0 = min(int(x), w - 2) if w > 1 else 0
    y0 = min(int(y), h - 2) if h > 1 else 0
    x1 = min(x0 + 1, w - 1)
    y1 = min(y0 + 1, h - 1)
    fx = x - x0
    fy = y - y0
    a0, b0, c0, d0 = field[y0, x0, 0], field[y0, x1, 0], field[y1, x0, 0], field[y1, x1, 0]
    a1, b1, c1, d1 = field[y0, x0, 1], field[y0, x1, 1], field[y1, x0, 1], field[y1, x1, 1]
    u = (a0 * (1 - fx) + b0 * fx) * (1 - fy) + (c0 * (1 - fx) + d0 * fx) * fy
    v = (a1 * (1 - fx) + b1 * fx) * (1 - fy) + (c1 * (1 - fx) + d1 * fx) * fy
    ux = (b0 - a0) * (1 - fy) + (d0 - c0) * fy
    uy = (c0 - a0) * (1 - fx) + (d0 - b0) * fx
    vx = (b1 - a1) * (1 - fy) + (d1 - c1) * fy
    vy = (c1 - a1) * (1 - fx) + (d1 - b1) * fx
    return u, v, ux, uy, vx, vy


# A Newton step never moves further than this; a start closer than CONVERGED_PX to a
# solution counts as converged (the next pixel may start from it).
MAX_STEP_PX = 4.0
CONVERGED_PX = 0.25
TOLERANCE_PX = 1e-3  # Newton stops here: far below what bilinear sampling can show


@njit(cache=True, inline="always")
def _newton(field, x, y, sx, sy, iterations):
    """Newton on g(s) = s + field(s) - (x, y) from (sx, sy). Returns (sx, sy, |g|).

    Plain fixed-point steps crawl where the field compresses (lids closing, |grad| near 1);
    Newton converges in one to three. It stops as soon as |g| < TOLERANCE_PX. Where the field
    folds (det(I + J) small) it takes a fixed-point step, and every step is capped so one bad
    cell cannot throw it far away.
    """
    for k in range(iterations + 1):
        u, v, ux, uy, vx, vy = _field_and_jacobian(field, sx, sy)
        rx = sx + u - x
        ry = sy + v - y
        r2 = rx * rx + ry * ry
        if r2 < TOLERANCE_PX * TOLERANCE_PX or k == iterations:
            return sx, sy, np.sqrt(r2)
        j00 = 1.0 + ux
        j11 = 1.0 + vy
        det = j00 * j11 - uy * vx
        if det > 0.05:
            dx = (j11 * rx - uy * ry) / det
            dy = (j00 * ry - vx * rx) / det
        else:
            dx = rx
            dy = ry
        n = np.sqrt(dx * dx + dy * dy)
        if n > MAX_STEP_PX:
            dx *= MAX_STEP_PX / n
            dy *= MAX_STEP_PX / n
        sx -= dx
        sy -= dy
    return sx, sy, 0.0  # not reached  # pragma: no cover


@njit(cache=True, inline="always")
def bilinear(img, sx, sy, c):
    """img[.., c] at (sx, sy), clamped to the edge (replicate)."""
    h, w = img.shape[0], img.shape[1]
    sx = min(max(sx, 0.0), w - 1.0)
    sy = min(max(sy, 0.0), h - 1.0)
    x0 = int(sx)
    y0 = int(sy)
    x1 = min(x0 + 1, w - 1)
    y1 = min(y0 + 1, h - 1)
    ax = sx - x0
    ay = sy - y0
    top = img[y0, x0, c] * (1.0 - ax) + img[y0, x1, c] * ax
    bot = img[y1, x0, c] * (1.0 - ax) + img[y1, x1, c] * ax
    return top * (1.0 - ay) + bot * ay


@njit(cache=True, inline="always")
def _solve_continued(field, x, y, px, py, prev_ok, iterations):
    """Source of output pixel (x, y): Newton from the left neighbour's answer one pixel on
    (``px + 1, py``, when that one converged), within a hundredth of a pixel of the
    solution on a smooth field, so Newton needs a step or none, and neighbours stay on the
    same sheet where the field folds (no speckle). Where it fails, or at a row's start, from
    the local guess x - field(x). Returns (sx, sy, converged)."""
    if prev_ok:
        sx, sy, r = _newton(field, x, y, px + 1.0, py, iterations)
        if r > CONVERGED_PX:
            sx2, sy2, r2 = _newton(field, x, y, x - field[y, x, 0], y - field[y, x, 1],
                                   iterations)
            if r2 < r:
                sx, sy, r = sx2, sy2, r2
    else:
        sx, sy, r = _newton(field, x, y, x - field[y, x, 0], y - field[y, x, 1], iterations)
    return sx, sy, r <= CONVERGED_PX


@njit(cache=True, parallel=True)
def _sample_map(photo, source, out):
    h, w = out.shape[0], out.shape[1]
    nch = photo.shape[2]
    for y in prange(h):
        for x in range(w):
            sx = source[y, x, 0]
            sy = source[y, x, 1]
            for c in range(nch):
                val = bilinear(photo, sx, sy, c) + 0.5
                out[y, x, c] = np.uint8(min(max(val, 0.0), 255.0))


def sample_map(photo: np.ndarray, source: np.ndarray, *, out: np.ndarray) -> np.ndarray:
    """``photo`` (H, W, C) uint8 read bilinearly (edges replicated) at ``source`` (H, W, 2)
    float32, each output pixel's source (x, y) in photo px (``inverse_map`` on the pixel
    grid): ``out`` (H, W, C) uint8, written in place and returned."""
    _sample_map(photo, source, out)
    return out


@njit(cache=True, parallel=True)
def _inverse_map(field, iterations, out):
    h, w = field.shape[0], field.shape[1]
    for y in prange(h):
        px = 0.0
        py = 0.0
        prev_ok = False
        for x in range(w):
            sx, sy, prev_ok = _solve_continued(field, x, y, px, py, prev_ok, iterations)
            px = sx
            py = sy
            out[y, x, 0] = min(max(sx, 0.0), w - 1.0)
            out[y, x, 1] = min(max(sy, 0.0), h - 1.0)


def inverse_map(field: np.ndarray, *, iterations: int, out: np.ndarray) -> np.ndarray:
    """Where each grid point of the output comes from: the inverse of ``field``.

    Parameters
    ----------
    field : (h, w, 2) float32 forward displacement on a grid, in grid units.
    iterations : at most this many Newton steps solving ``y + field(y) = x``, from the
        left neighbour's solution or ``x - field(x)`` (``_solve_continued``); exact for a
        constant field after one.
    out : (h, w, 2) float32, source (x, y) per grid point in grid units, clipped to the
        grid; written in place and returned. Zero field gives the identity grid.
    """
    _inverse_map(field, iterations, out)
    return out


# Where the field folds (a lower lip rolling down over the skin beneath it, a nose over the
# far cheek), an output pixel has several sources: the sheet in front, the turned-over one
# under it, the one behind. Each row's continuation keeps to whichever sheet it came along
# on, so neighbouring rows could show different ones: streaks. A pixel whose neighbour's
# source (moved by the step between them) lies farther than this from its own may be on
# another sheet.
SHEET_GAP_PX = 1.5


@njit(cache=True, inline="always")
def _front_score(field, x, y, sx, sy):
    """How far in front a source (sx, sy) of output pixel (x, y) lies: its displacement
    squared (what moved more passes over what moved less: a lip over the skin it rolls
    onto, a chin over the neck, the near cheek over the far one), or -1 where it is no
    solution (not converged) or on a turned-over sheet."""
    u, v, ux, uy, vx, vy = _field_and_jacobian(field, sx, sy)
    rx = sx + u - x
    ry = sy + v - y
    if rx * rx + ry * ry > CONVERGED_PX * CONVERGED_PX:
        return -1.0
    if (1.0 + ux) * (1.0 + vy) - uy * vx <= 0.0:
        return -1.0
    return u * u + v * v


@njit(cache=True)
def _near_folds(field, reach, near, tmp, box):
    """near[y, x] = 1 within ``reach`` points (a square) of a cell of ``field`` whose
    forward differences turn it over (det(I + J) <= 0), else 0 (``tmp``: (h, w) uint8
    scratch). box = (y0, y1, x0, x1): the output points whose 4-neighbours' sources may lie
    there (the zone's bounding box grown by the largest displacement in it, and two
    points). Returns whether any cell turns over."""
    h, w = field.shape[0], field.shape[1]
    near[:, :] = 0
    y0, y1, x0, x1 = h, 0, w, 0
    for y in range(h - 1):
        for x in range(w - 1):
            ux = field[y, x + 1, 0] - field[y, x, 0]
            vx = field[y, x + 1, 1] - field[y, x, 1]
            uy = field[y + 1, x, 0] - field[y, x, 0]
            vy = field[y + 1, x, 1] - field[y, x, 1]
            if (1.0 + ux) * (1.0 + vy) - uy * vx > 0.0:
                continue
            if y1 <= y0:
                tmp[:, :] = 0
            near[y, x] = 1
            y0, y1, x0, x1 = min(y0, y), max(y1, y + 1), min(x0, x), max(x1, x + 1)
    if y1 <= y0:
        return False
    # The square as a running count along the rows (into tmp), then down the columns
    # (back into near).
    a, b = max(y0 - reach, 0), min(y1 + reach, h)
    c, d = max(x0 - reach, 0), min(x1 + reach, w)
    for y in range(y0, y1):
        count = 0
        for x in range(c, d + reach):      # x enters the window of x - reach
            if x < w:
                count += near[y, x]
            if x - 2 * reach - 1 >= c:
                count -= near[y, x - 2 * reach - 1]
            if x - reach >= c:
                tmp[y, x - reach] = 1 if count > 0 else 0
    for x in range(c, d):
        count = 0
        for y in range(a, b + reach):
            if y < h:
                count += tmp[y, x]
            if y - 2 * reach - 1 >= a:
                count -= tmp[y - 2 * reach - 1, x]
            if y - reach >= a:
                near[y - reach, x] = 1 if count > 0 else 0
    du = 0.0
    dv = 0.0
    for y in range(a, b):
        for x in range(c, d):
            if near[y, x]:
                du = max(du, abs(field[y, x, 0]))
                dv = max(dv, abs(field[y, x, 1]))
    box[0] = max(a - int(dv) - 2, 0)
    box[1] = min(b + int(dv) + 2, h)
    box[2] = max(c - int(du) - 2, 0)
    box[3] = min(d + int(du) + 2, w)
    return True


# One thread: the box is small, and waking a second costs more than its share (91 ms vs
# 8 ms for s9 x d10's frame 98 with the other core busy).
@njit(cache=True)
def _front_sheet(field, source, near, active, iterations, out, moved, box):
    h, w = field.shape[0], field.shape[1]
    for y in range(box[0], box[1]):
        for x in range(box[2], box[3]):
            bx = source[y, x, 0]
            by = source[y, x, 1]
            out[y, x, 0] = bx
            out[y, x, 1] = by
            moved[y, x] = 0
            if active[y, x] == 0:
                continue
            best = -2.0  # not scored yet: most pixels agree with every neighbour
            for k in range(4):
                ny = y + (1 if k == 0 else -1 if k == 1 else 0)
                nx = x + (1 if k == 2 else -1 if k == 3 else 0)
                if ny < 0 or ny >= h or nx < 0 or nx >= w:
                    continue
                sx0 = source[ny, nx, 0] + (x - nx)
                sy0 = source[ny, nx, 1] + (y - ny)
                if abs(sx0 - bx) + abs(sy0 - by) < SHEET_GAP_PX:
                    continue
                # Another sheet only where the field turns over (else: a stretch).
                if near[min(max(int(sy0 + 0.5), 0), h - 1), min(max(int(sx0 + 0.5), 0),
                                                                    w - 1)] == 0:
                    continue
                if best == -2.0:
                    best = _front_score(field, x, y, bx, by)
                sx, sy, r = _newton(field, x, y, sx0, sy0, iterations)
                if r > CONVERGED_PX:
                    continue
                score = _front_score(field, x, y, sx, sy)
                if score > best + 1e-3:
                    best = score
                    out[y, x, 0] = min(max(sx, 0.0), w - 1.0)
                    out[y, x, 1] = min(max(sy, 0.0), h - 1.0)
                    moved[y, x] = 1


@njit(cache=True)
def _next_active(moved, active, box):
    """active = 1 where a point or one of its 4-neighbours moved (within ``box``); returns
    how many moved."""
    total = 0
    for y in range(box[0], box[1]):
        for x in range(box[2], box[3]):
            a = moved[y, x]
            if y > box[0]:
                a |= moved[y - 1, x]
            if y < box[1] - 1:
                a |= moved[y + 1, x]
            if x > box[2]:
                a |= moved[y, x - 1]
            if x < box[3] - 1:
                a |= moved[y, x + 1]
            active[y, x] = a
            total += moved[y, x]
    return total


def front_sheets(field: np.ndarray, source: np.ndarray, *, iterations: int, passes: int,
                 reach: int, scratch: np.ndarray, near: np.ndarray, flags: np.ndarray,
                 box: np.ndarray) -> int:
    """Where ``field`` folds, each output pixel shows the sheet in front, in place on
    ``source`` (``inverse_map``'s answer for ``field``).

    Row by row the inverse keeps to the sheet it came along on, and rows next to each
    other may come along on different ones (streaks under a lower lip rolling over the
    skin, or the turned-over sheet in between). Each pass tries, at every pixel whose
    neighbour's source lies on another sheet (``SHEET_GAP_PX`` away, within ``reach``
    points of a turned-over cell), Newton from that source, and keeps the converged, not
    turned-over solution that moved most (``_front_score``); up to ``passes`` passes,
    each carrying the front a pixel on (the next pass looks again only beside what
    moved), until one changes nothing. Only the box of output pixels those sources can
    reach is visited; a field that nowhere turns over costs one scan of it.

    Parameters
    ----------
    field : (h, w, 2) float32 forward displacement, in grid units.
    source : (h, w, 2) float32 source (x, y) per output point, clipped to the grid; updated.
    iterations : Newton steps per try (from a neighbour's source on its sheet: a few).
    passes : at most this many passes.
    reach : points from a turned-over cell within which another sheet's sources lie.
    scratch : (h, w, 2) float32 buffer. near : (h, w) uint8 buffer. flags : (2, h, w)
        uint8 buffer. box : (4,) int64 buffer.

    Returns how many pixel changes the passes made (0 where nothing folds).
    """
    active, moved = flags[0], flags[1]
    if not _near_folds(field, reach, near, active, box):
        return 0
    y0, y1, x0, x1 = (int(v) for v in box)
    active[y0:y1, x0:x1] = 1
    # The neighbours just outside the box are read too: both buffers hold them.
    a, b = max(y0 - 1, 0), max(x0 - 1, 0)
    scratch[a:y1 + 1, b:x1 + 1] = source[a:y1 + 1, b:x1 + 1]
    total = 0
    src, dst = source, scratch
    for _ in range(passes):
        _front_sheet(field, src, near, active, iterations, dst, moved, box)
        n = _next_active(moved, active, box)
        src, dst = dst, src
        total += n
        if n == 0:
            break
    if src is not source:
        source[y0:y1, x0:x1] = src[y0:y1, x0:x1]
    return total
