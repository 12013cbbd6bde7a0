"""Visitor mode: events from the camera's face, eye contact, the player's reaction.

Fast tests feed the detector real face shapes (the built-in clips' landmarks: a neutral face,
its smile, its surprise); slow ones use shared driving clips as the camera."""

from __future__ import annotations

import numpy as np
import pytest

from reactive.core.clip import peak_frame
from reactive.io.assets import BUILTIN_CLIPS_DIR, SAMPLE_PORTRAIT
from reactive.io.camera import CameraSource
from reactive.io.tracker import FaceMeshTracker
from reactive.io.clippack import load_pack
from reactive.live.build import build_player
from reactive.live.headless import run_headless
from reactive.live.triggers import Event, EventQueue, parse_script
from reactive.live.visitor import VisitorDetector, VisitorTracker, face_measures, look_target
from reactive.params import CameraParams
from tests.helpers import ROOT, run_python, shared_path, write_clip

FPS = 30.0
SHAPE = (512, 512)

pytestmark = pytest.mark.skipif(not any(BUILTIN_CLIPS_DIR.glob("*.npz")),
                                reason=f"no built-in clips in {BUILTIN_CLIPS_DIR}")


def _clip(name: str):
    return load_pack(BUILTIN_CLIPS_DIR / f"{name}.npz")


@pytest.fixture(scope="module")
def faces():
    """neutral, smile peak, surprise peak, sad peak: (478, 2) each, in a 512 x 512 frame."""
    smile, surprise, sad = _clip("smile"), _clip("surprise"), _clip("sad")
    return {"neutral": smile.landmarks[smile.neutral_index],
            "smile": smile.landmarks[peak_frame(smile)],
            "surprise": surprise.landmarks[peak_frame(surprise)],
            "sad": sad.landmarks[peak_frame(sad)]}


def _feed(detector, script, start_s=0.0):
    """``script``: [(seconds, points or None)], played at FPS from start_s. Returns the
    events (without "look") as (time, key)."""
    out, t = [], start_s
    for seconds, points in script:
        for _ in range(int(round(seconds * FPS))):
            out += [(round(e.time_s, 3), e.key)
                    for e in detector.update(t, points, SHAPE) if e.key != "look"]
            t += 1.0 / FPS
    return out


def test_measures_see_the_smile_and_the_surprise(faces):
    rest = face_measures(faces["neutral"], SHAPE)
    smile = face_measures(faces["smile"], SHAPE)
    surprise = face_measures(faces["surprise"], SHAPE)
    assert smile.width > rest.width * 1.15 and smile.corners > rest.corners + 0.04
    assert surprise.brows > rest.brows * 1.1 and surprise.opening > 0.25
    assert rest.opening < 0.05 and abs(rest.yaw) < 0.05


def test_arrive_smile_leave_at_the_right_times(faces):
    p = CameraParams()
    events = _feed(VisitorDetector(p), [(1.0, None), (2.0, faces["neutral"]),
                                        (1.0, faces["smile"]), (1.0, faces["neutral"]),
                                        (3.0, None)])
    keys = [k for _, k in events]
    assert keys == ["arrive", "smile", "leave"], events
    times = dict((k, t) for t, k in events)
    assert times["arrive"] == pytest.approx(1.0 + p.arrive_confirm_s, abs=1.5 / FPS)
    assert times["smile"] == pytest.approx(3.0 + p.hold_s, abs=1.5 / FPS)
    assert times["leave"] == pytest.approx(5.0 + p.leave_after_s, abs=1.5 / FPS)


def test_a_smile_fires_once_then_waits_out_the_refractory_time(faces):
    p = CameraParams(refractory_s=4.0)
    n, s = faces["neutral"], faces["smile"]
    # Smiles at 1, 2.5 (refractory: nothing) and 6 s (again).
    events = _feed(VisitorDetector(p), [(1.0, n), (1.0, s), (0.5, n), (1.0, s), (2.5, n),
                                        (1.0, s)])
    smiles = [t for t, k in events if k == "smile"]
    assert len(smiles) == 2 and smiles[1] > smiles[0] + p.refractory_s, events


def test_a_held_smile_is_one_smile_and_sad_or_a_blink_of_the_tracker_is_none(faces):
    n = faces["neutral"]
    events = _feed(VisitorDetector(CameraParams(refractory_s=0.0)),
                   [(1.0, n), (4.0, faces["smile"]), (1.0, faces["sad"]), (1.0, n),
                    (0.1, None), (1.0, n)])
    assert [k for _, k in events] == ["arrive", "smile"], events


def test_surprise_is_sudden_not_a_slow_drift(faces):
    n, s = faces["neutral"], faces["surprise"]
    sudden = _feed(VisitorDetector(), [(1.0, n), (1.0, s)])
    assert [k for _, k in sudden] == ["arrive", "surprise"]
    # The same face reached over three seconds (interpolated shapes): no surprise.
    ramp = [(1.0 / FPS, n + (s - n) * a) for a in np.linspace(0, 1, int(3 * FPS))]
    slow = _feed(VisitorDetector(), [(1.0, n), *ramp, (1.0, s)])
    assert [k for _, k in slow] == ["arrive"], slow


def test_a_short_absence_is_the_same_visitor_a_long_one_a_new_one(faces):
    p = CameraParams()
    n = faces["neutral"]
    short = _feed(VisitorDetector(p), [(1.0, n), (p.leave_after_s + 0.5, None), (1.0, n)])
    assert [k for _, k in short] == ["arrive", "leave"], short
    long = _feed(VisitorDetector(p), [(1.0, n), (p.absence_s + 0.5, None), (1.0, n)])
    assert [k for _, k in long] == ["arrive", "leave", "arrive"], long


def test_small_and_turned_faces_do_not_count(faces):
    n, s = faces["neutral"], faces["smile"]
    small = _feed(VisitorDetector(), [(2.0, 0.2 * n)])  # a passer-by far behind
    assert small == []
    # A face seen from the side (squeezed horizontally towards one cheek): present, but its
    # "smile" is not judged.
    def turn(points):
        out = points.copy()
        out[:, 0] = 256 + 0.5 * (out[:, 0] - 256) + 0.003 * (out[:, 0] - 256) ** 2
        return out
    turned = _feed(VisitorDetector(), [(1.0, n), (1.0, turn(s))])
    assert [k for _, k in turned] == ["arrive"], turned


def test_look_follows_the_face_smoothed(faces):
    det = VisitorDetector(CameraParams(look_tau_s=0.1))
    n = faces["neutral"]
    looks = {}
    jump = int(FPS)
    for k in range(2 * jump):
        shift = np.array([0.0 if k < jump else 150.0, 0.0], np.float32)
        looks.update({k: e.x for e in det.update(k / FPS, n + shift, SHAPE)
                      if e.key == "look"})
    centre = face_measures(n, SHAPE).centre[0]
    assert min(looks) > 0                                      # only once arrived
    assert looks[jump - 1] == pytest.approx(centre, abs=1e-3)
    assert centre < looks[jump] < centre + 150 / 512 * 0.5     # smoothed, not a jump
    assert looks[2 * jump - 1] == pytest.approx(centre + 150 / 512, abs=0.01)


def test_eye_contact_is_mirror_correct(faces):
    """A visitor on the camera image's right stands to the screen's left (as they see it):
    the portrait looks to its image left; above the camera's centre: up."""
    face = faces["neutral"]
    eyes_x = float(face[:, 0].mean())
    right = look_target((0.9, 0.5), face, SHAPE, camera_aspect=4 / 3)
    left = look_target((0.1, 0.5), face, SHAPE, camera_aspect=4 / 3)
    assert right[0] < eyes_x < left[0]
    mirrored = look_target((0.9, 0.5), face, SHAPE, camera_aspect=4 / 3, mirrored=True)
    assert mirrored[0] == pytest.approx(left[0])
    high = look_target((0.5, 0.1), face, SHAPE, camera_aspect=4 / 3)
    low = look_target((0.5, 0.9), face, SHAPE, camera_aspect=4 / 3)
    assert high[1] < low[1]


def test_script_visitor_events():
    events = parse_script("2.0 visitor arrive\n3.0 visitor smile\n4.0 visitor look 0.2 0.4\n",
                          source="t")
    assert [(e.time_s, e.key) for e in events] == [(2.0, "arrive"), (3.0, "smile"),
                                                   (4.0, "look")]
    assert (events[2].x, events[2].y) == (0.2, 0.4)
    for bad in ("1 visitor", "1 visitor wave", "1 visitor look 1.5 0", "1 visitor smile 2"):
        with pytest.raises(Exception, match="t:1: 'visitor"):
            parse_script(bad, source="t")


# --- the player --------------------------------------------------------------------------------

@pytest.fixture
def player(sample_player_cache, monkeypatch):
    monkeypatch.setenv("REACTIVE_CACHE", str(sample_player_cache))
    return build_player(SAMPLE_PORTRAIT, max_side=320, seed=0)


def test_the_player_greets_smiles_back_and_looks_at_the_visitor(player):
    events = parse_script("1.0 visitor arrive\n1.0 visitor look 0.85 0.5\n"
                          "5.0 visitor smile\n7.0 visitor leave\n", source="t")
    seen = []
    run_headless(player, duration_s=8.0, fps=FPS, events=events, write=lambda f: None,
                 on_frame=lambda n, t: seen.append(
                     (t, {player.clips[l.clip].name: l.weight for l in player.last_layers},
                      player.synthesis.gaze_now[0])))
    at = {round(t, 2): (w, g) for t, w, g in seen}
    assert at[1.5][0].get("smile", 0) > 0.5            # the greeting
    assert at[5.5][0].get("smile", 0) > 0.5            # smiling back
    # The visitor on the camera's right = the screen's left: the eyes look image-left.
    assert at[3.0][1] < -0.05, at[3.0]
    assert abs(at[7.9][1]) < 0.5 * abs(at[3.0][1])     # gone: back to straight ahead


def test_the_pointer_still_works_without_a_visitor(player):
    player.handle(Event(0.0, "pointer", x=300.0, y=100.0), 0.0)
    for n in range(30):
        player.render(n / FPS)
    assert player.synthesis.gaze_now[0] > 0.05  # the pointer on the image right


# --- a file as the camera ------------------------------------------------------------------------

class _BrokenTracker:
    def __call__(self, frame):
        raise RuntimeError("device unplugged")


def test_a_failing_camera_is_one_warning_and_the_portrait_runs_on(caplog, tmp_path):
    clip = write_clip(tmp_path / "c.mp4", frames=10)
    queue = EventQueue()
    tracker = VisitorTracker(CameraSource(clip), _BrokenTracker(), queue, lambda: 0.0)
    with caplog.at_level("WARNING"):
        assert tracker.step(0.2) == 0
        assert tracker.step(0.3) == 0
    warnings = [r for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and "running without it" in warnings[0].getMessage()
    tracker.stop()


@pytest.mark.slow
def test_d0_as_the_camera_arrive_smile_leave(tmp_path):
    video = shared_path("driving", "d0.mp4")  # neutral, broad smile from ~0.7 s, neutral
    queue = EventQueue()
    params = CameraParams()
    tracker = VisitorTracker(CameraSource(video), FaceMeshTracker(max_faces=3), queue,
                             lambda: 0.0, params)
    for n in range(int(6 * FPS)):
        tracker.step(n / FPS)
    events = [(round(e.time_s, 2), e.key) for e in queue.drain() if e.key != "look"]
    tracker.stop()
    assert [k for _, k in events] == ["arrive", "smile", "leave"], events
    t = dict((k, v) for v, k in events)
    assert t["arrive"] <= 0.4
    assert 0.7 <= t["smile"] <= 1.0      # the mouth widens and the corners rise at 0.72 s
    assert 3.1 + params.leave_after_s - 0.1 <= t["leave"] <= 3.1 + params.leave_after_s + 0.2


@pytest.mark.slow
def test_d3_as_the_camera_surprise_and_no_smile(tmp_path):
    video = shared_path("driving", "d3.mp4")  # frowns, anger, then surprise near 9.9 s
    queue = EventQueue()
    tracker = VisitorTracker(CameraSource(video), FaceMeshTracker(max_faces=3), queue,
                             lambda: 0.0)
    for n in range(int(12 * FPS)):
        tracker.step(n / FPS)
    events = [(round(e.time_s, 2), e.key) for e in queue.drain() if e.key != "look"]
    tracker.stop()
    assert "smile" not in [k for _, k in events], events
    surprises = [t for t, k in events if k == "surprise"]
    assert len(surprises) == 1 and 9.8 <= surprises[0] <= 10.2, events


@pytest.mark.slow
def test_a_missing_camera_is_one_line_and_the_portrait_runs_on(tmp_path):
    out = tmp_path / "out.mp4"
    done = run_python([str(ROOT / "demo.py"), "--camera", str(tmp_path / "nope.mp4"),
                       "--headless", "--duration", "1", "--record", str(out), "--max-side",
                       "320"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if "camera" in line]
    assert len(lines) == 1 and "no camera" in lines[0] and "nope.mp4" in lines[0] \
        and "running without it" in lines[0], done.stderr
    assert "Traceback" not in done.stderr
    assert out.is_file()
