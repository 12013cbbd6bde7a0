"""Head turns limited to what the warp can show (``core.turns``), on a 3D face turned and
projected exactly (the built-in clips' face template): no fold, the expression kept."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from precompute.synth.exact import rotation
from precompute.synth.template import load_template
from precompute.track import head_motion
from reactive.core import landmarks as lm
from reactive.core import turns
from reactive.core.clip import ClipPack
from reactive.core.folds import signed_areas
from reactive.core.motion import frame_offsets
from reactive.core.rig import build_rig
from reactive.params import TurnParams, WarpParams

SIDE = 400


def _project(points3, yaw=0.0, pitch=0.0):
    """The template turned about its centre and projected (orthographic), face ~170 px wide."""
    p = points3 @ rotation(yaw, pitch, 0.0).T
    return (SIDE / 2 + 80.0 * p[:, :2]).astype(np.float32)


def _pack(frames):
    lms = np.stack(frames).astype(np.float32)
    f = len(lms)
    return ClipPack(fps=25.0, source_size=(SIDE, SIDE), neutral_index=0, landmarks=lms,
                    face_detected=np.ones(f, bool), peripheral=np.zeros((f, 0, 2), np.float32),
                    peripheral_valid=np.zeros((f, 0), bool), head=head_motion(lms, 0))


@pytest.fixture(scope="module")
def face3():
    return load_template()


def _open_mouth(points3, amount=0.35):
    """The lower lip, chin and jaw below the mouth corners moved down (a jaw drop)."""
    p = points3.copy()
    lower = p[:, 1] > p[lm.MOUTH_CORNERS[0], 1] + 0.02
    p[lower, 1] += amount * np.clip((p[lower, 1] - p[lm.MOUTH_CORNERS[0], 1]) / 0.3, 0, 1)
    return p


def _rigs(face3, frames, **kw):
    photo = np.full((SIDE, SIDE, 3), 128, np.uint8)
    target = _project(face3)
    pack = _pack([target] + frames)
    params = WarpParams(max_squeeze=0.0)
    limited = build_rig(photo, target, pack, params=params, **kw)
    whole = build_rig(photo, target, pack, params=params, turns=None)
    return replace(limited, unfold=None), replace(whole, unfold=None), pack


def _folds(rig, offsets):
    """Watched triangles of ``rig``'s mesh that ``offsets`` turn over (``Unfolder``'s rule)."""
    u = build_rig(rig.photo, rig.target_points, _pack([rig.target_points]),
                  params=rig.params).unfold
    area = signed_areas(rig.rest + offsets, rig.triangles) * u.orientation
    return int(((area < -u.tolerance) & u.watched).sum())


def test_turn_basis_spreads_an_affine_motion_exactly(face3):
    rest = _project(face3)[:lm.N_MESH].astype(np.float64)
    a = np.array([[1.1, 0.2], [-0.1, 0.9]])
    moved = rest @ a.T + (3.0, -2.0)
    across, along = turns.carriers(rest)
    assert len(along) < len(across)
    spread = turns.turn_basis(rest, along) @ (moved - rest)[along]
    np.testing.assert_allclose(spread, moved - rest, atol=1e-2)


def test_the_jaw_takes_the_turn_along_the_face_of_the_lip_above_it(face3):
    """Below the upper lip the along motion is read at the lip's level: a motion growing
    down the face above the lip is not carried on into the jaw, so limiting a turn moves
    the lower lip and the chin along the face as one piece."""
    rest = _project(face3)[:lm.N_MESH].astype(np.float64)
    _, along = turns.carriers(rest)
    basis = turns.turn_basis(rest, along, turns.held_below_lip(rest))
    stretch = np.zeros_like(rest)
    stretch[:, 1] = 0.2 * (rest[:, 1] - rest[lm.NOSE_TIP, 1])   # grows down the face
    moved = basis @ stretch[along]
    level = rest[lm.UPPER_LIP_TOP, 1]
    assert abs(moved[lm.CHIN, 1] - moved[lm.LOWER_LIP_BOTTOM, 1]) < 0.5
    assert abs(moved[lm.CHIN, 1] - 0.2 * (level - rest[lm.NOSE_TIP, 1])) < 1.0
    # Above the lip the spline is unchanged.
    above = rest[:, 1] < level - 5
    whole = turns.turn_basis(rest, along) @ stretch[along]
    np.testing.assert_allclose(moved[above], whole[above], atol=1e-3)


def test_yaw_gain_passes_small_turns_and_bends_large_ones():
    p = TurnParams()
    assert turns.yaw_gain(0.0, p) == 1.0 and turns.yaw_gain(-p.yaw_knee, p) == 1.0
    yaws = np.linspace(p.yaw_knee, 1.0, 50)
    kept = np.array([turns.yaw_gain(y, p) * y for y in yaws])
    assert np.all(np.diff(kept) > 0)                      # more turn, more shown ...
    assert kept.max() < p.max_yaw                          # ... never beyond the ceiling
    assert abs(turns.yaw_gain(p.yaw_knee + 1e-6, p) - 1.0) < 1e-4   # no step at the knee


def test_a_strong_turn_folds_the_face_less(face3):
    turned = _project(face3, yaw=40.0)
    limited, whole, pack = _rigs(face3, [turned])
    raw = frame_offsets(whole, pack, 1)
    off = frame_offsets(limited, pack, 1)
    assert _folds(whole, raw) > 2 * max(_folds(limited, off), 1)
    # The head still turns, less: the nose tip moves the same way, by less.
    nose_raw = raw[lm.NOSE_TIP] - raw[lm.STABLE_POINTS].mean(axis=0)
    nose = off[lm.NOSE_TIP] - off[lm.STABLE_POINTS].mean(axis=0)
    assert np.sign(nose[0]) == np.sign(nose_raw[0])
    assert 0.15 * abs(nose_raw[0]) < abs(nose[0]) < 0.8 * abs(nose_raw[0])


def test_the_jaw_drop_is_kept_through_a_limited_turn(face3):
    open3 = _open_mouth(face3)
    limited, whole, pack = _rigs(face3, [_project(open3, yaw=40.0), _project(face3, yaw=40.0)])
    a = limited.phi[:, :2].astype(np.float32)
    assert limited.turn(frame_offsets(whole, pack, 1)[:lm.N_MESH].copy(), pack, 1, a) < 1.0

    def chin_drop(rig):
        # The chin's move beyond the same turn with the mouth shut, along the face.
        d = frame_offsets(rig, pack, 1) - frame_offsets(rig, pack, 2)
        return float(d[lm.CHIN, 1])

    assert chin_drop(limited) > 0.9 * chin_drop(whole) > 5.0


def test_small_turns_pass_unchanged(face3):
    # The template's yaw ratio is 0.08 at 4 degrees (under the knee); a nod is no turn.
    limited, whole, pack = _rigs(face3, [_project(face3, yaw=4.0), _project(face3, pitch=8.0)])
    for i in (1, 2):
        np.testing.assert_array_equal(frame_offsets(limited, pack, i),
                                      frame_offsets(whole, pack, i))
