"""The live window (reactive/live/window.py, driven through reactive/live/window_probe.py).

Without a display: the letterbox geometry, window -> photo pixel conversion and key-name
normalisation. Under X (Xvfb started here when DISPLAY is unset): the real ``python demo.py``
as a subprocess, driven through its test hook (REACTIVE_WINDOW_TEST: framebuffer screenshots
+ stats) and, when xdotool is installed, real X key and pointer events.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from reactive.io.video import VideoReader, VideoWriter
from reactive.live.letterbox import (
    Letterbox,
    fit_window,
    letterbox,
    photo_to_window,
    window_to_photo,
)
from reactive.live.triggers import KEY_NAMES
from reactive.live.window import key_name
from tests.helpers import ROOT, shared_path

# --- geometry, no display ------------------------------------------------------------------


def test_letterbox_wide_window_gets_side_bars():
    box = letterbox((100, 50), (400, 100))  # photo 2:1 in a 4:1 window
    assert (box.x0, box.y0, box.width, box.height) == (100, 0, 200, 100)
    assert box.scale_x == box.scale_y == 2.0


def test_letterbox_tall_window_gets_top_and_bottom_bars():
    box = letterbox((100, 50), (400, 400))
    assert (box.x0, box.y0, box.width, box.height) == (0, 100, 400, 200)


def test_letterbox_odd_sizes_stay_inside_and_centred():
    box = letterbox((576, 1024), (1280, 1024))  # the kiosk case: a portrait photo fullscreen
    assert (box.width, box.height) == (576, 1024)
    assert box.x0 == (1280 - 576) // 2 and box.y0 == 0
    box = letterbox((518, 921), (1001, 333))
    assert box.x0 >= 0 and box.y0 >= 0
    assert box.x0 + box.width <= 1001 and box.y0 + box.height <= 333
    assert abs(box.width / box.height - 518 / 921) < 0.01


@pytest.mark.parametrize("bad", [(0, 10), (10, -1)])
def test_letterbox_rejects_empty_sizes(bad):
    with pytest.raises(ValueError, match="photo_size"):
        letterbox(bad, (10, 10))
    with pytest.raises(ValueError, match="window_size"):
        letterbox((10, 10), bad)


def test_window_to_photo_identity_at_scale_one():
    # Window = photo: pyglet's pixel (x, y) from the bottom is photo pixel (x, H-1-y).
    box = letterbox((64, 48), (64, 48))
    assert window_to_photo(0, 47, box) == (0.0, 0.0)        # top-left pixel
    assert window_to_photo(63, 0, box) == (63.0, 47.0)      # bottom-right pixel
    assert window_to_photo(10, 40, box) == (10.0, 7.0)


def test_window_to_photo_undoes_scale_offset_and_flip():
    box = letterbox((100, 50), (400, 400))  # scale 4, bars of 100 px below and above
    # Photo pixel (10, 5) covers window x 40..43 and, counted from the top, rows
    # 100 + 20..23, i.e. pyglet y (from the bottom) 400-1-123 .. 400-1-120 = 276..279.
    for wx in range(40, 44):
        for wy in range(276, 280):
            px, py = window_to_photo(wx, wy, box)
            assert 9.5 <= px < 10.5 and 4.5 <= py < 5.5, (wx, wy, px, py)
    # The window centre is the photo centre.
    px, py = window_to_photo(199.5, 199.5, box)
    assert px == pytest.approx(49.5) and py == pytest.approx(24.5)


def test_window_to_photo_round_trip_with_photo_to_window():
    rng = np.random.default_rng(0)
    for photo, window in [((512, 512), (700, 300)), ((576, 1024), (1280, 1024)),
                          ((640, 480), (321, 977))]:
        box = letterbox(photo, window)
        for px, py in rng.uniform([0, 0], [photo[0] - 1, photo[1] - 1], (20, 2)):
            wx, wy = photo_to_window(px, py, box)
            back = window_to_photo(wx, wy, box)
            assert back == pytest.approx((px, py), abs=1e-9)


def test_window_to_photo_clamps_points_on_the_bars():
    box = letterbox((100, 50), (400, 400))
    assert window_to_photo(200, 399, box) == (pytest.approx(200.5 / 4 - 0.5), 0.0)  # above
    assert window_to_photo(200, 0, box)[1] == 49.0    # below: bottom edge
    box = letterbox((100, 50), (400, 100))
    assert window_to_photo(5, 50, box)[0] == 0.0      # left bar
    assert window_to_photo(399, 50, box)[0] == 99.0   # right bar


def test_fit_window_shrinks_to_the_screen_and_never_enlarges():
    assert fit_window((512, 512), (1920, 1080)) == (512, 512)
    w, h = fit_window((576, 1024), (1280, 1024))  # at most 90% of 1024 high
    assert h == round(0.9 * 1024) and abs(w / h - 576 / 1024) < 0.01
    w, h = fit_window((4000, 1000), (1000, 1000), fraction=1.0)
    assert (w, h) == (1000, 250)
    with pytest.raises(ValueError, match="photo_size"):
        fit_window((0, 5), (100, 100))


# --- key names, no display needed ---------------------------------------------------------------

@pytest.fixture(scope="module")
def keys():
    pyglet = pytest.importorskip("pyglet")
    if not os.environ.get("DISPLAY"):
        # Importing pyglet.window opens a hidden "shadow" window unless told not to; the
        # key constants need no display.
        pyglet.options["shadow_window"] = False
    try:
        from pyglet.window import key
    except Exception as exc:  # no X libraries at all
        pytest.skip(f"pyglet.window cannot be imported here: {exc}")
    return key


def test_key_names_letters_digits_and_specials(keys):
    k = keys
    assert key_name(k.A, 0) == "a" and key_name(k.Z, 0) == "z"
    assert key_name(k.H, k.MOD_SHIFT) == "h"                       # Shift does not matter
    assert key_name(k.F, k.MOD_CAPSLOCK | k.MOD_NUMLOCK) == "f"    # nor lock keys
    assert [key_name(getattr(k, f"_{i}"), 0) for i in range(10)] == list("0123456789")
    assert [key_name(getattr(k, f"NUM_{i}"), k.MOD_NUMLOCK) for i in range(10)] == \
        list("0123456789")
    assert key_name(k.SPACE, 0) == "space"
    assert key_name(k.ESCAPE, 0) == "escape"
    assert key_name(k.RETURN, 0) == key_name(k.NUM_ENTER, 0) == "enter"


def test_quit_chord_and_other_chords(keys):
    k = keys
    assert key_name(k.Q, k.MOD_CTRL | k.MOD_SHIFT) == "quit_chord"
    assert key_name(k.Q, k.MOD_CTRL | k.MOD_SHIFT | k.MOD_NUMLOCK) == "quit_chord"
    assert key_name(k.Q, 0) == "q"
    assert key_name(k.Q, k.MOD_CTRL) is None       # not the chord, and not a plain Q
    assert key_name(k.C, k.MOD_CTRL) is None
    assert key_name(k.TAB, k.MOD_ALT) is None
    assert key_name(k._1, k.MOD_ALT) is None
    assert key_name(k.F1, 0) is None and key_name(k.LSHIFT, 0) is None
    assert key_name(k.UP, 0) is None


def test_every_key_name_is_reachable_and_valid(keys):
    produced = {key_name(symbol, mods)
                for symbol in range(0, 0x10000)
                for mods in (0, keys.MOD_CTRL | keys.MOD_SHIFT)}
    produced.discard(None)
    assert produced == set(KEY_NAMES)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="X11 only")
def test_demo_without_a_display_says_so_in_one_line(tmp_path):
    photo = ROOT / "assets" / "sample_portrait.jpg"
    if not photo.is_file():
        pytest.skip(f"{photo} missing")
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    done = subprocess.run([sys.executable, str(ROOT / "demo.py"), str(photo), "--no-mic"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot open a window"), lines
    assert "--headless" in lines[0]


# --- the real demo under X ---------------------------------------------------------------------

START_TIMEOUT_S = 120.0   # a cold cache tracks the clip and rigs the photo first


@pytest.fixture(scope="module")
def demo_env(tmp_path_factory, xdisplay):
    """What every demo run shares: the display, one cache (the later runs start warm) and a
    clips folder (linked, not copied): the emotion d0, a video tracked on first use (neutral
    -> broad smile -> neutral), and the built-in idle pack (breathing, sway, blinks,
    glances; its mouth stays still, so a reaction shows against it)."""
    clips = tmp_path_factory.mktemp("clips")
    (clips / "d0.mp4").symlink_to(shared_path("driving", "d0.mp4"))
    (clips / "idle.npz").symlink_to(ROOT / "assets" / "clips" / "idle.npz")
    env = dict(os.environ, DISPLAY=xdisplay,
               REACTIVE_CACHE=str(tmp_path_factory.mktemp("cache")))
    return {"env": env, "clips": clips, "display": xdisplay}


class Demo:
    """``python demo.py PHOTO ...`` under X, driven through its test hook folder."""

    def __init__(self, demo_env, tmp_path: Path, photo: Path, *extra: str):
        self.dir = tmp_path / "hook"
        self.dir.mkdir(parents=True)
        self.env = dict(demo_env["env"], REACTIVE_WINDOW_TEST=str(self.dir))
        self.stderr_path = tmp_path / "stderr.txt"
        self.photo = photo
        self._stderr = open(self.stderr_path, "w")
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "demo.py"), str(photo), "--clips",
             str(demo_env["clips"]), "--seed", "0", *extra],
            cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=self._stderr)
        self.wid = None

    def stderr(self) -> str:
        self._stderr.flush()
        return self.stderr_path.read_text()

    def wait_file(self, name: str, timeout: float) -> Path:
        path = self.dir / name
        deadline = time.monotonic() + timeout
        while not path.exists():
            if self.proc.poll() is not None:
                pytest.fail(f"demo exited with {self.proc.returncode} before {name}:\n"
                            f"{self.stderr()[-3000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"no {name} after {timeout:.0f} s:\n{self.stderr()[-3000:]}")
            time.sleep(0.05)
        return path

    def command(self, line: str) -> None:
        """Hand one command to the window and wait until it has taken it."""
        tmp = self.dir / ".command"
        tmp.write_text(line + "\n")
        os.replace(tmp, self.dir / "command")
        deadline = time.monotonic() + 20
        while (self.dir / "command").exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"command {line!r} not taken:\n{self.stderr()[-3000:]}")
            time.sleep(0.02)

    def screenshot(self, name: str) -> tuple[np.ndarray, dict]:
        import cv2

        self.command(f"screenshot {name}")
        stats = json.loads(self.wait_file(f"{name}.json", 20).read_text())
        image = cv2.imread(str(self.dir / f"{name}.png"))[:, :, ::-1]
        return image, stats

    def stats(self, name: str) -> dict:
        self.command(f"stats {name}")
        return json.loads(self.wait_file(f"{name}.json", 20).read_text())

    def ready(self) -> dict:
        return json.loads(self.wait_file("ready.json", START_TIMEOUT_S).read_text())

    # Real X input when xdotool exists, else the hook's synthetic key through the window's
    # own handlers.
    def key(self, xdotool_name: str, pyglet_name: str) -> None:
        if self.xdotool(["key", xdotool_name]):
            return
        mods = " ctrl+shift" if "ctrl+shift" in xdotool_name else ""
        self.command(f"key {pyglet_name}{mods}")

    def xdotool(self, args: list[str]) -> bool:
        tool = shutil.which("xdotool")
        if tool is None:
            return False
        if self.wid is None:
            found = subprocess.run([tool, "search", "--sync", "--name", self.photo.name],
                                   env=self.env, capture_output=True, text=True, timeout=20)
            self.wid = found.stdout.split()[0]
            subprocess.run([tool, "windowfocus", "--sync", self.wid], env=self.env,
                           check=True, timeout=20)
        subprocess.run([tool, *args], env=self.env, check=True, timeout=20)
        return True

    def wait_exit(self, timeout: float = 20) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.close()
            pytest.fail(f"demo did not quit:\n{self.stderr()[-3000:]}")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._stderr.close()


@pytest.fixture
def demo(demo_env, tmp_path):
    runs = []

    def start(photo: Path, *extra: str) -> Demo:
        run = Demo(demo_env, tmp_path / f"run{len(runs)}", photo, *extra)
        runs.append(run)
        return run

    yield start
    for run in runs:
        run.close()


def idle_reference(photo: Path) -> np.ndarray:
    from reactive.io.photo import load_photo

    return load_photo(photo, max_side=1024)


def photo_area(image: np.ndarray, stats: dict) -> np.ndarray:
    """The letterboxed photo rectangle of a screenshot (top-down rows)."""
    x0, y0, w, h = stats["box"]
    top = stats["window"][1] - y0 - h
    return image[top:top + h, x0:x0 + w]


def correlation_with_photo(image: np.ndarray, stats: dict, photo: Path) -> float:
    import cv2

    from reactive.io.photo import load_photo

    area = photo_area(image, stats)
    ref = load_photo(photo, max_side=1024)
    ref = cv2.resize(ref, (area.shape[1], area.shape[0]), interpolation=cv2.INTER_AREA)
    a = cv2.cvtColor(area, cv2.COLOR_RGB2GRAY).astype(np.float64).ravel()
    b = cv2.cvtColor(ref, cv2.COLOR_RGB2GRAY).astype(np.float64).ravel()
    return float(np.corrcoef(a, b)[0, 1])


def mean_change(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def mouth_area(image: np.ndarray, stats: dict, photo: Path) -> np.ndarray:
    """The photo's mouth (lip corners and lips, padded by half the mouth's width on every
    side) in a screenshot, through the letterbox."""
    from reactive.io.target import find_target_face

    ref = idle_reference(photo)
    pts = find_target_face(ref)[[61, 291, 0, 17]]
    pad = 0.5 * float(np.linalg.norm(pts[1] - pts[0]))
    (x0, y0), (x1, y1) = pts.min(axis=0) - pad, pts.max(axis=0) + pad
    area = photo_area(image, stats)
    sx, sy = area.shape[1] / ref.shape[1], area.shape[0] / ref.shape[0]
    return area[max(int(y0 * sy), 0):int(np.ceil(y1 * sy)),
                max(int(x0 * sx), 0):int(np.ceil(x1 * sx))]


@pytest.mark.slow
def test_demo_window_shows_the_portrait_reacts_to_a_key_and_quits(demo, tmp_path):
    photo = shared_path("portraits", "s42.jpg")
    run = demo(photo, "--no-mic")
    # The window opens before the player exists (this session's first run tracks the clips
    # and rigs the photo): the photo dimmed under "Preparing s42.jpg...".
    prep, stats = run.screenshot("preparing")
    if not stats["live"]:
        assert stats["window"] == [512, 512]
        assert prep.mean() < 0.5 * idle_reference(photo).mean()      # dimmed
        band = prep[200:312]
        assert (band.min(axis=2) > 200).sum() > 200                   # white text
    ready = run.ready()
    assert ready["live"] and ready["window"] == [512, 512]      # the photo's own size

    idle = []
    for name in ("idle_a", "idle_b", "idle_c"):  # idle moves too (blinks, head sway)
        idle.append(run.screenshot(name))
        time.sleep(0.3)
    (idle_a, stats_a), (idle_b, stats_b) = idle[0], idle[-1]
    assert idle_b.std() > 20, "blank window"
    assert correlation_with_photo(idle_b, stats_b, photo) > 0.8
    assert stats_b["frames"] > stats_a["frames"]                 # it keeps rendering

    run.key("1", "_1")   # key 1 plays the first emotion, d0's broad smile
    time.sleep(1.2)
    react, stats_r = run.screenshot("react")
    clips = {layer["clip"]: layer["weight"] for layer in stats_r["layers"]}
    assert clips.get("d0", 0) > 0.5, stats_r["layers"]
    # Measured on the mouth: idle moves too (a blink, a glance, the head's sway), the
    # smile moves the mouth far more than any of it. (With d9 as the idle clip, its own
    # subtle smiles moved the mouth by up to 22 grey levels between two screenshots.)
    idle_change = max(mean_change(mouth_area(a, sa, photo), mouth_area(b, sb, photo))
                      for (a, sa), (b, sb) in zip(idle, idle[1:]))
    react_change = mean_change(mouth_area(idle_b, stats_b, photo),
                               mouth_area(react, stats_r, photo))
    print(f"\nmouth change: idle {idle_change:.1f} grey levels at most, smile {react_change:.1f}")
    assert react_change > max(2.5 * idle_change, 1.0), (idle_change, react_change)
    assert correlation_with_photo(react, stats_r, photo) > 0.8   # still the same portrait
    print(f"\nwindow {stats_r['window']}: {stats_r['fps']:.1f} fps (target "
          f"{stats_r['target_fps']:g}), render + upload {stats_r['frame_ms']:.1f} ms")

    if shutil.which("xdotool"):
        # The pointer arrives in photo pixels: move to where photo pixel (100, 300) is drawn.
        wx, wy = photo_to_window(100, 300, Letterbox(*stats_r["photo"], *stats_r["window"],
                                                     *stats_r["box"]))
        x, y_down = round(wx), stats_r["window"][1] - 1 - round(wy)
        run.xdotool(["mousemove", "--window", run.wid, str(x), str(y_down)])
        time.sleep(0.3)
        pointer = run.stats("pointer")["pointer"]
        assert pointer == pytest.approx([100, 300], abs=1.0)
        # Resized to a wide window: the photo is letterboxed, aspect kept, bars black.
        run.xdotool(["windowsize", run.wid, "900", "400"])
        time.sleep(0.5)
        wide, stats = run.screenshot("resized")
        assert stats["window"] == [900, 400] and stats["box"] == [250, 0, 400, 400]
        assert wide[:, :250].max() <= 1 and wide[:, 650:].max() <= 1
        assert correlation_with_photo(wide, stats, photo) > 0.8

    run.key("f", "F")
    run.key("h", "H")
    time.sleep(0.4)  # the fps text is refreshed 4 times a second
    overlays, stats = run.screenshot("overlays")
    assert stats["fps_overlay"] and stats["help"] and stats["fps"] > 5, stats
    # Both overlays are drawn over the photo: white text on darkened boxes, top-left (help)
    # and bottom-right (fps), where the plain frame has no such pure white.
    h, w = overlays.shape[:2]
    for corner in (overlays[: h // 3, : w // 2], overlays[-h // 8:, w // 2:]):
        assert (corner.min(axis=2) > 235).sum() > 30

    run.key("Escape", "ESCAPE")
    assert run.wait_exit() == 0, run.stderr()


@pytest.mark.slow
def test_demo_without_a_face_closes_the_window_and_exits_2(demo):
    run = demo(shared_path("portraits", "s33.jpg"), "--no-mic")  # a dog: no face
    code = run.wait_exit(timeout=START_TIMEOUT_S)
    err = run.stderr().strip().splitlines()
    assert code == 2, run.stderr()
    assert err[-1].startswith("error: ") and "face" in err[-1], err
    assert "Traceback" not in run.stderr()


@pytest.mark.slow
def test_demo_crashes_loudly_outside_kiosk_mode(demo):
    run = demo(shared_path("portraits", "s42.jpg"), "--no-mic")
    run.ready()
    run.command("crash")
    code = run.wait_exit()
    assert code not in (0, 2)
    assert "Traceback" in run.stderr() and "injected crash" in run.stderr()


@pytest.mark.slow
def test_kiosk_fullscreen_ignores_plain_quit_recovers_from_errors_and_quits_on_chord(demo):
    photo = shared_path("portraits", "s42.jpg")  # 512x512 on 1280x1024: x2, side bars
    run = demo(photo, "--kiosk")  # microphone on: without a device it says so once
    ready = run.ready()
    image, stats = run.screenshot("kiosk")
    assert stats["fullscreen"] and stats["window"] == [1280, 1024]
    x0, y0, w, h = stats["box"]
    assert (w, h) == (1024, 1024) and x0 == (1280 - 1024) // 2
    assert image[:, :x0].max() <= 1 and image[:, x0 + w:].max() <= 1   # black bars
    assert correlation_with_photo(image, stats, photo) > 0.8

    run.key("Escape", "ESCAPE")
    run.key("q", "Q")
    time.sleep(0.5)
    assert run.proc.poll() is None, "plain Esc / Q quit the kiosk"

    for attempt in (1, 2):
        run.command("crash")
        deadline = time.monotonic() + 60
        while True:
            stats = run.stats(f"after_crash{attempt}_{time.monotonic():.2f}")
            if stats["rebuilds"] == attempt and stats["live"]:
                break
            assert time.monotonic() < deadline, stats
            time.sleep(0.2)
        assert run.proc.poll() is None
    image, stats = run.screenshot("restarted")
    assert correlation_with_photo(image, stats, photo) > 0.8
    err = run.stderr()
    assert err.count("Traceback") == 1, err       # the same error: one traceback
    assert "again (2 times)" in err
    assert err.count("no microphone") <= 1

    run.key("ctrl+shift+q", "Q")
    assert run.wait_exit() == 0, run.stderr()


@pytest.mark.slow
def test_window_with_a_file_camera_greets_the_visitor_and_the_puppet_follows(demo, tmp_path):
    """d0.mp4 as the camera (neutral, a broad smile 0.7-2.6 s, ends at 3.1 s)."""
    photo = shared_path("portraits", "s42.jpg")
    camera = shared_path("driving", "d0.mp4")
    profile = tmp_path / "camera.toml"
    profile.write_text('[camera]\narrive = "d0"\n')  # the greeting: the clips' d0 smile
    run = demo(photo, "--no-mic", "--camera", str(camera), "--profile", str(profile))
    ready = run.ready()
    assert ready["live"] and ready["camera_frames"] is not None
    # The camera file starts when the portrait is live: within its first second a face
    # arrives, the portrait plays the greeting and looks at the visitor.
    deadline = time.monotonic() + 10
    greeted = None
    while time.monotonic() < deadline:
        stats = run.stats(f"v{int(time.monotonic() * 1000)}")
        weights = {layer["clip"]: layer["weight"] for layer in stats["layers"]}
        if weights.get("d0", 0) > 0.5:
            greeted = stats
            break
        time.sleep(0.1)
    assert greeted is not None, "no greeting"
    assert greeted["camera_frames"] > 3 and greeted["visitor"] is not None
    # The file ends (3.1 s): the visitor leaves (1.5 s later), the gaze is the pointer's.
    names = (f"s{k}" for k in range(10_000))  # a stats file per question
    deadline = time.monotonic() + 15
    while run.stats(next(names))["visitor"] is not None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert run.stats(next(names))["visitor"] is None
    run.key("Escape", "ESCAPE")
    assert run.wait_exit() == 0, run.stderr()

    # The puppet: d0 back and forth for 12 s (so that a loaded machine's slow start of the
    # tracker still sees calm frames and smiles) drives the portrait; N takes the neutral
    # again.
    with VideoReader(camera) as reader:
        frames, fps = reader.read_all(), reader.fps
    film = tmp_path / "d0_loop.mp4"
    with VideoWriter(film, fps=fps) as writer:
        for k in range(int(12 * fps)):
            i = k % len(frames)
            writer.write(frames[i if (k // len(frames)) % 2 == 0 else len(frames) - 1 - i])
    run = demo(photo, "--no-mic", "--camera", str(film), "--puppet")
    run.ready()
    deadline = time.monotonic() + 10
    while not run.stats(next(names))["puppet"]["ready"] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert run.stats(next(names))["puppet"]["ready"]
    rest = cv2_resize_like(idle_reference(photo), run.screenshot("puppet_0")[0])
    changes = []
    for k in range(12):   # over 3 s: at least one of d0's smiles
        shot, stats = run.screenshot(f"puppet_{k + 1}")
        assert stats["puppet"]["camera_time"] is not None
        changes.append(mean_change(mouth_area(shot, stats, photo),
                                   mouth_area(rest, stats, photo)))
        time.sleep(0.15)
    assert max(changes) > 4, changes
    run.key("n", "N")
    time.sleep(0.3)
    assert run.stats(next(names))["puppet"]["retakes"] == 1
    run.key("Escape", "ESCAPE")
    assert run.wait_exit() == 0, run.stderr()


def cv2_resize_like(image: np.ndarray, like: np.ndarray) -> np.ndarray:
    """``image`` drawn as a full-window screenshot the size of ``like`` (no bars)."""
    import cv2

    return cv2.resize(image, (like.shape[1], like.shape[0]), interpolation=cv2.INTER_AREA)
