"""``reactive record``: takes cut from a video standing in for the camera, checked, tracked,
written as clips that play."""

from __future__ import annotations

import os

import cv2
import numpy as np
import pytest

from reactive.errors import InputError
from reactive.io.clippack import load_pack
from reactive.io.video import VideoReader, VideoWriter
from reactive.params import RecordParams
from reactive.tools.cli import build_parser
from reactive.tools.record import Take, check_take, parse_takes
from tests.helpers import ROOT, assert_one_line_error, fake_face, fake_pack, reactive, \
    run_python, shared_path


def test_parse_takes():
    assert parse_takes("neutral:0-2, smile:2-5.5") == [Take("neutral", 0, 2),
                                                       Take("smile", 2, 5.5)]
    for bad, what in (("smile", "not STATE:START-END"), ("smile:3-2", "end must come after"),
                      ("Smile!:0-1", "state name"), ("a:0-1,a:1-2", "taken twice"),
                      ("", "no takes"), ("neutral:0-2", "only a neutral take")):
        with pytest.raises(InputError, match=what):
            parse_takes(bad)


def _pack(scale=1.0, lost=0.0, turned=0.0, frames=20):
    face = fake_face(cx=100, cy=90, rx=40 * scale, ry=52 * scale)
    pack = fake_pack(face, np.zeros((frames, 2), np.float32))
    pack.face_detected[:int(round(lost * frames))] = False
    n_turned = int(round(turned * frames))
    # Turned: the nose tip next to one cheek.
    pack.landmarks[:n_turned, 1] = pack.landmarks[:n_turned, 234] + [2.0, 0.0]
    return pack


def test_takes_are_refused_with_the_reason():
    p = RecordParams()
    assert check_take(_pack(), p) is None
    assert "lost in 50%" in check_take(_pack(lost=0.5), p)
    assert "too small" in check_take(_pack(scale=0.3), p)      # 31 px of a 180 px frame
    assert "turned away in 50%" in check_take(_pack(turned=0.5), p)
    assert check_take(_pack(turned=0.1), p) is None            # a glance is fine


def test_record_command_errors_are_one_line(tmp_path):
    proc = reactive("record", "--headless", "--camera", str(tmp_path / "nope.mp4"),
                    "--takes", "a:0-1", "-o", str(tmp_path / "out"), cwd=tmp_path)
    assert_one_line_error(proc, "nope.mp4")
    assert not (tmp_path / "out").exists()
    parser = build_parser()
    for argv, what in ((["record", "--headless", "--takes", "a:0-1"], "--camera"),
                       (["record", "--takes", "a:0-1"], "--headless"),
                       (["record", "--headless", "--camera", "x.mp4"], "--takes")):
        args = parser.parse_args([*argv, "-o", str(tmp_path / "o")])
        with pytest.raises(InputError, match=what):
            args.func(args)


@pytest.mark.slow
def test_headless_takes_from_d0_play_and_bad_takes_are_refused(tmp_path):
    d0 = shared_path("driving", "d0.mp4")  # neutral, a broad smile from 0.7 s, neutral
    with VideoReader(d0) as reader:
        frames, fps = reader.read_all(), reader.fps
    # The camera film: d0, then d0 shrunk to a tenth (too small), then an empty room.
    film = tmp_path / "film.mp4"
    n = len(frames)
    with VideoWriter(film, fps=fps) as writer:
        for f in frames:
            writer.write(f)
        for f in frames[:n // 2]:
            small = np.zeros_like(f)
            side = int(0.4 * f.shape[0])  # the face ~ 21% of the frame's height
            small[:side, :side] = cv2.resize(f, (side, side), interpolation=cv2.INTER_AREA)
            writer.write(small)
        for f in frames[:n // 2]:
            writer.write(np.full_like(f, 90))
    t0, t1 = n / fps, (n + n // 2) / fps
    out = tmp_path / "clips"
    proc = reactive("record", "--camera", str(film), "--headless", "-o", str(out), "--takes",
                    f"neutral:0-0.6,smile:0.6-3.1,far:{t0 + 0.1:.2f}-{t1 - 0.1:.2f},"
                    f"gone:{t1 + 0.1:.2f}-{t1 + 1:.2f}", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "refused far: the face is too small" in proc.stdout, proc.stdout
    assert "refused gone: the face lost in" in proc.stdout and "neutral" not in proc.stdout.split("refused")[-1]
    assert_one_line_error(proc, "2 of 4", "far", "gone")
    assert sorted(p.name for p in out.iterdir()) == ["smile.mp4", "smile.npz"]
    pack = load_pack(out / "smile.npz")
    assert pack.tag == "smile" and pack.neutral_index == 0
    in_take = sum(1 for k in range(n) if 0.6 <= k / fps < 3.1)
    assert pack.frame_count == 1 + in_take   # the neutral take's frame in front
    with VideoReader(out / "smile.mp4") as reader:
        assert len(reader.read_all()) == pack.frame_count
    # It plays: key 1 is the only emotion, the recorded smile.
    events = tmp_path / "events.txt"
    events.write_text("0.2 key 1\n")
    done = run_python([str(ROOT / "demo.py"), str(ROOT / "assets" / "sample_portrait.jpg"),
                       "--clips", str(out), "--headless", "--duration", "1.5", "--events",
                       str(events), "--record", str(tmp_path / "play.mp4"), "--max-side",
                       "320"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    with VideoReader(tmp_path / "play.mp4") as reader:
        played = reader.read_all()
    change = np.abs(played[-1].astype(int) - played[0].astype(int)).mean()
    assert change > 1.0, change   # the portrait moved: it smiled


# --- the guided window -----------------------------------------------------------------------

def test_guided_capture_prompts_counts_down_records_and_redoes(tmp_path):
    from reactive.tools.record_window import PROMPTS, GuidedCapture, TakeResult, draw_guide

    p = RecordParams(countdown_s=1.0, neutral_s=0.5)
    cap = GuidedCapture(tmp_path, 10.0, p, take_s=0.5, process=False)
    image = np.zeros((48, 64, 3), np.uint8)
    t = 0.0

    def run(seconds):
        nonlocal t
        for _ in range(int(round(seconds * 10))):
            cap.frame(t, image)
            t += 0.1

    run(0.5)
    assert cap.phase == "countdown" and cap.state == "neutral"
    assert "in 1" in cap.lines(t)[1] and "neutral" in cap.lines(t)[0].lower()
    run(1.0)
    assert cap.phase == "recording" and len(cap.frames) >= 3
    run(0.5)
    assert cap.phase == "processing"
    cap._pending = TakeResult("neutral", None)          # what the worker hands back
    run(0.1)
    assert cap.state == "smile" and cap.phase == "countdown"
    run(1.8)
    cap._pending = TakeResult("smile", "the face is too small (10%): come closer")
    run(0.1)
    assert cap.phase == "refused" and "too small" in cap.lines(t)[0]
    cap.key("r", t)                                      # film it again
    assert cap.phase == "countdown" and cap.state == "smile"
    run(1.8)
    cap._pending = TakeResult("smile", "turned away")
    run(0.1)
    cap.key("space", t)                                  # skip it
    assert cap.state == PROMPTS[2][0] and cap.phase == "countdown"
    cap.key("escape", t)
    assert cap.done and "saved: no clips" in cap.summary()[0]
    shown = draw_guide(image + 40, cap.lines(t), recording=True)
    assert shown.shape == image.shape and (shown != 40).any()


@pytest.mark.slow
def test_guided_capture_window_with_a_file_camera(tmp_path, xdisplay):
    d0 = shared_path("driving", "d0.mp4")
    with VideoReader(d0) as reader:
        frames, fps = reader.read_all(), reader.fps
    film = tmp_path / "film.mp4"   # d0 back and forth for 16 s: always a frontal face
    with VideoWriter(film, fps=fps) as writer:
        for k in range(int(16 * fps)):
            cycle = (k // len(frames)) % 2
            i = k % len(frames)
            writer.write(frames[i if cycle == 0 else len(frames) - 1 - i])
    out = tmp_path / "mine"
    env = dict(os.environ, DISPLAY=xdisplay)
    done = run_python(["-m", "reactive", "record", "--camera", str(film), "-o", str(out),
                       "--seconds", "1"], cwd=tmp_path, env=env, timeout=240)
    assert done.returncode == 0, done.stderr
    # Neutral at 3-5 s, checked; the smile's countdown, its take of 1 s, checked; the file
    # ends in a later take.
    assert "saved: smile" in done.stdout, done.stdout
    assert {"smile.mp4", "smile.npz"} <= {p.name for p in out.iterdir()}
    assert load_pack(out / "smile.npz").neutral_index == 0
