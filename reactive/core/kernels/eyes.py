"""Numba kernels of the eye layer (``eye_layer.py``): small regions around the eyes,
painted in place. Each has a plain-numpy twin in ``tests/naive.py``."""

from __future__ import annotations

import numpy as np
from numba import njit

from reactive.core.kernels.warp import bilinear


@njit(cache=True)
def raster_triangles(photo, tri_now, lin, off, live, out):
    """Piecewise-affine rendering of triangles, in order (later ones win on shared edges).

    photo : (H, W, 3) uint8 source. tri_now : (T, 3, 2) float64 corners in ``out`` pixels.
    lin, off : (T, 2, 2), (T, 2) the affine ``out`` pixel -> photo pixel of each triangle.
    live : (T,) bool, False skips (squashed) triangles. out : (H', W', 3) uint8, written at
    the pixel centres (integer coordinates) inside each triangle, edges included.
    """
    h, w = out.shape[0], out.shape[1]
    for t in range(tri_now.shape[0]):
        if not live[t]:
            continue
        ax, ay = tri_now[t, 0, 0], tri_now[t, 0, 1]
        bx, by = tri_now[t, 1, 0], tri_now[t, 1, 1]
        cx, cy = tri_now[t, 2, 0], tri_now[t, 2, 1]
        area = (bx - ax) * (cy - ay) - (by - ay) * (cx - ax)
        if abs(area) < 1e-9:
            continue
        xa = max(int(np.ceil(min(ax, min(bx, cx)))), 0)
        xb = min(int(np.floor(max(ax, max(bx, cx)))), w - 1)
        ya = max(int(np.ceil(min(ay, min(by, cy)))), 0)
        yb = min(int(np.floor(max(ay, max(by, cy)))), h - 1)
        eps = -1e-6
        for y in range(ya, yb + 1):
            for x in range(xa, xb + 1):
                wa = ((bx - x) * (cy - y) - (by - y) * (cx - x)) / area
                wb = ((cx - x) * (ay - y) - (cy - y) * (ax - x)) / area
                wc = 1.0 - wa - wb
                if wa < eps or wb < eps or wc < eps:
                    continue
                sx = lin[t, 0, 0] * x + lin[t, 0, 1] * y + off[t, 0]
                sy = lin[t, 1, 0] * x + lin[t, 1, 1] * y + off[t, 1]
                for c in range(3):
                    out[y, x, c] = np.uint8(min(bilinear(photo, sx, sy, c) + 0.5, 255.0))


@njit(cache=True)
def raster_triangles_over(rgba, tri_now, lin, off, live, out, opacity, photo, shaded,
                          lin_s, off_s, shade, texture, m_tex):
    """Like ``raster_triangles``, but the source is premultiplied RGBA (float32, (h, w, 4),
    transparent outside) laid over ``out``: out = out (1 - a o) + (rgb + a t) r o, with o
    the ``opacity``, t the ``texture`` ((h, w, 3) float32, zero outside) sampled through
    the one affine ``m_tex`` (2, 3) (not the triangles': it is not stretched with them) and
    r, when ``shade``, the ratio ``shaded`` / ``photo`` ((H, W, 3) uint8 each, sampled
    through ``lin_s``, ``off_s``, clipped to [1/4, 4]): the layer takes on the shading that
    the detail stage put on the photo where the pixel came from."""
    th, tw = texture.shape[0], texture.shape[1]
    h, w = out.shape[0], out.shape[1]
    sh, sw = rgba.shape[0], rgba.shape[1]
    for t in range(tri_now.shape[0]):
        if not live[t]:
            continue
        ax, ay = tri_now[t, 0, 0], tri_now[t, 0, 1]
        bx, by = tri_now[t, 1, 0], tri_now[t, 1, 1]
        cx, cy = tri_now[t, 2, 0], tri_now[t, 2, 1]
        area = (bx - ax) * (cy - ay) - (by - ay) * (cx - ax)
        if abs(area) < 1e-9:
            continue
        xa = max(int(np.ceil(min(ax, min(bx, cx)))), 0)
        xb = min(int(np.floor(max(ax, max(bx, cx)))), w - 1)
        ya = max(int(np.ceil(min(ay, min(by, cy)))), 0)
        yb = min(int(np.floor(max(ay, max(by, cy)))), h - 1)
        eps = -1e-6
        for y in range(ya, yb + 1):
            for x in range(xa, xb + 1):
                wa = ((bx - x) * (cy - y) - (by - y) * (cx - x)) / area
                wb = ((cx - x) * (ay - y) - (cy - y) * (ax - x)) / area
                wc = 1.0 - wa - wb
                if wa < eps or wb < eps or wc < eps:
                    continue
                sx = lin[t, 0, 0] * x + lin[t, 0, 1] * y + off[t, 0]
                sy = lin[t, 1, 0] * x + lin[t, 1, 1] * y + off[t, 1]
                if sx <= -1.0 or sy <= -1.0 or sx >= sw or sy >= sh:
                    continue
                al = bilinear_zero(rgba, sx, sy, 3)
                a = al * opacity
                if a <= 0.0:
                    continue
                px = lin_s[t, 0, 0] * x + lin_s[t, 0, 1] * y + off_s[t, 0]
                py = lin_s[t, 1, 0] * x + lin_s[t, 1, 1] * y + off_s[t, 1]
                tx = m_tex[0, 0] * x + m_tex[0, 1] * y + m_tex[0, 2]
                ty = m_tex[1, 0] * x + m_tex[1, 1] * y + m_tex[1, 2]
                on = tx > -1.0 and ty > -1.0 and tx < tw and ty < th
                for c in range(3):
                    r = 1.0
                    if shade:
                        r = (bilinear(shaded, px, py, c) + 1.0) / (bilinear(photo, px, py, c)
                                                                  + 1.0)
                        r = min(max(r, 0.25), 4.0)
                    v = bilinear_zero(rgba, sx, sy, c)
                    if on:
                        v += al * bilinear_zero(texture, tx, ty, c)
                    v = out[y, x, c] * (1.0 - a) + v * r * opacity
                    out[y, x, c] = np.uint8(min(max(v + 0.5, 0.0), 255.0))


@njit(cache=True)
def _eye_places(x, y, t, lin, off, m_iris, si, sj):
    """Where frame pixel (x, y) samples the eyeball (through triangle ``t``'s affine) and
    the iris (``m_iris``), and whether the latter lies on the (si, sj) iris image."""
    bx = lin[t, 0, 0] * x + lin[t, 0, 1] * y + off[t, 0]
    by = lin[t, 1, 0] * x + lin[t, 1, 1] * y + off[t, 1]
    ix = m_iris[0, 0] * x + m_iris[0, 1] * y + m_iris[0, 2]
    iy = m_iris[1, 0] * x + m_iris[1, 1] * y + m_iris[1, 2]
    return bx, by, ix, iy, ix > -1.0 and iy > -1.0 and ix < sj and iy < si


@njit(cache=True)
def composite_eye(frame, x0, y0, mask, strength, eyeball, tri_now, lin, off, live, iris,
                  m_iris, white, white_limit):
    """Eyeball, then the iris over it, blended into ``frame`` where ``mask`` > 0.

    frame : (H, W, 3) uint8, changed in place. mask : (h, w) uint8 coverage of the region
    whose top-left pixel is (x0, y0) in ``frame``. eyeball : (he, we, 3) uint8, sampled
    piecewise-affinely (edge replicated): a pixel takes the affine ``lin``, ``off`` ((T, 2,
    2), (T, 2)) of the live triangle of ``tri_now`` (T, 3, 2) it lies in (at an edge, the
    one it lies least outside of, among those whose bounding box grown by a pixel holds
    it); a pixel no such triangle holds is left alone. iris : (s, s, 4) float32
    premultiplied RGB and alpha, sampled at ``m_iris @ (x, y, 1)``, transparent outside.

    The white in view is the eyeball where the iris leaves it, weighted by ``white`` ((h, w)
    uint8, the mask less the lash line and the lids' shadow) times 1 - the iris's alpha,
    where a triangle holds the pixel, read at every other pixel each way. Where its mean luma is over ``white_limit`` (> 0), the eyeball is
    scaled down to it (its shading kept); 0 or less: no limit. Returns the mean luma of
    the white in view before that scaling, 0.0 when nothing of it is in view.
    """
    h, w = mask.shape
    si, sj = iris.shape[0], iris.shape[1]
    # Which triangle each pixel takes: one pass over each triangle's box.
    which = np.full((h, w), -1, np.int32)
    best = np.full((h, w), -1e30)
    for t in range(tri_now.shape[0]):
        if not live[t]:
            continue
        ax, ay = tri_now[t, 0, 0], tri_now[t, 0, 1]
        bx, by = tri_now[t, 1, 0], tri_now[t, 1, 1]
        cx, cy = tri_now[t, 2, 0], tri_now[t, 2, 1]
        area = (bx - ax) * (cy - ay) - (by - ay) * (cx - ax)
        if abs(area) < 1e-9:
            continue
        ia = max(int(np.floor(min(ax, min(bx, cx)))) - 1 - x0, 0)
        ib = min(int(np.ceil(max(ax, max(bx, cx)))) + 1 - x0, w - 1)
        ja = max(int(np.floor(min(ay, min(by, cy)))) - 1 - y0, 0)
        jb = min(int(np.ceil(max(ay, max(by, cy)))) + 1 - y0, h - 1)
        for j in range(ja, jb + 1):
            y = float(y0 + j)
            for i in range(ia, ib + 1):
                if mask[j, i] == 0:
                    continue
                x = float(x0 + i)
                wa = ((bx - x) * (cy - y) - (by - y) * (cx - x)) / area
                wb = ((cx - x) * (ay - y) - (cy - y) * (ax - x)) / area
                low = min(wa, min(wb, 1.0 - wa - wb))
                if low > best[j, i]:
                    best[j, i] = low
                    which[j, i] = t
    # The white in view: what its mean is before anything is painted (every other pixel
    # each way: a mean over some hundreds of pixels needs no more, and it halves the cost).
    total = 0.0
    weight = 0.0
    for j in range(0, h, 2):
        for i in range(0, w, 2):
            m = white[j, i]
            bt = which[j, i]
            if m == 0 or bt < 0:
                continue
            bx_, by_, ix, iy, inside = _eye_places(float(x0 + i), float(y0 + j), bt, lin,
                                                   off, m_iris, si, sj)
            ai = bilinear_zero(iris, ix, iy, 3) if inside else 0.0
            wt = m * (1.0 - ai)
            total += wt * (0.299 * bilinear(eyeball, bx_, by_, 0)
                           + 0.587 * bilinear(eyeball, bx_, by_, 1)
                           + 0.114 * bilinear(eyeball, bx_, by_, 2))
            weight += wt
    mean = total / weight if weight > 0.0 else 0.0
    gain = 1.0
    if white_limit > 0.0 and mean > white_limit:
        gain = white_limit / mean
    for j in range(h):
        for i in range(w):
            m = mask[j, i]
            bt = which[j, i]
            if m == 0 or bt < 0:
                continue
            a = m * (strength / 255.0)
            bx_, by_, ix, iy, inside = _eye_places(float(x0 + i), float(y0 + j), bt, lin,
                                                   off, m_iris, si, sj)
            ai = bilinear_zero(iris, ix, iy, 3) if inside else 0.0
            for c in range(3):
                v = bilinear(eyeball, bx_, by_, c) * gain * (1.0 - ai)
                if inside:
                    v += bilinear_zero(iris, ix, iy, c)
                f = frame[y0 + j, x0 + i, c]
                frame[y0 + j, x0 + i, c] = np.uint8(min(max(f + a * (v - f) + 0.5, 0.0),
                                                        255.0))
    return mean


@njit(cache=True)
def blur_under_mask(frame, x0, y0, mask, source):
    """frame[y0 + j, x0 + i] moves towards the 3x3 Gaussian (1-2-1) of ``source`` (a copy
    of that region, (h, w, 3) uint8) by mask[j, i] / 255."""
    h, w = mask.shape
    for j in range(h):
        for i in range(w):
            m = mask[j, i]
            if m == 0:
                continue
            a = m / 255.0
            for c in range(3):
                acc = 0.0
                norm = 0.0
                for dj in range(-1, 2):
                    jj = j + dj
                    if jj < 0 or jj >= h:
                        continue
                    for di in range(-1, 2):
                        ii = i + di
                        if ii < 0 or ii >= w:
                            continue
                        k = (2.0 - abs(dj)) * (2.0 - abs(di))
                        acc += k * source[jj, ii, c]
                        norm += k
                f = float(source[j, i, c])
                frame[y0 + j, x0 + i, c] = np.uint8(min(max(f + a * (acc / norm - f) + 0.5,
                                                            0.0), 255.0))


@njit(cache=True)
def paint_under_mask(frame, x0, y0, mask, colour, opacity, centre, axis, width):
    """frame[y0 + j, x0 + i] moves towards ``colour`` by mask / 255 x opacity x a taper
    that is 1 over the middle of the eye and falls to 0 at its corners (``centre``,
    unit ``axis`` along the eye, ``width`` between the corners)."""
    h, w = mask.shape
    for j in range(h):
        for i in range(w):
            m = mask[j, i]
            if m == 0:
                continue
            u = abs((x0 + i - centre[0]) * axis[0] + (y0 + j - centre[1]) * axis[1]) / width
            taper = min(max((0.5 - u) / 0.2, 0.0), 1.0)
            a = m / 255.0 * opacity * taper
            for c in range(3):
                f = float(frame[y0 + j, x0 + i, c])
                frame[y0 + j, x0 + i, c] = np.uint8(min(max(f + a * (colour[c] - f) + 0.5,
                                                            0.0), 255.0))


@njit(cache=True)
def lash_mask(mask, a, axis, normal, span, bend, thick, fringe, k, inner_first):
    """A closed eye's lash band as coverage 0..255 into ``mask`` (h, w) uint8, in place.

    The band follows the parabola from ``a`` (2,) to ``a + span * axis`` that sags ``bend``
    x span x u (u - 1) along ``normal`` (unit, down), u in [0, 1] along it; half-thickness
    0.5 ``thick`` sqrt(sin(pi s^k)), s = u from the inner corner (``inner_first``: u = 0);
    below it a fringe ``fringe`` times as long, fading from 0.6.
    """
    h, w = mask.shape
    for j in range(h):
        for i in range(w):
            dx = i - a[0]
            dy = j - a[1]
            pu = (dx * axis[0] + dy * axis[1]) / span
            below = dx * normal[0] + dy * normal[1] - span * bend * pu * (pu - 1.0)
            s = pu if inner_first else 1.0 - pu
            if s <= 0.0 or s >= 1.0:
                mask[j, i] = 0
                continue
            profile = np.sqrt(max(np.sin(np.pi * s ** k), 0.0))
            half = 0.5 * thick * profile
            core = min(max(min(half - abs(below) + 0.5, 2.0 * half), 0.0), 1.0)
            lashes = 0.0
            reach = fringe * thick * profile
            if below > half and reach > 1e-6:
                lashes = 0.6 * min(max(1.0 - (below - half) / reach, 0.0), 1.0)
            mask[j, i] = np.uint8(255.0 * max(core, lashes) + 0.5)


@njit(cache=True, inline="always")
def bilinear_zero(img, sx, sy, c):
    """img[.., c] at (sx, sy), zero outside the image."""
    h, w = img.shape[0], img.shape[1]
    fx = np.floor(sx)
    fy = np.floor(sy)
    x0 = int(fx)
    y0 = int(fy)
    ax = sx - fx
    ay = sy - fy
    v = 0.0
    for dy in range(2):
        yy = y0 + dy
        if yy < 0 or yy >= h:
            continue
        wy = ay if dy else 1.0 - ay
        for dx in range(2):
            xx = x0 + dx
            if xx < 0 or xx >= w:
                continue
            wx = ax if dx else 1.0 - ax
            v += wx * wy * img[yy, xx, c]
    return v
