"""Issue 14's visitor mode on shared clips standing in for the camera: the reaction time
(the visitor's smile in the camera file -> the portrait's first smiling frame) and eye
contact (the gaze moves to the visitor's side)."""

from __future__ import annotations


import numpy as np
import pytest

from reactive.io.camera import CameraSource
from reactive.io.tracker import FaceMeshTracker
from reactive.live.build import build_player
from reactive.live.headless import run_headless
from reactive.live.triggers import EventQueue
from reactive.live.visitor import VisitorTracker, face_measures
from reactive.params import CameraParams
from tests.helpers import shared_path

pytestmark = pytest.mark.slow
FPS = 30.0


def _run(tmp_path, monkeypatch, video, profile_text, seconds):
    """The player (s42, built-in clips) with ``video`` as the camera, headless; per frame:
    (t, {state: weight}, gaze x). Also the camera frames' measures."""
    monkeypatch.setenv("REACTIVE_CACHE", str(tmp_path / "cache"))
    profile = tmp_path / "profile.toml"
    profile.write_text(profile_text)
    player = build_player(shared_path("portraits", "s42.jpg"), profile_path=profile, seed=0)
    queue = EventQueue()
    now = [0.0]
    measures = []

    def on_frame(image, points, t):
        if points is not None:
            measures.append((t, face_measures(points, image.shape[:2])))

    tracker = VisitorTracker(CameraSource(video), FaceMeshTracker(max_faces=3), queue,
                             lambda: now[0], player.profile.camera.params(), on_frame=on_frame)

    def live(t):
        now[0] = t
        tracker.step(t)
        player.camera_aspect = tracker.camera_aspect
        return queue.drain()

    seen = []
    run_headless(player, duration_s=seconds, fps=FPS, events=[], write=lambda f: None,
                 live=live, on_frame=lambda n, t: seen.append(
                     (t, {player.clips[l.clip].name: l.weight for l in player.last_layers},
                      float(player.synthesis.gaze_now[0]))))
    tracker.stop()
    return seen, measures


def test_reaction_time_to_a_visitors_smile(tmp_path, monkeypatch):
    video = shared_path("driving", "d0.mp4")   # neutral, a broad smile from ~0.7 s
    seen, measures = _run(tmp_path, monkeypatch, video, '[camera]\narrive = ""\n', 3.0)
    p = CameraParams()
    rest = np.mean([m.width for t, m in measures if t < 0.5])
    widening = [t for t, m in measures if m.width > rest * 1.03]
    onset = widening[0]                                   # the mouth starts to widen
    crossing = [t for t, m in measures if m.width > rest * (1 + p.smile_widen)][0]
    first = next(t for t, w, _ in seen if w.get("smile", 0) > 0)
    print(f"\nvisitor smile: starts {onset:.2f} s, crosses the threshold {crossing:.2f} s; "
          f"portrait's first smiling frame {first:.2f} s: reaction {first - onset:.2f} s "
          f"from the start, {first - crossing:.2f} s from the threshold")
    assert 0 < first - crossing <= p.hold_s + 2.0 / FPS + 1e-6
    assert first - onset < 0.3
    assert not any(w.get("smile", 0) > 0 for t, w, _ in seen if t < onset)


def test_eye_contact_follows_the_visitor(tmp_path, monkeypatch):
    # d3: the woman moves from the camera image's middle to its right (4.5-5.5 s, x 0.53 ->
    # 0.63) and left again (6.7-7.3 s, x 0.47), then right (8.3-9.0 s, x 0.68).
    video = shared_path("driving", "d3.mp4")
    seen, measures = _run(tmp_path, monkeypatch, video, "[idle]\nreactions = []\n", 9.3)
    gaze = {round(t, 2): g for t, _, g in seen}
    where = {round(t, 2): m.centre[0] for t, m in measures}
    right = [gaze[t] for t in gaze if 8.6 <= t <= 9.2]     # visitor on the image right
    left = [gaze[t] for t in gaze if 6.9 <= t <= 7.3]      # visitor left of the middle
    print(f"\nvisitor x {where.get(9.0, float('nan')):.2f} -> gaze x {np.mean(right):+.3f}; "
          f"visitor x {where.get(7.1, float('nan')):.2f} -> gaze x {np.mean(left):+.3f} "
          "(eye widths, + image right)")
    # Mirror-correct: the visitor on the camera image's right stands at the screen's left,
    # so the portrait looks to its image left (and the other way round).
    assert np.mean(right) < -0.02 and np.mean(left) > np.mean(right) + 0.02
