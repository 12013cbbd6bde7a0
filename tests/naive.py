"""Slow, obvious numpy twins of the numba kernels (stumpy's tests/naive.py habit): the warp's
(``reactive.core.kernels.warp``), the still background's (``reactive.core.kernels.composite``),
the eye layer's (``reactive.core.kernels.eyes``) and the ratio images' patch search
(``precompute.details``)."""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from scipy.spatial import Delaunay


def interpolate_offsets(points: np.ndarray, offsets: np.ndarray, shape) -> np.ndarray:
    """Piecewise-linear field by direct barycentric interpolation over a fresh Delaunay."""
    h, w = shape
    tri = Delaunay(points.astype(np.float64))
    yy, xx = np.mgrid[0:h, 0:w]
    pix = np.stack([xx.ravel(), yy.ravel()], 1).astype(np.float64)
    out = np.zeros((h * w, 2))
    for n, (x, y) in enumerate(pix):
        s = tri.find_simplex((x, y))
        if s < 0:
            continue
        a, b, c = points[tri.simplices[s]].astype(np.float64)
        m = np.array([[a[0] - c[0], b[0] - c[0]], [a[1] - c[1], b[1] - c[1]]])
        l1, l2 = np.linalg.solve(m, np.array([x - c[0], y - c[1]]))
        l3 = 1 - l1 - l2
        o = offsets[tri.simplices[s]].astype(np.float64)
        out[n] = l1 * o[0] + l2 * o[1] + l3 * o[2]
    return out.reshape(h, w, 2).astype(np.float32)


def box_by_level(field: np.ndarray, level: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """Per pixel: mean over the (2r+1)^2 window clipped to the image, r from the level,
    blended linearly between the two neighbouring radii."""
    h, w = level.shape

    def box(y, x, r):
        win = field[max(y - r, 0):y + r + 1, max(x - r, 0):x + r + 1]
        return win.reshape(-1, field.shape[2]).mean(axis=0)

    out = np.empty(field.shape, dtype=np.float64)
    for y in range(h):
        for x in range(w):
            lv = float(level[y, x])
            if lv <= 0:
                out[y, x] = field[y, x]
                continue
            k = min(int(np.floor(lv)), len(radii) - 1)
            t = lv - k
            m = box(y, x, radii[k])
            if t > 0 and k < len(radii) - 1:
                m = (1 - t) * m + t * box(y, x, radii[k + 1])
            out[y, x] = m
    return out


def smooth_field(field, level, radii, hold, passes):
    f = field.astype(np.float64)
    for _ in range(passes):
        f = box_by_level(f, level, radii)
    return (f * hold[..., None]).astype(np.float32)


def _bilinear(img: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    h, w = img.shape[:2]
    x = np.clip(x, 0, w - 1)
    y = np.clip(y, 0, h - 1)
    chans = [ndimage.map_coordinates(img[..., c].astype(np.float64), [y, x], order=1,
                                     mode="nearest") for c in range(img.shape[2])]
    return np.stack(chans, axis=-1)


def _field_and_jacobian(field, x, y):
    h, w = field.shape[:2]
    x = np.clip(x, 0, w - 1)
    y = np.clip(y, 0, h - 1)
    x0 = np.minimum(np.floor(x).astype(int), w - 2)
    y0 = np.minimum(np.floor(y).astype(int), h - 2)
    fx, fy = (x - x0)[..., None], (y - y0)[..., None]
    a, b = field[y0, x0].astype(np.float64), field[y0, x0 + 1].astype(np.float64)
    c, d = field[y0 + 1, x0].astype(np.float64), field[y0 + 1, x0 + 1].astype(np.float64)
    val = (a * (1 - fx) + b * fx) * (1 - fy) + (c * (1 - fx) + d * fx) * fy
    dx = (b - a) * (1 - fy) + (d - c) * fy
    dy = (c - a) * (1 - fx) + (d - b) * fx
    return val, dx, dy


MAX_STEP_PX = 4.0
CONVERGED_PX = 0.25


TOLERANCE_PX = 1e-3


def _newton(field, x, y, sx, sy, iterations):
    done = np.zeros(np.shape(sx), bool)
    for k in range(iterations + 1):
        f, dx, dy = _field_and_jacobian(field, sx, sy)
        rx, ry = sx + f[..., 0] - x, sy + f[..., 1] - y
        r = np.hypot(rx, ry)
        done |= r < TOLERANCE_PX
        if k == iterations or done.all():
            return sx, sy, r
        j00, j01, j10, j11 = 1 + dx[..., 0], dy[..., 0], dx[..., 1], 1 + dy[..., 1]
        det = j00 * j11 - j01 * j10
        ok = det > 0.05
        safe = np.where(ok, det, 1.0)
        stx = np.where(ok, (j11 * rx - j01 * ry) / safe, rx)
        sty = np.where(ok, (j00 * ry - j10 * rx) / safe, ry)
        n = np.hypot(stx, sty)
        scale = np.where(n > MAX_STEP_PX, MAX_STEP_PX / np.maximum(n, 1e-12), 1.0)
        scale = np.where(done, 0.0, scale)   # converged pixels stay where they stopped
        sx, sy = sx - stx * scale, sy - sty * scale


def inverse_coords(field: np.ndarray, iterations: int) -> tuple[np.ndarray, np.ndarray]:
    """Newton per pixel from the left neighbour's solution + 1 px when that converged (else
    from x - field(x)); where that start fails, from x - field(x). All rows at once,
    columns one after another. Returns the source (x, y) of every pixel, unclipped."""
    h, w = field.shape[:2]
    field = field.astype(np.float64)
    ys = np.arange(h, dtype=np.float64)
    sx_all = np.zeros((h, w))
    sy_all = np.zeros((h, w))
    px = py = np.zeros(h)
    prev_ok = np.zeros(h, bool)
    for x in range(w):
        lx, ly = x - field[:, x, 0], ys - field[:, x, 1]
        sx, sy, r = _newton(field, x, ys, np.where(prev_ok, px + 1, lx),
                            np.where(prev_ok, py, ly), iterations)
        sx2, sy2, r2 = _newton(field, x, ys, lx, ly, iterations)
        retry = prev_ok & (r > CONVERGED_PX) & (r2 < r)
        sx, sy, r = np.where(retry, sx2, sx), np.where(retry, sy2, sy), np.where(retry, r2, r)
        px, py, prev_ok = sx, sy, r <= CONVERGED_PX
        sx_all[:, x], sy_all[:, x] = sx, sy
    return sx_all, sy_all


def inverse_map(field: np.ndarray, iterations: int) -> np.ndarray:
    """The inverse as coordinates, clipped to the grid: (h, w, 2)."""
    h, w = field.shape[:2]
    sx, sy = inverse_coords(field, iterations)
    return np.stack([np.clip(sx, 0, w - 1), np.clip(sy, 0, h - 1)], -1).astype(np.float32)


def _newton_one(field, x, y, sx, sy, iterations):
    """``_newton`` for one pixel: (sx, sy, residual)."""
    a, b, r = _newton(field.astype(np.float64), np.float64(x), np.array([float(y)]),
                      np.array([sx], np.float64), np.array([sy], np.float64), iterations)
    return float(a[0]), float(b[0]), float(r[0])


def _field_and_jacobian_one(field, sx, sy):
    val, dx, dy = _field_and_jacobian(field, np.array(sx), np.array(sy))
    return val[0], val[1], dx[0], dy[0], dx[1], dy[1]


def front_score(field, x, y, sx, sy):
    """The displacement squared at source (sx, sy) of output pixel (x, y), or -1 where it
    does not solve x (residual > CONVERGED_PX) or lies on a turned-over sheet."""
    f = field.astype(np.float64)
    u, v, ux, uy, vx, vy = _field_and_jacobian_one(f, sx, sy)
    if np.hypot(sx + u - x, sy + v - y) > CONVERGED_PX:
        return -1.0
    if (1 + ux) * (1 + vy) - uy * vx <= 0.0:
        return -1.0
    return u * u + v * v


def near_folds(field, reach):
    """(h, w) bool: within ``reach`` points (a square about the cell's first corner) of a
    cell whose forward differences turn it over (det(I + J) <= 0)."""
    f = field.astype(np.float64)
    h, w = f.shape[:2]
    ux = f[:-1, 1:, 0] - f[:-1, :-1, 0]
    vx = f[:-1, 1:, 1] - f[:-1, :-1, 1]
    uy = f[1:, :-1, 0] - f[:-1, :-1, 0]
    vy = f[1:, :-1, 1] - f[:-1, :-1, 1]
    over = (1 + ux) * (1 + vy) - uy * vx <= 0
    near = np.zeros((h, w), bool)
    for y, x in zip(*np.nonzero(over)):
        near[max(y - reach, 0):y + reach + 1, max(x - reach, 0):x + reach + 1] = True
    return near


def front_sheets(field, source, iterations, passes, gap=1.5, reach=4):
    """Per pass, every active pixel (all at first, then those beside a pixel that moved)
    tries Newton from each 4-neighbour's source moved by the step between them, where that
    lies ``gap`` or more (L1) from its own and within ``near_folds``, and keeps the
    converged solution with the highest ``front_score`` (more than 1e-3 above its own);
    until a pass changes nothing. Returns the sources (h, w, 2) float32."""
    h, w = field.shape[:2]
    src = source.astype(np.float64)
    near = near_folds(field, reach)
    if not near.any():
        return source.copy()
    active = np.ones((h, w), bool)
    for _ in range(passes):
        out = src.copy()
        moved = np.zeros((h, w), bool)
        for y, x in zip(*np.nonzero(active)):
            bx, by = src[y, x]
            best = None
            for dy, dx in ((1, 0), (-1, 0), (0, 1), (0, -1)):
                ny, nx = y + dy, x + dx
                if not (0 <= ny < h and 0 <= nx < w):
                    continue
                sx0, sy0 = src[ny, nx, 0] - dx, src[ny, nx, 1] - dy
                if abs(sx0 - bx) + abs(sy0 - by) < gap:
                    continue
                if not near[min(max(int(sy0 + 0.5), 0), h - 1),
                            min(max(int(sx0 + 0.5), 0), w - 1)]:
                    continue
                if best is None:
                    best = front_score(field, x, y, bx, by)
                sx, sy, r = _newton_one(field, x, y, sx0, sy0, iterations)
                if r > CONVERGED_PX:
                    continue
                score = front_score(field, x, y, sx, sy)
                if score > best + 1e-3:
                    best = score
                    out[y, x] = np.clip(sx, 0, w - 1), np.clip(sy, 0, h - 1)
                    moved[y, x] = True
        src = out
        if not moved.any():
            break
        active = moved.copy()
        active[1:] |= moved[:-1]
        active[:-1] |= moved[1:]
        active[:, 1:] |= moved[:, :-1]
        active[:, :-1] |= moved[:, 1:]
    return src.astype(np.float32)


def inverse_sample(photo: np.ndarray, field: np.ndarray, iterations: int) -> np.ndarray:
    """``inverse_coords``, then bilinear sampling of ``photo`` there."""
    sx_all, sy_all = inverse_coords(field, iterations)
    v = _bilinear(photo, sx_all, sy_all)
    return np.clip(np.floor(v + 0.5), 0, 255).astype(np.uint8)


# --- the still background's kernels (``reactive.core.kernels.composite``) -------------------

def inverse_composite(person, alpha, plate, field, iterations):
    """``inverse_coords``, then the person sampled there mixed over the plate here by the
    alpha sampled there; the plate alone where that alpha is 0."""
    sx, sy = inverse_coords(field, iterations)
    a = _bilinear(alpha, sx, sy)[..., :1] / 255.0
    colour = _bilinear(person, sx, sy)
    mixed = np.floor(a * colour + (1 - a) * plate.astype(np.float64) + 0.5)
    out = np.where(a > 0, np.clip(mixed, 0, 255), plate)
    return out.astype(np.uint8)


def classify_cells(source, depth, own, still, scale):
    """Per cell: its corners' sources in px, how far each lies from the person's soft
    edge inside and outside (the point's own distance less how far its source is; where
    both leave less than 12 px, the pixel maps read bilinearly, less their slack), and
    whether every pixel's source (within 0.5774 of the diagonal of the corners' bounding
    box of one of them) is surely person or surely still background. Returns (disp (h, w, 2), cells:
    list of (row, column, kind))."""
    steps, slack, cover = 4.0, 0.7072 + 0.125, 0.5774
    gh, gw = source.shape[:2]
    gy, gx = np.mgrid[0:gh, 0:gw]
    disp = np.stack([(source[..., 0] - gx) * scale[0], (source[..., 1] - gy) * scale[1]], -1)
    px = (source[..., 0] + 0.5) * scale[0] - 0.5
    py = (source[..., 1] + 0.5) * scale[1] - 0.5
    both = _bilinear(depth, px.ravel(), py.ravel()) / steps - slack
    moved = np.hypot(disp[..., 0], disp[..., 1])
    deep_in, deep_out = own[..., 0] - moved, own[..., 1] - moved
    read = (deep_in < 12.0) & (deep_out < 12.0)
    deep_in = np.where(read, both[:, 0].reshape(gh, gw), deep_in)
    deep_out = np.where(read, both[:, 1].reshape(gh, gw), deep_out)
    kinds = {}
    moving = np.zeros((gh, gw), bool)
    for i in range(gh - 1):
        for j in range(gw - 1):
            corners = np.stack([px[i:i + 2, j:j + 2].ravel(), py[i:i + 2, j:j + 2].ravel()], 1)
            reach = cover * np.linalg.norm(corners.max(axis=0) - corners.min(axis=0))
            a = deep_in[i:i + 2, j:j + 2].min()
            b = deep_out[i:i + 2, j:j + 2].min()
            if a > 0 and a > reach:
                kinds[i, j] = "person"
            elif b > 0 and b > reach and still[i, j]:
                kinds[i, j] = "background"
                continue
            else:
                kinds[i, j] = "mix"
            moving[i:i + 2, j:j + 2] = True
    disp[~moving] = 0.0
    cells = []
    for (i, j), kind in sorted(kinds.items()):
        if kind == "mix":
            cells.append((i, j, 2))
        elif kind == "background" and moving[i:i + 2, j:j + 2].any():
            cells.append((i, j, 1))
    return disp.astype(np.float32), cells


def composite_cells(frame, pixel_map, alpha, plate, cells, row_start, col_start):
    """The listed cells of ``frame`` rewritten: the plate (kind 1), or frame over plate by
    the alpha at each pixel's source, bilinear with the edge replicated (kind 2). Returns a
    new frame."""
    h, w = frame.shape[:2]
    out = frame.copy()
    rows = list(row_start) + [h]
    cols = list(col_start) + [w]
    for i, j, kind in cells:
        ys, xs = slice(rows[i], rows[i + 1]), slice(cols[j], cols[j + 1])
        if kind == 1:
            out[ys, xs] = plate[ys, xs]
            continue
        m = pixel_map[ys, xs].reshape(-1, 2).astype(np.float64)
        sx, sy = np.clip(m[:, 0], 0, w - 1), np.clip(m[:, 1], 0, h - 1)
        x0, y0 = sx.astype(int), sy.astype(int)
        x1, y1 = np.minimum(x0 + 1, w - 1), np.minimum(y0 + 1, h - 1)
        ax, ay = sx - x0, sy - y0
        al = alpha[..., 0].astype(np.float64)
        a = ((al[y0, x0] * (1 - ax) + al[y0, x1] * ax) * (1 - ay)
             + (al[y1, x0] * (1 - ax) + al[y1, x1] * ax) * ay)
        a = np.clip(a / 255.0, 0.0, 1.0)[:, None]
        f = frame[ys, xs].reshape(-1, 3).astype(np.float64)
        p = plate[ys, xs].reshape(-1, 3).astype(np.float64)
        mixed = np.where(a >= 1.0, f, np.floor(a * f + (1.0 - a) * p + 0.5))
        out[ys, xs] = mixed.reshape(out[ys, xs].shape).astype(np.uint8)
    return out


def plate_spans(moving, band, row_start, col_start, frame, plate, spans):
    """Per band of ``band`` cell rows: the pixel columns from the first to the last cell
    with a moving corner ([0, 0) when none); the plate written where the band's old span
    held pixels and its new one holds none. Returns (frame, spans), new arrays."""
    gh, gw = moving.shape
    h, w = frame.shape[:2]
    rows = list(row_start) + [h]
    cols = list(col_start) + [w]
    touched = (moving[:-1, :-1] | moving[1:, :-1] | moving[:-1, 1:] | moving[1:, 1:]) > 0
    out, new = frame.copy(), np.zeros_like(spans)
    for b in range(len(spans)):
        i0, i1 = b * band, min((b + 1) * band, gh - 1)
        js = np.nonzero(touched[i0:i1].any(axis=0))[0]
        if len(js):
            new[b] = cols[js[0]], cols[js[-1] + 1]
        old = np.zeros(w, bool)
        old[spans[b, 0]:spans[b, 1]] = True
        old[new[b, 0]:new[b, 1]] = False
        out[rows[i0]:rows[i1], old] = plate[rows[i0]:rows[i1], old]
    return out, new


# --- the eye layer's kernels ---------------------------------------------------------------

def bilinear_points(img, sx, sy, *, zero_outside=False):
    """img (h, w, C) at float coordinates (N,), edge replicated or zero outside. (N, C)."""
    h, w = img.shape[:2]
    img = img.astype(np.float64)
    if not zero_outside:
        sx, sy = np.clip(sx, 0, w - 1), np.clip(sy, 0, h - 1)
    x0, y0 = np.floor(sx).astype(int), np.floor(sy).astype(int)
    ax, ay = (sx - x0)[:, None], (sy - y0)[:, None]
    out = np.zeros((len(sx), img.shape[2]))
    for dy, wy in ((0, 1 - ay), (1, ay)):
        for dx, wx in ((0, 1 - ax), (1, ax)):
            xx, yy = x0 + dx, y0 + dy
            if zero_outside:
                ok = (xx >= 0) & (xx < w) & (yy >= 0) & (yy < h)
                v = np.zeros_like(out)
                v[ok] = img[yy[ok], xx[ok]]
            else:
                v = img[np.clip(yy, 0, h - 1), np.clip(xx, 0, w - 1)]
            out += wx * wy * v
    return out


def raster_triangles(photo, tri_now, lin, off, live, out):
    """Each live triangle's pixel centres (edges included) sampled from ``photo`` through its
    affine, by solving for the barycentric coordinates of every pixel."""
    h, w = out.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    for t in range(len(tri_now)):
        if not live[t]:
            continue
        a, b, c = tri_now[t]
        m = np.array([[b[0] - a[0], c[0] - a[0]], [b[1] - a[1], c[1] - a[1]]])
        if abs(np.linalg.det(m)) < 1e-9:
            continue
        l1, l2 = np.linalg.solve(m, np.stack([xx.ravel() - a[0], yy.ravel() - a[1]]))
        inside = (l1 >= -1e-6) & (l2 >= -1e-6) & (1 - l1 - l2 >= -1e-6)
        sx = lin[t, 0, 0] * xx.ravel() + lin[t, 0, 1] * yy.ravel() + off[t, 0]
        sy = lin[t, 1, 0] * xx.ravel() + lin[t, 1, 1] * yy.ravel() + off[t, 1]
        vals = np.clip(bilinear_points(photo, sx, sy) + 0.5, 0, 255).astype(np.uint8)
        out[inside.reshape(h, w)] = vals[inside]


def raster_triangles_over(rgba, tri_now, lin, off, live, out, opacity, photo, shaded,
                          lin_s, off_s, shade, texture, m_tex):
    """Each live triangle's pixel centres: the premultiplied RGBA sampled through its affine
    (zero outside), plus its alpha times ``texture`` sampled through ``m_tex`` (zero
    outside), times the ratio shaded / photo sampled through ``lin_s``, ``off_s`` when
    ``shade`` (clipped to [1/4, 4]), laid over ``out`` with ``opacity``."""
    h, w = out.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    px, py = xx.ravel(), yy.ravel()
    for t in range(len(tri_now)):
        if not live[t]:
            continue
        a, b, c = tri_now[t]
        m = np.array([[b[0] - a[0], c[0] - a[0]], [b[1] - a[1], c[1] - a[1]]])
        if abs(np.linalg.det(m)) < 1e-9:
            continue
        l1, l2 = np.linalg.solve(m, np.stack([px - a[0], py - a[1]]))
        inside = (l1 >= -1e-6) & (l2 >= -1e-6) & (1 - l1 - l2 >= -1e-6)
        sx = lin[t, 0, 0] * px + lin[t, 0, 1] * py + off[t, 0]
        sy = lin[t, 1, 0] * px + lin[t, 1, 1] * py + off[t, 1]
        layer = bilinear_points(rgba, sx, sy, zero_outside=True)
        ratio = np.ones((len(px), 3))
        if shade:
            qx = lin_s[t, 0, 0] * px + lin_s[t, 0, 1] * py + off_s[t, 0]
            qy = lin_s[t, 1, 0] * px + lin_s[t, 1, 1] * py + off_s[t, 1]
            ratio = np.clip((bilinear_points(shaded, qx, qy) + 1.0)
                            / (bilinear_points(photo, qx, qy) + 1.0), 0.25, 4.0)
        alpha = layer[:, 3:] * opacity
        tx = m_tex[0, 0] * px + m_tex[0, 1] * py + m_tex[0, 2]
        ty = m_tex[1, 0] * px + m_tex[1, 1] * py + m_tex[1, 2]
        grain = bilinear_points(texture, tx, ty, zero_outside=True)
        flat = out.reshape(-1, 3).astype(np.float64)
        new = flat * (1.0 - alpha) + (layer[:, :3] + layer[:, 3:] * grain) * ratio * opacity
        new = np.clip(new + 0.5, 0, 255).astype(np.uint8)
        flat = out.reshape(-1, 3)
        flat[inside & (alpha[:, 0] > 0)] = new[inside & (alpha[:, 0] > 0)]


def composite_eye(frame, x0, y0, mask, strength, eyeball, tri_now, lin, off, live, iris,
                  m_iris, white, white_limit):
    """Every pixel's eyeball sample through the affine of the live triangle it lies least
    outside of among those whose bounding box grown by a pixel holds it (barycentric
    coordinates solved per triangle; no such triangle, the pixel is left), scaled so that
    its mean luma weighted by ``white`` times 1 - the iris's alpha (every other pixel each
    way) is at most
    ``white_limit`` (when > 0), the premultiplied iris over it, blended into ``frame`` by
    the mask times ``strength``. Returns that mean before the scaling (0.0 for none)."""
    h, w = mask.shape
    yy, xx = np.mgrid[y0:y0 + h, x0:x0 + w].astype(np.float64)
    px, py = xx.ravel(), yy.ravel()
    best = np.full(h * w, -np.inf)
    which = np.full(h * w, -1)
    for t in range(len(tri_now)):
        a, b, c = tri_now[t]
        m = np.array([[b[0] - a[0], c[0] - a[0]], [b[1] - a[1], c[1] - a[1]]])
        if not live[t] or abs(np.linalg.det(m)) < 1e-9:
            continue
        l1, l2 = np.linalg.solve(m, np.stack([px - a[0], py - a[1]]))
        low = np.minimum(np.minimum(l1, l2), 1 - l1 - l2)
        lo, hi = np.floor(tri_now[t].min(axis=0)) - 1, np.ceil(tri_now[t].max(axis=0)) + 1
        in_box = (px >= lo[0]) & (px <= hi[0]) & (py >= lo[1]) & (py <= hi[1])
        better = (low > best) & in_box
        best[better], which[better] = low[better], t
    ok = which >= 0
    tw = np.maximum(which, 0)
    sx = lin[tw, 0, 0] * px + lin[tw, 0, 1] * py + off[tw, 0]
    sy = lin[tw, 1, 0] * px + lin[tw, 1, 1] * py + off[tw, 1]
    ball = bilinear_points(eyeball, sx, sy).reshape(h, w, 3)
    q = np.stack([px, py, np.ones(h * w)])
    si = m_iris @ q
    ir = bilinear_points(iris, si[0], si[1], zero_outside=True).reshape(h, w, 4)
    seen = (white * ok.reshape(h, w) * (1.0 - ir[..., 3]))[::2, ::2]
    luma = (ball @ np.array([0.299, 0.587, 0.114])).reshape(h, w)[::2, ::2]
    mean = float((seen * luma).sum() / seen.sum()) if seen.sum() > 0 else 0.0
    if white_limit > 0 and mean > white_limit:
        ball = ball * (white_limit / mean)
    layer = ball * (1 - ir[..., 3:]) + ir[..., :3]
    a = (mask / 255.0 * strength * ok.reshape(h, w))[..., None]
    roi = frame[y0:y0 + h, x0:x0 + w].astype(np.float64)
    frame[y0:y0 + h, x0:x0 + w] = np.clip(roi + a * (layer - roi) + 0.5, 0, 255).astype(np.uint8)
    return mean


def blur_under_mask(frame, x0, y0, mask, source):
    """The 1-2-1 Gaussian of ``source`` (normalised by the taps inside it), blended into
    ``frame`` by the mask."""
    h, w = mask.shape
    src = source.astype(np.float64)
    k = np.array([1.0, 2.0, 1.0])
    kern = np.outer(k, k)
    acc = ndimage.correlate(src, kern[..., None], mode="constant", cval=0.0)
    norm = ndimage.correlate(np.ones((h, w)), kern, mode="constant", cval=0.0)[..., None]
    a = mask[..., None] / 255.0
    out = np.clip(src + a * (acc / norm - src) + 0.5, 0, 255).astype(np.uint8)
    frame[y0:y0 + h, x0:x0 + w] = np.where(mask[..., None] > 0, out,
                                           frame[y0:y0 + h, x0:x0 + w])


def paint_under_mask(frame, x0, y0, mask, colour, opacity, centre, axis, width):
    """``colour`` blended into ``frame`` by mask x opacity x a taper along the eye (1 within
    0.3 eye widths of its centre, 0 from 0.5 on)."""
    h, w = mask.shape
    yy, xx = np.mgrid[y0:y0 + h, x0:x0 + w].astype(np.float64)
    u = np.abs((xx - centre[0]) * axis[0] + (yy - centre[1]) * axis[1]) / width
    taper = np.clip((0.5 - u) / 0.2, 0.0, 1.0)
    a = (mask / 255.0 * opacity * taper)[..., None]
    roi = frame[y0:y0 + h, x0:x0 + w].astype(np.float64)
    out = np.clip(roi + a * (np.asarray(colour, np.float64) - roi) + 0.5, 0, 255).astype(np.uint8)
    frame[y0:y0 + h, x0:x0 + w] = np.where(mask[..., None] > 0, out,
                                           frame[y0:y0 + h, x0:x0 + w])


def lash_mask(mask, a, axis, normal, span, bend, thick, fringe, k, inner_first):
    """The closed lash band's coverage, over the whole mask at once."""
    ys, xs = np.mgrid[0:mask.shape[0], 0:mask.shape[1]].astype(np.float64)
    pu = ((xs - a[0]) * axis[0] + (ys - a[1]) * axis[1]) / span
    below = (xs - a[0]) * normal[0] + (ys - a[1]) * normal[1] - span * bend * pu * (pu - 1.0)
    s = pu if inner_first else 1.0 - pu
    inside = (s > 0.0) & (s < 1.0)
    profile = np.sqrt(np.clip(np.sin(np.pi * np.clip(s, 0.0, 1.0) ** k), 0.0, None))
    half = 0.5 * thick * profile
    core = np.clip(np.minimum(half - np.abs(below) + 0.5, 2.0 * half), 0.0, 1.0)
    reach = fringe * thick * profile
    lashes = np.where((below > half) & (reach > 1e-6),
                      0.6 * np.clip(1.0 - (below - half) / np.maximum(reach, 1e-12), 0.0, 1.0),
                      0.0)
    mask[:] = np.where(inside, (255.0 * np.maximum(core, lashes) + 0.5).astype(np.uint8), 0)


# --- the ratio images' patch search (Sec. 6) -------------------------------------------------

def patch_distances(expressive, neutral, points, window, angles):
    """Per point: over the window's positions and the rotations, the smallest largest RGB
    difference between the point's 3x3 patch in ``expressive`` and the rotated 3x3 patch of
    ``neutral`` (bilinear) at the position."""
    h, w = neutral.shape[:2]
    half = window // 2
    e = expressive.astype(np.float64)
    offsets = [(dx, dy) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
    out = np.empty(len(points))
    for k, (px, py) in enumerate(points):
        best = 1e9
        inside = [(dx, dy) for dx, dy in offsets if 0 <= px + dx < w and 0 <= py + dy < h]
        want = np.array([e[py + dy, px + dx] for dx, dy in inside])        # (n, 3)
        for cy in range(py - half, py + half):
            for cx in range(px - half, px + half):
                if cx < 2 or cy < 2 or cx >= w - 2 or cy >= h - 2:
                    continue
                for a in angles:
                    c, s = np.cos(a), np.sin(a)
                    sx = np.array([cx + c * dx - s * dy for dx, dy in inside])
                    sy = np.array([cy + s * dx + c * dy for dx, dy in inside])
                    got = bilinear_points(neutral, sx, sy)
                    best = min(best, float(np.abs(want - got).max()))
        out[k] = best
    return out


# --- the mouth interior's kernels ------------------------------------------------------------

def interior_map(box, target, cols_t, source, cols_s, shape):
    """``mouthmap.interior_map`` written out: (map_x, map_y, rigid), each (h, w)."""
    (ot, et, wt), (os_, es, ws) = target, source
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    dx, dy = box[0] + xx - ot[0], box[1] + yy - ot[1]
    a = dx * et[0] + dy * et[1]
    b = -dx * et[1] + dy * et[0]
    u = np.clip(a / wt, 0.0, 1.0)
    grid = np.linspace(0.0, 1.0, cols_t.shape[1])
    top_t, zu_t, zl_t, bot_t = (np.interp(u, grid, c) for c in cols_t)
    top_s, zu_s, zl_s, bot_s = (np.interp(u, grid, c) for c in cols_s)
    k = wt / ws
    t1, t2, s1, s2 = top_t + zu_t, bot_t - zl_t, top_s + zu_s, bot_s - zl_s
    with np.errstate(divide="ignore", invalid="ignore"):
        bs = np.select(
            [b <= top_t, b < t1, b < t2, (b < bot_t) & (zl_t > 0), b < bot_t],
            [top_s + (b - top_t) / k,
             top_s + (b - top_t) * (zu_s / zu_t),
             s1 + (b - t1) * ((s2 - s1) / (t2 - t1)),
             s2 + (b - t2) * (zl_s / zl_t),
             bot_s],
            bot_s + (b - bot_t) / k)
    a_s = a / k
    map_x = os_[0] + a_s * es[0] - bs * es[1]
    map_y = os_[1] + a_s * es[1] + bs * es[0]
    up = np.clip(t1 - b + 0.5, 0.0, 1.0)
    lo = np.clip(b - t2 + 0.5, 0.0, 1.0)
    return map_x, map_y, np.minimum(up + lo, 1.0)


def closed_spline(points: np.ndarray, per_segment: int = 4) -> np.ndarray:
    """``kernels.mouth.closed_spline`` with whole arrays (Barry and Goldman's pyramid)."""
    p = np.asarray(points, np.float64)
    if p.ndim != 2 or p.shape[1] != 2 or len(p) < 3:
        raise ValueError(f"`points` must be (N >= 3, 2); got {p.shape}")
    p0, p1, p2, p3 = np.roll(p, 1, axis=0), p, np.roll(p, -1, axis=0), np.roll(p, -2, axis=0)

    def knot(a, b):
        return np.sqrt(np.maximum(np.hypot(*(b - a).T), 1e-6))[:, None]

    t1 = knot(p0, p1)
    t2 = t1 + knot(p1, p2)
    t3 = t2 + knot(p2, p3)
    t = t1 + (t2 - t1) * (np.arange(per_segment) / per_segment)[None, :]   # (N, S)
    t, t1, t2, t3 = t[..., None], t1[:, None], t2[:, None], t3[:, None]
    p0, p1, p2, p3 = p0[:, None], p1[:, None], p2[:, None], p3[:, None]
    a1 = ((t1 - t) * p0 + t * p1) / t1
    a2 = ((t2 - t) * p1 + (t - t1) * p2) / (t2 - t1)
    a3 = ((t3 - t) * p2 + (t - t2) * p3) / (t3 - t2)
    b1 = ((t2 - t) * a1 + t * a2) / t2
    b2 = ((t3 - t) * a2 + (t - t1) * a3) / (t3 - t1)
    c = ((t2 - t) * b1 + (t - t1) * b2) / (t2 - t1)
    return c.reshape(-1, 2)


def shade_corners(interior, x0, y0, o, ex, width, reach, depth):
    """``kernels.mouth.shade_corners`` over the whole interior at once; in place."""
    h, w = interior.shape[:2]
    yy, xx = np.mgrid[y0:y0 + h, x0:x0 + w].astype(np.float64)
    a = (xx - o[0]) * ex[0] + (yy - o[1]) * ex[1]
    d = np.clip(np.minimum(a, width - a) / max(reach * width, 1e-6), 0.0, 1.0)
    f = 1.0 - depth * (1.0 - d * d * (3.0 - 2.0 * d))
    interior[:] = np.floor(interior * f[..., None] + 0.5).astype(np.uint8)


def compose(roi, inner, interior, gain, saturation, alpha, patch=None, patch_alpha=None):
    """``mouthmap.compose`` written out: the new roi (h, w, 3) uint8."""
    base = roi.astype(np.float64)
    v = interior.astype(np.float64) * np.asarray(gain, np.float64)
    y = v @ np.array([0.299, 0.587, 0.114])
    v = np.clip(y[..., None] + saturation * (v - y[..., None]), 0.0, 255.0)
    v = base + alpha * (v - base)
    if patch is not None:
        v += patch_alpha[..., None] * (patch - v)
    m = inner[..., None] / 255.0
    v = base + m * (v - base)
    return np.clip(np.floor(v + 0.5), 0, 255).astype(np.uint8)
