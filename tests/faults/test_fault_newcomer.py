"""Issue 13, cases 14-24: the newcomer's path, read from the README and followed literally."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.faults.faultkit import (
    PHOTO,
    ROOT,
    SIDE,
    command_env,
    listing,
    one_error_line,
    write_driving_video,
)

README = (ROOT / "README.md").read_text()


def test_dev_keeps_the_callers_folder(tmp_path, warm_cache):
    """Case 15: ./dev run from another folder finds a relative photo there (the run gets
    past the photo to the next mistake, a --duration under one frame)."""
    shutil.copy(PHOTO, tmp_path / "me.jpg")
    done = subprocess.run([str(ROOT / "dev"), "demo", "me.jpg", "--headless", "--duration",
                           "0.001", "--record", "o.mp4"], cwd=tmp_path,
                          env=command_env(warm_cache), capture_output=True, text=True,
                          timeout=300)
    one_error_line(done, "--duration 0.001")


@pytest.mark.slow
def test_dev_runs_from_another_folder(tmp_path, warm_cache, small_clips):
    """Case 15 (and 22) in full: a recording into a new folder, relative paths throughout,
    and the reactive command through ./dev."""
    shutil.copy(PHOTO, tmp_path / "me.jpg")
    env = command_env(warm_cache)
    done = subprocess.run([str(ROOT / "dev"), "demo", "me.jpg", "--clips",
                           os.path.relpath(small_clips, tmp_path), "--headless", "--duration",
                           "0.2", "--max-side", SIDE, "--record", "out/me.mp4"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out" / "me.mp4").is_file()
    done = subprocess.run([str(ROOT / "dev"), "reactive", "render", "me.jpg", "--clip",
                           "nothere.npz", "-o", "x.mp4"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    one_error_line(done, "nothere.npz", "not found")


def test_warnings_are_said_on_every_start(warm_cache, caplog):
    """Case 19: the cached face still warns (the sample smiles)."""
    from reactive.io.cache import cached_face
    from reactive.io.photo import load_photo
    from reactive.io.target import warn_about_face

    photo = load_photo(PHOTO, max_side=int(SIDE))

    def no_detection(p):
        raise AssertionError("the face is cached: no detection")

    for _ in range(2):
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            cached_face(photo, warm_cache, no_detection,
                        report=lambda pts, n: warn_about_face(pts, n, source="me.jpg"))
        assert any("smiling" in r.getMessage() for r in caplog.records)


def test_the_compile_note_only_when_compiling(tmp_path, warm_cache):
    """Case 20: numba's cache says whether the kernels are compiled: here they are (the
    warm-up run used them); a copy of the package without its __pycache__ is not."""
    from reactive.core.kernels.compiled import kernels_compiled
    from reactive.live.hud import COMPILING, PREPARING

    assert "compiles" not in PREPARING and "compiles" in COMPILING
    assert kernels_compiled()
    copy = tmp_path / "copy"
    shutil.copytree(ROOT / "reactive", copy / "reactive",
                    ignore=shutil.ignore_patterns("__pycache__"))
    env = dict(os.environ, PYTHONPATH=str(copy), NUMBA_CACHE_DIR=str(tmp_path / "numba"))
    cold = subprocess.run([sys.executable, "-c", "import reactive.core.kernels.compiled as j; "
                           "print(j.__file__, j.kernels_compiled())"], cwd=copy, env=env,
                          capture_output=True, text=True, timeout=120)
    assert cold.stdout.split() == [str(copy / "reactive" / "core" / "kernels" / "compiled.py"),
                                   "False"], cold


@pytest.mark.slow
def test_render_driving_tracks_once(tmp_path, warm_cache, monkeypatch, caplog, capsys):
    """Case 21: the second render of the same video (renamed, even) is not tracked again."""
    from reactive.tools.cli import main

    monkeypatch.setenv("REACTIVE_CACHE", str(warm_cache))
    monkeypatch.chdir(tmp_path)
    video = write_driving_video(tmp_path / "drive.mp4")
    for i, name in enumerate(["drive.mp4", "renamed.mp4"]):
        if name != video.name:
            video = video.rename(tmp_path / name)
        caplog.clear()
        t0 = time.monotonic()
        with caplog.at_level(logging.WARNING):
            assert main(["render", str(PHOTO), "--driving", str(video), "--strip",
                         f"s{i}.png", "--max-side", SIDE, "-q"]) == 0, capsys.readouterr().err
        tracked = any("tracking the video" in r.getMessage() for r in caplog.records)
        assert tracked == (i == 0), f"run {i}: tracked={tracked}"
        print(f"run {i}: {time.monotonic() - t0:.1f} s")
    assert (tmp_path / "s1.png").is_file()


def test_gif_is_refused_in_one_line(tmp_path, capsys):
    """Case 23: the formats the README names; GIF is refused with what to do."""
    from PIL import Image

    from reactive.live.app import main

    Image.open(PHOTO).save(tmp_path / "me.gif")
    code = main([str(tmp_path / "me.gif"), "--headless", "--duration", "1", "--record",
                 str(tmp_path / "o.mp4")])
    err = capsys.readouterr().err
    assert code == 2 and "me.gif" in err and "GIF" in err and "PNG" in err, err
    assert listing(tmp_path) == {"me.gif"}


@pytest.mark.parametrize("needle", [
    "JPEG, PNG, WebP, TIFF",          # input formats
    "GIF",                            # ... and what is refused
    "not window pixels",              # event coordinates
    "folder is created",              # output folders
    "Making a driving clip",          # your own driving clip
    "1.3 GB",                         # install size ...
    "a few minutes",                  # ... and time
    "libportaudio2",                  # the demo's own system packages
    "./dev reactive",                 # how to reach the reactive command
    ".venv/bin/reactive",
    "reactive kiosk",                 # the supervisor and its unit
    "systemctl enable",
])
def test_readme_answers_the_newcomers_questions(needle):
    """Case 23 (and 22): what the README must say."""
    assert needle in README


# --- the README's own commands, verbatim, in a fresh clone ----------------------------------------

def readme_commands() -> list[str]:
    """The ./dev command lines of the README's shell blocks, with their optional [...] parts
    left out (comments dropped)."""
    lines = []
    for block in re.findall(r"```sh\n(.*?)```", README, flags=re.S):
        for line in block.splitlines():
            line = line.split("#", 1)[0].strip()
            if line.startswith("./dev "):
                lines.append(re.sub(r"\s*\[[^\]]*\]", "", line).strip())
    return lines


def test_readme_commands_are_found():
    commands = readme_commands()
    assert "./dev demo" in commands and "./dev test" in commands
    assert any("--headless" in c and "out/demo.mp4" in c for c in commands), commands


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_readme_commands_work_in_a_fresh_clone(tmp_path):
    """Case 14 and the set-up: `git clone`, then every ./dev command of the README as
    written (PHOTO.jpg is a file of that name, as a user's would be; ./dev test runs one
    test file, not the suite again; ./dev demo's window under Xvfb, quit with Esc), from
    a clean .venv, with an empty cache. Prints the install's size and time."""
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True, timeout=300)
    shutil.copy(PHOTO, clone / "PHOTO.jpg")
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "REACTIVE_WINDOW_TEST")}
    env["REACTIVE_CACHE"] = str(tmp_path / "cache")
    timings = {}
    for command in readme_commands():
        args = command.split()[1:]
        if args == ["test"]:
            args = ["test", "-q", "-x", "tests/live/test_states.py"]
        hook = None
        if args[0] == "demo" and "--headless" not in args:
            if not env.get("DISPLAY") and shutil.which("Xvfb") is None:
                continue
            hook = tmp_path / f"hook{len(timings)}"
            hook.mkdir()
        t0 = time.monotonic()
        done = _run_dev(clone, args, env, hook)
        timings[command] = time.monotonic() - t0
        assert done.returncode == 0, f"{command}:\n{done.stderr[-3000:]}"
    assert (clone / "out" / "demo.mp4").stat().st_size > 10_000
    size = sum(p.stat().st_size for p in (clone / ".venv").rglob("*") if p.is_file())
    print(f"\n.venv: {size / 2**30:.2f} GB; " +
          "; ".join(f"{c}: {t:.0f} s" for c, t in timings.items()))


def _run_dev(clone: Path, args: list[str], env: dict, hook: Path | None):
    if hook is None:
        return subprocess.run([str(clone / "dev"), *args], cwd=clone, env=env,
                              capture_output=True, text=True, timeout=1800)
    xvfb = None
    env = dict(env, REACTIVE_WINDOW_TEST=str(hook))
    if not env.get("DISPLAY"):
        xvfb = subprocess.Popen(["Xvfb", ":191", "-screen", "0", "1024x768x24", "-nolisten",
                                 "tcp"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        env["DISPLAY"] = ":191"
        time.sleep(1)
    try:
        proc = subprocess.Popen([str(clone / "dev"), *args, "--no-mic"], cwd=clone, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 1800
        while not (hook / "ready.json").exists() and proc.poll() is None \
                and time.monotonic() < deadline:
            time.sleep(0.2)
        (hook / ".command").write_text("key ESCAPE\n")
        os.replace(hook / ".command", hook / "command")
        out, err = proc.communicate(timeout=60)
        return subprocess.CompletedProcess(args, proc.returncode, out, err)
    finally:
        if xvfb is not None:
            xvfb.terminate()
            xvfb.wait(timeout=10)


# --- case 24: the help overlay beside the face ----------------------------------------------------

@pytest.mark.slow
@pytest.mark.skipif(shutil.which("Xvfb") is None and not os.environ.get("DISPLAY"),
                    reason="needs an X display or Xvfb")
@pytest.mark.parametrize("kiosk", [False, True])
def test_help_overlay_does_not_cover_the_face(tmp_path, warm_cache, small_clips, kiosk):
    """H on: the help's box and the face (the photo's landmarks, found here, padded for hair)
    do not overlap in the screenshot; the face area looks as without the help."""
    import cv2

    from reactive.io.photo import load_photo
    from reactive.io.target import find_target_face
    from reactive.live.letterbox import Letterbox, photo_to_window
    from reactive.live.overlay import face_rect

    env = command_env(warm_cache)
    xvfb = None
    if not env.get("DISPLAY"):
        xvfb = subprocess.Popen(["Xvfb", ":192", "-screen", "0", "1280x1024x24", "-nolisten",
                                 "tcp"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        env["DISPLAY"] = ":192"
        time.sleep(1)
    hook = tmp_path / "hook"
    hook.mkdir()
    env["REACTIVE_WINDOW_TEST"] = str(hook)
    proc = subprocess.Popen([sys.executable, str(ROOT / "demo.py"), str(PHOTO), "--clips",
                             str(small_clips), "--no-mic", "--seed", "0",
                             *(["--kiosk"] if kiosk else [])],
                            env=env, stderr=subprocess.PIPE, text=True)

    def wait(name):
        deadline = time.monotonic() + 120
        while not (hook / name).exists():
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
            time.sleep(0.05)
        return hook / name

    def command(line):
        (hook / ".command").write_text(line + "\n")
        os.replace(hook / ".command", hook / "command")
        while (hook / "command").exists():
            time.sleep(0.02)

    try:
        wait("ready.json")
        command("screenshot plain")
        wait("plain.json")
        command("key H")
        time.sleep(0.3)
        command("screenshot help")
        stats = json.loads(wait("help.json").read_text())
        shot = cv2.imread(str(hook / "help.png"))
        plain = cv2.imread(str(hook / "plain.png"))
        name = "kiosk" if kiosk else "window"
        out = Path(os.environ.get("REACTIVE_SHOTS", tmp_path))
        cv2.imwrite(str(out / f"help_overlay_{name}.png"), shot)
        command("key Q ctrl+shift" if kiosk else "key ESCAPE")
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        if xvfb is not None:
            xvfb.terminate()
            xvfb.wait(timeout=10)
    assert stats["help"]
    photo = load_photo(PHOTO, max_side=1024)
    box = Letterbox(*stats["photo"], *stats["window"], *stats["box"])
    wh = stats["window"][1]
    points = find_target_face(photo)[:468]
    face = face_rect(points, lambda x, y: (photo_to_window(x, y, box)[0],
                                           wh - photo_to_window(x, y, box)[1]))
    hx0, hy0, hx1, hy1 = stats["help_box"]
    assert hx1 <= face.x0 or hx0 >= face.x1 or hy1 <= face.y0 or hy0 >= face.y1, (stats, face)
    # The help is drawn (bright text in its box) and the face is left as it was.
    region = shot[int(hy0):int(hy1), int(hx0):int(hx1)]
    assert (region.min(axis=2) > 235).sum() > 30
    f = shot[int(face.y0):int(face.y1), int(face.x0):int(face.x1)].astype(int)
    g = plain[int(face.y0):int(face.y1), int(face.x0):int(face.x1)].astype(int)
    assert np.abs(f - g).mean() < 20  # only the idle motion between the two screenshots


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("Xvfb") is None and not os.environ.get("DISPLAY"),
                    reason="needs an X display or Xvfb")
def test_sigterm_while_the_kernels_compile_is_clean(tmp_path, warm_cache, small_clips):
    """A cold first start, stopped while numba compiles on the build thread: exit 143 with
    one line (the interpreter's own exit used to abort under LLVM: SIGABRT, "terminate
    called without an active exception")."""
    copy = tmp_path / "project"
    for name in ("reactive", "precompute", "assets"):
        shutil.copytree(ROOT / name, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "demo.py", copy / "demo.py")
    env = command_env(warm_cache, PYTHONPATH=str(copy), NUMBA_CACHE_DIR=str(tmp_path / "nb"))
    xvfb = None
    if not env.get("DISPLAY"):
        xvfb = subprocess.Popen(["Xvfb", ":193", "-screen", "0", "800x600x24", "-nolisten",
                                 "tcp"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        env["DISPLAY"] = ":193"
        time.sleep(1)
    try:
        proc = subprocess.Popen([sys.executable, str(copy / "demo.py"), str(PHOTO), "--clips",
                                 str(small_clips), "--max-side", SIDE, "--no-mic"], env=env,
                                cwd=tmp_path, stderr=subprocess.PIPE, text=True)
        time.sleep(8)  # the face and offsets are cached: by now it compiles
        assert proc.poll() is None
        proc.send_signal(15)
        err = proc.communicate(timeout=60)[1]
    finally:
        if xvfb is not None:
            xvfb.terminate()
            xvfb.wait(timeout=10)
    assert proc.returncode == 143, err
    assert "terminate called" not in err and "Traceback" not in err, err
    assert err.strip().splitlines()[-1] == "terminated (SIGTERM)"
