"""Per-frame kernels of the still background: the warped person over the still plate
(``core.backdrop``; beyond the paper).

Offline (``warper.Warper``), exact: ``composite_map`` mixes the person at every pixel's
source (``warp.inverse_map``, ``warp.front_sheets``) over the plate here, by the person's
alpha there.

Real time (``warper.GridWarper``), cheap: the photo is still sampled by one ``cv2.remap`` of
the person layer; what changes is the map. ``classify_cells`` sorts the grid's cells by
where their corners' sources lie: deep in the person (warped as before), deep in the
background (the map set to the identity, so the remap reads the still photo there: the
plate), or near the person's edge. Only the cells near the edge, a band along the
silhouette, are then mixed per pixel by ``composite_cells``. Where no cell moves, the frame is
the plate from one frame to the next: ``plate_spans`` says which span of each band of rows
the remap must redo, and puts the plate back where the last frame's reached further. The
plain-numpy twins live in ``tests/naive.py``.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from reactive.core.kernels.warp import bilinear

# Cell kinds of ``classify_cells``: nothing to do (the remap is right), copy the plate
# (background cells next to moving ones, whose map the upsampling blends), mix per pixel.
CELL_DONE = 0
CELL_PLATE = 1
CELL_MIX = 2

# The distance maps of ``classify_cells`` hold px times this, in uint8 (so up to 63.75 px:
# farther is deep enough for any cell).
DEPTH_STEPS = 4.0
# Bilinear interpolation of a distance map overestimates the distance by at most half a
# pixel's diagonal; the uint8 steps add half a step.
_DEPTH_SLACK_PX = 0.7072 + 0.5 / DEPTH_STEPS
# A grid point's own distance less how far its source is suffices when it leaves this
# much (px): more than a cell of the usual grid needs; nearer the edge the map is read.
_ENOUGH_PX = 12.0
# Every point of a quadrilateral lies within this share of its diameter of one of its
# corners (a triangle's circumradius is at most its longest side over sqrt(3); an obtuse
# one's farthest point is half its longest side away).
_COVER = 0.5774


@njit(cache=True, inline="always")
def _mix(person, alpha, plate, sx, sy, x, y, out):
    """out[y, x] = person over plate by alpha, person and alpha read at (sx, sy)."""
    a = bilinear(alpha, sx, sy, 0) * (1.0 / 255.0)
    if a <= 0.0:
        for c in range(3):
            out[y, x, c] = plate[y, x, c]
    else:
        for c in range(3):
            val = a * bilinear(person, sx, sy, c) + (1.0 - a) * plate[y, x, c] + 0.5
            out[y, x, c] = np.uint8(min(max(val, 0.0), 255.0))


@njit(cache=True, parallel=True)
def _composite_map(person, alpha, plate, source, out):
    h, w = out.shape[0], out.shape[1]
    for y in prange(h):
        for x in range(w):
            _mix(person, alpha, plate, source[y, x, 0], source[y, x, 1], x, y, out)


def composite_map(person: np.ndarray, alpha: np.ndarray, plate: np.ndarray,
                  source: np.ndarray, *, out: np.ndarray) -> np.ndarray:
    """The warped person over the still plate.

    Parameters
    ----------
    person : (H, W, 3) uint8, the layer the warp moves (the photo's person, maybe shaded).
    alpha : (H, W, 1) uint8, the person's coverage 0..255, moved with it.
    plate : (H, W, 3) uint8, the still background.
    source : (H, W, 2) float32, each output pixel's source (x, y) in photo px
        (``warp.inverse_map`` on the pixel grid): person and alpha are read there
        (bilinear), the plate here.
    out : (H, W, 3) uint8, written in place and returned.
    """
    _composite_map(person, alpha, plate, source, out)
    return out


@njit(cache=True)
def _classify_cells(source, depth, own, still, scale_x, scale_y, disp, deep_in, deep_out,
                    moving, kinds, cells):
    gh, gw = source.shape[0], source.shape[1]
    # Per grid point: the displacement to upsample (px), and how far its source lies from
    # the person's soft edge, inside and outside (px, a safe lower bound): the point's own
    # distance less how far its source is (distance changes no faster than position), or,
    # where that leaves less than _ENOUGH_PX, the distance map read at the source.
    for i in range(gh):
        for j in range(gw):
            sx = source[i, j, 0]
            sy = source[i, j, 1]
            dx = (sx - j) * scale_x
            dy = (sy - i) * scale_y
            disp[i, j, 0] = dx
            disp[i, j, 1] = dy
            moved = np.sqrt(dx * dx + dy * dy)
            din = own[i, j, 0] - moved
            dout = own[i, j, 1] - moved
            if din < _ENOUGH_PX and dout < _ENOUGH_PX:
                px = (sx + 0.5) * scale_x - 0.5
                py = (sy + 0.5) * scale_y - 0.5
                din = bilinear(depth, px, py, 0) * (1.0 / DEPTH_STEPS) - _DEPTH_SLACK_PX
                dout = bilinear(depth, px, py, 1) * (1.0 / DEPTH_STEPS) - _DEPTH_SLACK_PX
            deep_in[i, j] = din
            deep_out[i, j] = dout
            moving[i, j] = 0
    for i in range(gh - 1):
        for j in range(gw - 1):
            a = min(min(deep_in[i, j], deep_in[i, j + 1]),
                    min(deep_in[i + 1, j], deep_in[i + 1, j + 1]))
            b = min(min(deep_out[i, j], deep_out[i, j + 1]),
                    min(deep_out[i + 1, j], deep_out[i + 1, j + 1]))
            kind = CELL_MIX
            if a > 0.0 or (b > 0.0 and still[i, j]):
                # Every pixel of the cell takes its source from inside the quadrilateral of
                # its corners' sources: within _COVER of its diameter (at most its bounding
                # box's diagonal) of a corner's.
                x0 = min(min(source[i, j, 0], source[i, j + 1, 0]),
                         min(source[i + 1, j, 0], source[i + 1, j + 1, 0]))
                x1 = max(max(source[i, j, 0], source[i, j + 1, 0]),
                         max(source[i + 1, j, 0], source[i + 1, j + 1, 0]))
                y0 = min(min(source[i, j, 1], source[i, j + 1, 1]),
                         min(source[i + 1, j, 1], source[i + 1, j + 1, 1]))
                y1 = max(max(source[i, j, 1], source[i, j + 1, 1]),
                         max(source[i + 1, j, 1], source[i + 1, j + 1, 1]))
                dx = (x1 - x0) * scale_x
                dy = (y1 - y0) * scale_y
                reach2 = _COVER * _COVER * (dx * dx + dy * dy)
                if a > 0.0 and a * a > reach2:
                    kind = CELL_DONE               # deep in the person: as warped
                elif b > 0.0 and b * b > reach2 and still[i, j]:
                    kinds[i, j] = 3                # deep in the still background
                    continue
            kinds[i, j] = kind
            moving[i, j] = 1
            moving[i, j + 1] = 1
            moving[i + 1, j] = 1
            moving[i + 1, j + 1] = 1
    # Background only around it: the point stays where it is, so the remap reads the still
    # photo (which is the plate there).
    for i in range(gh):
        for j in range(gw):
            if not moving[i, j]:
                disp[i, j, 0] = 0.0
                disp[i, j, 1] = 0.0
    n = 0
    for i in range(gh - 1):
        for j in range(gw - 1):
            kind = kinds[i, j]
            if kind == 3:
                if moving[i, j] or moving[i, j + 1] or moving[i + 1, j] or moving[i + 1, j + 1]:
                    kind = CELL_PLATE
                else:
                    continue
            elif kind == CELL_DONE:
                continue
            cells[n, 0] = i
            cells[n, 1] = j
            cells[n, 2] = kind
            n += 1
    return n


def classify_cells(source: np.ndarray, depth: np.ndarray, own: np.ndarray, still: np.ndarray,
                   scale: tuple[float, float], *, disp: np.ndarray, deep_in: np.ndarray,
                   deep_out: np.ndarray, moving: np.ndarray, kinds: np.ndarray,
                   cells: np.ndarray) -> int:
    """Sort the grid's cells for compositing; write the displacement to upsample.

    Parameters
    ----------
    source : (h, w, 2) float32, each grid point's source (x, y) in grid units (the inverse
        map, ``inverse_map``).
    depth : (H, W, 2) uint8, each photo pixel's distance to the person's soft edge, px
        times DEPTH_STEPS, capped at 255: [..., 0] to the nearest pixel not fully person
        (0 outside the person), [..., 1] to the nearest with any person (0 on it).
    own : (h, w, 2) float32, the same two distances at each grid point itself (px).
    still : (h - 1, w - 1) bool, the cell's pixels are the same in the person layer and
        the plate (the background the fill left alone).
    scale : photo px per grid unit (x, y); grid point (i, j) sits at photo px
        ((j + 0.5) scale_x - 0.5, (i + 0.5) scale_y - 0.5).
    disp : (h, w, 2) float32, written: the displacement in px, 0 at points whose cells
        are all deep in the still background.
    deep_in, deep_out : (h, w) float32 scratch; moving : (h, w) uint8 scratch;
    kinds : (h - 1, w - 1) uint8 scratch.
    cells : ((h - 1) * (w - 1), 3) int32, written: row, column and kind (CELL_PLATE or
        CELL_MIX) of each cell that ``composite_cells`` must do.

    Returns the number of cells written.
    """
    return _classify_cells(source, depth, own, still, float(scale[0]), float(scale[1]), disp,
                           deep_in, deep_out, moving, kinds, cells)


# ``alpha_blocks`` states: the 2 x 2 pixels from (y, x) on all person, all background, or
# mixed (the bilinear alpha must be read).
BLOCK_MIXED = 0
BLOCK_OUT = 1
BLOCK_IN = 2


def alpha_blocks(alpha: np.ndarray) -> np.ndarray:
    """Per pixel, whether the 2 x 2 block of ``alpha`` (H, W) uint8 from it (the taps a
    bilinear read between it and the next pixel takes; replicated at the last row and
    column) is all 255 (BLOCK_IN), all 0 (BLOCK_OUT) or mixed (BLOCK_MIXED). (H, W) uint8,
    made once per photo: the edge composite reads one byte where its alpha is plain."""
    pad = np.pad(np.asarray(alpha, np.uint8), ((0, 1), (0, 1)), mode="edge")
    quad = [pad[:-1, :-1], pad[:-1, 1:], pad[1:, :-1], pad[1:, 1:]]
    low, high = np.minimum.reduce(quad), np.maximum.reduce(quad)
    return np.where(low == 255, BLOCK_IN, np.where(high == 0, BLOCK_OUT, BLOCK_MIXED)
                    ).astype(np.uint8)


@njit(cache=True)
def _composite_cells(frame, pixel_map, alpha, blocks, plate, cells, n, row_start, col_start):
    h, w = frame.shape[0], frame.shape[1]
    for k in range(n):
        i = cells[k, 0]
        j = cells[k, 1]
        y0 = row_start[i]
        y1 = row_start[i + 1] if i + 1 < row_start.shape[0] else h
        x0 = col_start[j]
        x1 = col_start[j + 1] if j + 1 < col_start.shape[0] else w
        if cells[k, 2] == CELL_PLATE:
            for y in range(y0, y1):
                for x in range(x0, x1):
                    for c in range(3):
                        frame[y, x, c] = plate[y, x, c]
            continue
        for y in range(y0, y1):
            for x in range(x0, x1):
                # The alpha at the source, interpolated as the remap interpolated the
                # person's colour there: where the map stretches the edge, the nearest
                # source pixel's alpha came out stair-stepped. (``bilinear``'s taps; most
                # pixels here read all person or all background, ``blocks`` says so.)
                sx = min(max(pixel_map[y, x, 0], 0.0), w - 1.0)
                sy = min(max(pixel_map[y, x, 1], 0.0), h - 1.0)
                u0 = int(sx)
                v0 = int(sy)
                block = blocks[v0, u0]
                if block == BLOCK_IN:
                    continue
                if block == BLOCK_OUT:
                    for c in range(3):
                        frame[y, x, c] = plate[y, x, c]
                    continue
                u1 = min(u0 + 1, w - 1)
                v1 = min(v0 + 1, h - 1)
                ax = sx - u0
                ay = sy - v0
                a = ((alpha[v0, u0, 0] * (1.0 - ax) + alpha[v0, u1, 0] * ax) * (1.0 - ay)
                     + (alpha[v1, u0, 0] * (1.0 - ax) + alpha[v1, u1, 0] * ax) * ay
                     ) * (1.0 / 255.0)
                for c in range(3):
                    val = a * frame[y, x, c] + (1.0 - a) * plate[y, x, c] + 0.5
                    frame[y, x, c] = np.uint8(min(max(val, 0.0), 255.0))


def composite_cells(frame: np.ndarray, pixel_map: np.ndarray, alpha: np.ndarray,
                    plate: np.ndarray, cells: np.ndarray, n: int, row_start: np.ndarray,
                    col_start: np.ndarray, blocks: np.ndarray | None = None) -> np.ndarray:
    """Finish the cells ``classify_cells`` listed, in place on ``frame``.

    Parameters
    ----------
    frame : (H, W, 3) uint8, the remapped person layer; its listed cells are rewritten:
        the plate (CELL_PLATE), or the person mixed over the plate by its alpha at each
        pixel's source, bilinear (CELL_MIX: the remap read the person's colour there
        already).
    pixel_map : (H, W, 2) float32, each pixel's source (x, y) in px, as the remap used.
    alpha : (H, W, 1) uint8, the person's coverage; plate : (H, W, 3) uint8.
    cells, n : as from ``classify_cells``.
    row_start : (h - 1,) int32, the first pixel row of each cell row (the pixels the
        upsampling interpolates between grid rows i and i + 1; the first and last cell
        rows also hold the rows beyond the grid's first and last point); the next cell
        row's start ends it, the last ends at H. col_start : (w - 1,) the same for columns.
    blocks : (H, W) uint8, ``alpha_blocks(alpha[..., 0])`` (made here when None: pass it
        per frame to allocate nothing).
    """
    if blocks is None:
        blocks = alpha_blocks(alpha[..., 0])
    _composite_cells(frame, pixel_map, alpha, blocks, plate, cells, n, row_start, col_start)
    return frame


@njit(cache=True)
def _plate_spans(moving, band, row_start, col_start, frame, plate, spans):
    gh, gw = moving.shape[0], moving.shape[1]
    h, w = frame.shape[0], frame.shape[1]
    for b in range(spans.shape[0]):
        i0 = b * band
        i1 = min(i0 + band, gh - 1)
        # The band's cells with a moving corner: corners on grid rows i0..i1.
        lo = gw
        hi = -1
        for i in range(i0, i1 + 1):
            for j in range(min(lo, gw)):
                if moving[i, j]:
                    lo = j
                    break
            for j in range(gw - 1, max(hi, lo - 1), -1):
                if moving[i, j]:
                    hi = j
                    break
        x0 = 0
        x1 = 0
        if hi >= 0:
            c0 = max(lo - 1, 0)
            c1 = min(hi, gw - 2)
            x0 = col_start[c0]
            x1 = col_start[c1 + 1] if c1 + 1 < col_start.shape[0] else w
        y0 = row_start[i0]
        y1 = row_start[i1] if i1 < row_start.shape[0] else h
        # The last frame's span less this one's: back to the plate.
        p0 = spans[b, 0]
        p1 = spans[b, 1]
        if x1 > x0:
            a0, a1, b0, b1 = p0, min(p1, x0), max(p0, x1), p1
        else:
            a0, a1, b0, b1 = p0, p1, 0, 0
        for y in range(y0, y1):
            for x in range(a0, a1):
                for c in range(3):
                    frame[y, x, c] = plate[y, x, c]
            for x in range(b0, b1):
                for c in range(3):
                    frame[y, x, c] = plate[y, x, c]
        spans[b, 0] = x0
        spans[b, 1] = x1


def plate_spans(moving: np.ndarray, band: int, row_start: np.ndarray, col_start: np.ndarray,
                *, frame: np.ndarray, plate: np.ndarray, spans: np.ndarray) -> np.ndarray:
    """Where this frame must be remapped, band by band; the plate put back where the last
    frame was remapped and this one is not.

    Outside the cells with a moving corner (``classify_cells``'s ``moving``) a frame is the
    still plate: the map is the identity there and the person layer the plate. So ``frame``
    keeps the plate there from one frame to the next, and only each band's span of cells
    with a moving corner is remapped (and, along the edge, composited).

    Parameters
    ----------
    moving : (h, w) uint8, as from ``classify_cells``.
    band : grid cells per band (rows): cell rows ``[b band, (b + 1) band)`` are band b.
    row_start, col_start : as ``composite_cells``'s.
    frame : (H, W, 3) uint8, the last frame (the plate where it was not remapped); the
        pixels the last frame's spans held and this frame's do not are set to ``plate``.
    plate : (H, W, 3) uint8.
    spans : (ceil((h - 1) / band), 2) int32, on entry the last frame's spans, on exit
        this frame's: the columns [x0, x1) px each band must remap (x0 == x1: none).
        Band b covers the pixel rows of its cells, from ``row_start[b band]``.
    """
    _plate_spans(moving, band, row_start, col_start, frame, plate, spans)
    return spans
