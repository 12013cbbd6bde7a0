"""Control-point offsets of a clip frame in the photo: Eq. 1, turns limited, closed lids, no
folds (Sec. 4).

``frame_offsets`` is the per-frame motion of the rig's control points for one clip frame;
``offset_tables`` computes it for every frame of every clip (the live player blends rows of
these tables per frame).
"""

from __future__ import annotations

import numpy as np

from reactive.core import landmarks as lm
from reactive.core.clip import ClipPack
from reactive.core.folds import head_scale, soft_cap
from reactive.core.jaw import turn_share
from reactive.core.lids import close_lids
from reactive.core.rig import ClipBinding, Rig
from reactive.core.similarity import as3x3, inverse_similarity3x3


def frame_offsets(rig: Rig, pack: ClipPack, i: int, out: np.ndarray | None = None, *,
                  binding: ClipBinding | None = None, closure=None) -> np.ndarray:
    """Control-point offsets of clip frame ``i`` in the photo, by Eq. 1. (K, 2) float32.

    ``binding``: which of the rig's clips ``pack`` is (default: the rig's first).
    ``closure``: (2,) how closed the driver's eyes are in this frame (``lids.lid_closure``);
    the lids then close fully (``lids.close_lids``). None leaves the lids to Eq. 1.
    ``out``: (K, 2) float32 to write into.
    """
    b = binding if binding is not None else rig.bindings[0]
    k = len(rig.rest)
    if out is None:
        out = np.zeros((k, 2), np.float32)
    a = b.phi[:, :2].astype(np.float32)
    n0 = pack.neutral_index
    face = pack.landmarks[i, :lm.N_MESH] - pack.landmarks[n0, :lm.N_MESH]
    out[:rig.n_face] = face @ a.T
    if rig.turn is not None:
        rig.turn(out[:lm.N_MESH], pack, i, a)
    if closure is not None:
        close_lids(out[:lm.N_MESH], rig.rest[:lm.N_MESH], closure)
    p = b.peripheral.shape[0]
    if p:
        per = pack.peripheral[i] - pack.peripheral[n0]
        out[rig.n_face:rig.n_face + p] = b.peripheral @ (per @ a.T)
    out[rig.n_face + p:] = 0.0
    # The head's rigid move in the photo: phi o (neutral -> frame i) o phi^-1.
    head = as3x3(pack.head[i]) @ inverse_similarity3x3(pack.head[n0])
    move = b.phi3 @ head @ b.phi3_inv
    ring = slice(rig.n_face + p, rig.n_face + p + rig.n_ring)
    if rig.n_ring:
        # With a backdrop, the hair follows the head (``backdrop.head_ring``): its rigid
        # motion, and a share of what the face's contour does beyond it.
        at = rig.rest[ring].astype(np.float64)
        anchor = rig.rest[rig.ring_anchor].astype(np.float64)
        beyond = out[rig.ring_anchor] - (anchor @ move[:2, :2].T + move[:2, 2] - anchor)
        out[ring] = (at @ move[:2, :2].T + move[:2, 2] - at
                     + rig.ring_share[:, None] * beyond)
    if rig.params.max_squeeze > 0:
        f, n = rig.n_face, ring.stop
        rest = rig.rest[:f].astype(np.float64)
        rigid = rest @ move[:2, :2].T + move[:2, 2] - rest
        scale = head_scale(rigid, rig.room[:f], rig.params.max_squeeze)
        if scale < 1.0 and rig.jaw is not None:
            # The bottom edge gives way under the jaw: a nod is not capped by it, unless the
            # turn is being limited (a head turning far and coming down folds its far cheek).
            share = 1.0
            if rig.turn is not None:
                yaw = float(lm.yaw_ratio(pack.landmarks[i]) - lm.yaw_ratio(pack.landmarks[n0]))
                share = turn_share(yaw, rig.turn.params)
            scale = rig.jaw.nod_scale(rigid, scale, rig.room[:f], rest, rig.params.max_squeeze,
                                      share)
        if scale < 1.0:
            out[:f] -= ((1.0 - scale) * rigid).astype(np.float32)
            out[ring] *= np.float32(scale)
        # The expression itself is never capped: a jaw drop towards a border close below
        # may fold the strip under the chin (the chin covering the neck), a lesser evil than
        # a mouth that does not open.
        soft_cap(out[f:n], rig.room[f:n], rig.params.max_squeeze)
    if rig.jaw is not None:
        rig.jaw.give_edge(out)  # a jaw dropping past the bottom edge pushes it out
    if rig.unfold is not None:
        rig.unfold(out)
    if rig.chin is not None:
        # After the unfolding, on what it left: spread before it, the Unfolder's own moves
        # folded the skin under the lip again on s42 x d12's turned frames.
        rig.chin(out)
    return out


def offset_tables(rig: Rig, packs: list[ClipPack],
                  closures: list[np.ndarray | None] | None = None) -> list[np.ndarray]:
    """Every frame's control-point offsets, per clip: (F_k, K, 2) float32 each.

    ``packs[k]`` is the rig's clip k; ``closures[k]`` its (F_k, 2) lid closure per frame
    (``lids.lid_closure``), or None to leave that clip's lids to Eq. 1.
    """
    if closures is None:
        closures = [None] * len(packs)
    if len(closures) != len(packs):
        raise ValueError(f"`closures` must hold one entry per pack ({len(packs)}); "
                         f"got {len(closures)}")
    tables = []
    for k, (pack, closure) in enumerate(zip(packs, closures)):
        table = np.zeros((pack.frame_count, len(rig.rest), 2), np.float32)
        for i in range(pack.frame_count):
            frame_offsets(rig, pack, i, table[i], binding=rig.bindings[k],
                          closure=None if closure is None else closure[i])
        tables.append(table)
    return tables
