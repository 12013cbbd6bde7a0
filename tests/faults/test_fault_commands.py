"""Issue 13, cases 6-12 and 14-18, and faults beyond them (a full disk, a read-only folder):
the real commands end with one line and the documented exit code, and leave nothing behind.

Argument mistakes run the commands' ``main`` in this process (the code a user's command
runs, minus the interpreter start); whatever involves writing, signals or resource limits
runs the real command in a subprocess.
"""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from tests.faults.faultkit import (
    BLINK,
    IDLE,
    PHOTO,
    SIDE,
    Started,
    demo_cmd,
    listing,
    one_error_line,
    reactive_cmd,
    run,
    terminated_cleanly,
    write_driving_video,
)


def call(main, argv: list[str], capsys) -> subprocess.CompletedProcess:
    """``main(argv)`` in this process -> a CompletedProcess like a subprocess run."""
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:  # argparse's own usage errors
        code = exc.code
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(argv, code, out, err)


def reactive_main(argv):
    from reactive.tools.cli import main

    return main(argv)


def demo_main(argv):
    from reactive.live.app import main

    return main(argv)


@pytest.fixture
def in_tmp(tmp_path, monkeypatch, warm_cache):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("REACTIVE_CACHE", str(warm_cache))
    return tmp_path


@pytest.fixture(scope="module")
def driving(tmp_path_factory):
    return write_driving_video(tmp_path_factory.mktemp("video") / "drive.mp4")


# --- argument mistakes: one line, exit 2, before any work -----------------------------------------

HEADLESS = [PHOTO, "--headless", "--max-side", SIDE, "--record", "o.mp4"]


@pytest.mark.parametrize("argv, names", [
    # case 8: not a number of seconds
    (HEADLESS + ["--duration", "nan"], ["--duration nan"]),
    (HEADLESS + ["--duration", "inf"], ["--duration inf"]),
    # case 17: the value given is named, not "needs --duration"
    (HEADLESS + ["--duration", "0"], ["--duration 0", "one frame"]),
    (HEADLESS + ["--duration", "-1"], ["--duration -1"]),
    # case 6, the other half: shorter than one frame
    (HEADLESS + ["--duration", "0.001"], ["--duration 0.001", "one frame"]),
    (HEADLESS + ["--duration", "1e9"], ["--duration 1e+09"]),
])
def test_demo_duration_mistakes(in_tmp, capsys, argv, names):
    before = listing(in_tmp)
    one_error_line(call(demo_main, argv, capsys), *names)
    assert listing(in_tmp) == before


def test_a_folder_as_photo_says_so(in_tmp, capsys):  # case 16
    folder = in_tmp / "photos"
    folder.mkdir()
    one_error_line(call(demo_main, [folder, "--headless", "--duration", "1", "--record",
                                    "o.mp4"], capsys), "photos", "is a folder")
    one_error_line(call(reactive_main, ["render", folder, "--clip", BLINK, "-o", "o.mp4"],
                        capsys), "photos", "folder")


@pytest.mark.parametrize("side", ["10", "0", "-5"])
def test_render_max_side_is_checked(in_tmp, capsys, side):  # case 9
    one_error_line(call(reactive_main, ["render", PHOTO, "--clip", BLINK, "-o", "o.mp4",
                                        "--max-side", side], capsys), f"--max-side {side}")


@pytest.mark.parametrize("argv, names", [  # case 10: an output path that is a folder
    (["render", PHOTO, "--clip", BLINK, "-o", "outdir"], ["outdir", "is a folder"]),
    (["render", PHOTO, "--clip", BLINK, "--strip", "outdir"], ["outdir", "is a folder"]),
    (["precompute", "drive.mp4", "-o", "outdir"], ["outdir", "is a folder"]),
    (["render", PHOTO, "--clip", BLINK, "-o", "o.avi"], ["o.avi", "unsupported"]),
    (["precompute", "drive.mp4", "-o", "pack.mp4"], ["pack.mp4", ".npz"]),
    (["render", PHOTO, "--clip", BLINK, "-o", "file.txt/o.mp4"], ["file.txt", "not a folder"]),
])
def test_output_path_mistakes(in_tmp, capsys, argv, names):
    (in_tmp / "outdir").mkdir()
    (in_tmp / "file.txt").write_text("x")
    before = listing(in_tmp)
    one_error_line(call(reactive_main, argv, capsys), *names)
    assert listing(in_tmp) == before


def test_profile_times_beyond_reason(in_tmp, capsys):  # case 7
    for text, name in (("transition_s = 1e308\n", "transition_s"),
                       ("[idle]\nreaction_after_s = 1e308\njitter_s = 1e308\n",
                        "reaction_after_s")):
        (in_tmp / "p.toml").write_text(text)
        one_error_line(call(demo_main, HEADLESS + ["--duration", "1", "--profile", "p.toml"],
                            capsys), "p.toml", name)


def test_strip_frames_beyond_the_video_before_tracking(in_tmp, capsys, driving):  # case 18
    t0 = time.monotonic()
    done = call(reactive_main, ["render", PHOTO, "--driving", driving, "--strip", "s.png",
                                "--strip-frames", "10,9999", "--max-side", SIDE], capsys)
    one_error_line(done, "9999", "drive.mp4")
    assert "tracking" not in done.stderr
    assert time.monotonic() - t0 < 10
    one_error_line(call(reactive_main, ["render", PHOTO, "--clip", BLINK, "--strip", "s.png",
                                        "--strip-frames", "-3"], capsys), "--strip-frames")


def test_precompute_into_a_read_only_folder_fails_before_tracking(in_tmp, capsys, driving):
    """Case 11. Read-only: a read-only tmpfs when running as root (root writes anywhere
    else), else a folder without write permission."""
    folder = in_tmp / "ro"
    folder.mkdir()
    mounted = False
    if os.geteuid() == 0:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(folder)],
                              capture_output=True)
        if done.returncode != 0:
            pytest.skip(f"running as root and cannot mount a read-only tmpfs: {done.stderr!r}")
        mounted = True
    else:
        folder.chmod(0o555)
    try:
        t0 = time.monotonic()
        done = call(reactive_main, ["precompute", driving, "-o", folder / "p.npz"], capsys)
        one_error_line(done, "p.npz", "cannot write")
        assert "tracking" not in done.stderr and time.monotonic() - t0 < 10
    finally:
        if mounted:
            subprocess.run(["umount", str(folder)], check=True)
        else:
            folder.chmod(0o755)


# --- the real commands, in subprocesses -----------------------------------------------------------

@pytest.mark.slow
def test_headless_into_a_new_folder_creates_it(tmp_path, warm_cache, small_clips):  # case 14
    done = run(demo_cmd(PHOTO, "--clips", small_clips, "--headless", "--duration", "0.2",
                        "--max-side", SIDE, "--record", "out/sub/demo.mp4"),
               cache=warm_cache, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out" / "sub" / "demo.mp4").stat().st_size > 0


def test_a_script_that_quits_at_once_is_one_line_and_leaves_nothing(tmp_path, warm_cache,
                                                                    small_clips):  # case 6
    (tmp_path / "quit.txt").write_text("0 key escape\n")
    before = listing(tmp_path)
    done = run(demo_cmd(PHOTO, "--clips", small_clips, "--headless", "--duration", "8",
                        "--max-side", SIDE, "--events", "quit.txt", "--record",
                        "out/demo.mp4"), cache=warm_cache, cwd=tmp_path)
    one_error_line(done, "quit.txt", "before the first frame")
    assert listing(tmp_path) == before  # no video, no temp file, no "out" folder


def test_sigterm_during_render_leaves_nothing(tmp_path, warm_cache):  # case 12
    before = listing(tmp_path)
    run_ = Started(reactive_cmd("render", str(PHOTO), "--clip", str(IDLE), "-o",
                                "out/r.mp4", "--max-side", SIDE, "-q"),
                   cache=warm_cache, cwd=tmp_path)
    out = tmp_path / "out"
    # The temp file exists from the first frame on (the mp4 holds data only later).
    done = run_.terminate_when(lambda: any(out.glob(".r.mp4.tmp*")))
    terminated_cleanly(done)
    assert listing(tmp_path) == before


@pytest.mark.slow
def test_sigterm_during_png_frames_and_headless_recording_leaves_nothing(tmp_path, warm_cache,
                                                                         small_clips):
    before = listing(tmp_path)
    frames = tmp_path / "frames"
    run_ = Started(reactive_cmd("render", str(PHOTO), "--clip", str(IDLE), "-o",
                                "frames/f.png", "--max-side", SIDE, "-q"),
                   cache=warm_cache, cwd=tmp_path)
    terminated_cleanly(run_.terminate_when(lambda: len(list(frames.glob("f_*.png"))) >= 5))
    assert listing(tmp_path) == before
    run_ = Started(demo_cmd(str(PHOTO), "--clips", str(small_clips), "--headless",
                            "--duration", "600", "--max-side", SIDE, "--record", "rec.mp4"),
                   cache=warm_cache, cwd=tmp_path)
    terminated_cleanly(run_.terminate_when(
        lambda: any(p.stat().st_size > 10_000 for p in tmp_path.glob(".rec.mp4.tmp*"))))
    assert listing(tmp_path) == before


@pytest.mark.slow
def test_sigterm_during_tracking_leaves_nothing(tmp_path, warm_cache):
    video = write_driving_video(tmp_path / "long.mp4", frames=150)
    before = listing(tmp_path)
    run_ = Started(reactive_cmd("precompute", str(video), "-o", "packs/p.npz"),
                   cache=warm_cache, cwd=tmp_path)
    terminated_cleanly(run_.terminate_when(lambda: any("tracking" in l for l in run_.err)))
    assert listing(tmp_path) == before


# --- a full disk (a file size limit in the child, as `ulimit -f`) ---------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("target", [
    "out/f.png",  # the first frame does not fit
    "out/r.mp4",  # the muxer reports it at the end
])
def test_disk_full_while_rendering_is_one_line(tmp_path, warm_cache, target):
    before = listing(tmp_path)
    done = run(reactive_cmd("render", str(PHOTO), "--clip", str(BLINK), "-o", target,
                            "--max-side", SIDE, "-q"), cache=warm_cache, cwd=tmp_path,
               fsize=8_000)
    one_error_line(done, "out", "disk full")
    assert listing(tmp_path) == before


@pytest.mark.parametrize("target", [
    "frames/f.png",  # the first frame does not fit
    pytest.param("rec.mp4", marks=pytest.mark.slow),  # the muxer reports it at the end
])
def test_disk_full_while_recording_is_one_line(tmp_path, warm_cache, small_clips, target):
    before = listing(tmp_path)
    done = run(demo_cmd(str(PHOTO), "--clips", str(small_clips), "--headless", "--duration",
                        "30", "--max-side", SIDE, "--record", target), cache=warm_cache,
               cwd=tmp_path, fsize=60_000)
    one_error_line(done, "disk full")
    assert listing(tmp_path) == before


@pytest.mark.slow
def test_disk_full_while_writing_a_clip_pack_is_one_line(tmp_path, warm_cache, driving):
    before = listing(tmp_path)
    done = run(reactive_cmd("precompute", str(driving), "-o", "p.npz", "-q"),
               cache=warm_cache, cwd=tmp_path, fsize=4_000)
    one_error_line(done, "disk full")
    assert listing(tmp_path) == before


@pytest.mark.slow
def test_disk_full_while_writing_the_cache_costs_speed_not_the_show(tmp_path, small_clips):
    """A cold cache on a nearly full disk: the offsets (136 KB) and the background plate
    cannot be saved (one warning each), the face (4 KB) and the short recording can; the
    run succeeds."""
    cache = tmp_path / "cache"
    done = run(demo_cmd(str(PHOTO), "--clips", str(small_clips), "--headless", "--duration",
                        "0.1", "--max-side", SIDE, "--record", "o.mp4"), cache=cache,
               cwd=tmp_path, fsize=60_000)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr
    unsaved = [line for line in done.stderr.splitlines() if "could not write cache" in line]
    assert len(unsaved) == 2, done.stderr
    assert {line.split("/cache/")[1].split("/")[0] for line in unsaved} == {"tables",
                                                                          "backdrops"}
    assert (tmp_path / "o.mp4").is_file()
    assert not [p for p in cache.rglob("*") if p.name.startswith(".")]  # no temp files


# --- a photo that declares far more pixels than it holds ------------------------------------------

def _png_bomb(path, side: int, rows: int = 8) -> None:
    """A PNG whose header declares side x side pixels; its data holds ``rows`` rows (a
    whole 30000 px one is a 1 MB file decoding to 3.7 GB: the header is what is judged)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    deflate = zlib.compressobj(9)
    row = bytes(side + 1)
    body = b"".join(deflate.compress(row) for _ in range(rows)) + deflate.flush()
    path.write_bytes(b"\x89PNG\r\n\x1a\n"
                     + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0))
                     + chunk(b"IDAT", body) + chunk(b"IEND", b""))


@pytest.mark.parametrize("side", [11_000, 30_000])
def test_a_pixel_bomb_photo_is_refused_before_decoding(in_tmp, capsys, side):
    import tracemalloc

    _png_bomb(in_tmp / "huge.png", side)
    tracemalloc.start()
    try:
        done = call(demo_main, ["huge.png", "--headless", "--duration", "1", "--record",
                                "o.mp4"], capsys)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    one_error_line(done, "huge.png", "megapixels")
    assert peak < 50 << 20, f"{peak / 2**20:.0f} MB"
