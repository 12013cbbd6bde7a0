"""Issue 13, case 13: the kiosk survives its window dying (the X server restarting
included), and keeps the screen from blanking; SIGTERM ends it cleanly."""

from __future__ import annotations

import logging
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reactive.live import kiosk
from tests.faults.faultkit import PHOTO, ROOT, SIDE, command_env


def _child(tmp_path: Path, codes: list[int]) -> list[str]:
    """A stand-in for the window: each start exits with the next code of ``codes``."""
    counter = tmp_path / "starts"
    counter.write_text("0")
    script = tmp_path / "child.py"
    script.write_text(
        "import sys, pathlib\n"
        f"c = pathlib.Path({str(counter)!r}); n = int(c.read_text()); c.write_text(str(n + 1))\n"
        f"codes = {codes!r}\n"
        "code = codes[min(n, len(codes) - 1)]\n"
        "if code == 2: print('error: portrait.jpg: no face found', file=sys.stderr)\n"
        "if code == 3: print('error: cannot open a window (gone)', file=sys.stderr); code = 2\n"
        "sys.exit(code)\n")
    return [sys.executable, str(script)]


def test_supervisor_restarts_with_back_off_until_a_clean_quit(tmp_path, caplog):
    sleeps = []
    with caplog.at_level(logging.WARNING, logger="reactive.live.kiosk"):
        code = kiosk.supervise(_child(tmp_path, [1, -9 if False else 139, 3, 1, 0]),
                               display_ready=lambda: True, sleep=sleeps.append)
    assert code == 0
    assert (tmp_path / "starts").read_text() == "5"
    assert sleeps == [1.0, 2.0, 4.0, 8.0]  # each quick death doubles the wait
    restarts = [r.getMessage() for r in caplog.records if "restart" in r.getMessage()]
    assert len(restarts) == 4 and "exit code 139" in restarts[1], restarts


def test_supervisor_waits_for_the_display(tmp_path, caplog):
    ready = iter([False, False, False, True, True])
    sleeps = []
    with caplog.at_level(logging.WARNING, logger="reactive.live.kiosk"):
        code = kiosk.supervise(_child(tmp_path, [0]), display_ready=lambda: next(ready),
                               sleep=sleeps.append)
    assert code == 0 and sleeps == [kiosk.DISPLAY_POLL_S] * 2
    messages = " ".join(r.getMessage() for r in caplog.records)
    assert "waiting for the X display" in messages and "display is back" in messages


def test_supervisor_stops_on_a_user_error_it_cannot_fix(tmp_path):
    sleeps = []
    assert kiosk.supervise(_child(tmp_path, [1, 2]), display_ready=lambda: True,
                           sleep=sleeps.append) == 2
    assert sleeps == [1.0]


def test_supervisor_back_off_starts_over_after_a_healthy_run(tmp_path):
    times = iter([0.0, 1.0, 10.0, 100.0, 200.0, 201.0])  # start, end, start, end, ...
    sleeps = []
    kiosk.supervise(_child(tmp_path, [1, 1, 0]), display_ready=lambda: True,
                    sleep=sleeps.append, clock=lambda: next(times))
    assert sleeps == [1.0, 1.0]  # the second run lasted 90 s: no doubling


def test_kiosk_without_a_display_is_one_line():
    env = command_env(Path("/tmp"))
    env.pop("DISPLAY", None)
    done = subprocess.run([sys.executable, "-m", "reactive", "kiosk", str(PHOTO)], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stderr.startswith("error: ") \
        and "DISPLAY" in done.stderr and len(done.stderr.splitlines()) == 1, done.stderr


def test_systemd_unit_runs_the_supervisor():
    import configparser

    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str
    unit.read(ROOT / "docs" / "reactive-kiosk.service")
    service = unit["Service"]
    assert " kiosk " in service["ExecStart"] and service["ExecStart"].split()[0].endswith(
        "/reactive")
    assert service["Restart"] == "always" and "143" in service["SuccessExitStatus"]
    assert "\nEnvironment=DISPLAY=" in (ROOT / "docs" / "reactive-kiosk.service").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "docs/reactive-kiosk.service" in readme and "systemctl enable" in readme


# --- the real thing under Xvfb -----------------------------------------------------------------

def _xvfb(number: int) -> subprocess.Popen:
    proc = subprocess.Popen(["Xvfb", f":{number}", "-screen", "0", "800x600x24", "-nolisten",
                             "tcp"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while not kiosk.display_available(f":{number}"):
        assert proc.poll() is None and time.monotonic() < deadline, "Xvfb did not start"
        time.sleep(0.1)
    return proc


def _free_display() -> int:
    for n in range(150, 250):
        if not Path(f"/tmp/.X11-unix/X{n}").exists() and not Path(f"/tmp/.X{n}-lock").exists():
            return n
    pytest.skip("no free X display number")


def _screen_saver_timeout(display: str) -> int:
    import ctypes

    xlib = kiosk._xlib()
    handle = xlib.XOpenDisplay(display.encode())
    values = [ctypes.c_int() for _ in range(4)]
    xlib.XGetScreenSaver.argtypes = [ctypes.c_void_p] + [ctypes.POINTER(ctypes.c_int)] * 4
    xlib.XGetScreenSaver(handle, *(ctypes.byref(v) for v in values))
    xlib.XCloseDisplay(handle)
    return values[0].value


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("Xvfb") is None, reason="needs Xvfb")
def test_kiosk_survives_the_x_server_restarting(tmp_path, warm_cache, small_clips):
    number = _free_display()
    display = f":{number}"
    xvfb = _xvfb(number)
    assert _screen_saver_timeout(display) > 0  # Xvfb's default: blanks after 10 minutes
    hook = tmp_path / "hook"
    hook.mkdir()
    env = command_env(warm_cache, DISPLAY=display, REACTIVE_WINDOW_TEST=str(hook))
    sup = subprocess.Popen([sys.executable, "-m", "reactive", "kiosk", str(PHOTO), "--clips",
                            str(small_clips), "--max-side", SIDE, "--no-mic"], env=env,
                           cwd=tmp_path, stderr=subprocess.PIPE, text=True)
    try:
        def wait_ready(timeout=120):
            deadline = time.monotonic() + timeout
            while not (hook / "ready.json").exists():
                assert sup.poll() is None, sup.stderr.read()
                assert time.monotonic() < deadline, "the kiosk window never came up"
                time.sleep(0.1)

        wait_ready()
        assert _screen_saver_timeout(display) == 0  # the kiosk turned blanking off
        (hook / "ready.json").unlink()
        xvfb.terminate()  # the X server goes away under the window ...
        xvfb.wait(timeout=10)
        time.sleep(2)
        assert sup.poll() is None, "the supervisor died with the X server"
        xvfb = _xvfb(number)  # ... and comes back
        wait_ready()
        assert _screen_saver_timeout(display) == 0
        sup.send_signal(signal.SIGTERM)
        err = sup.communicate(timeout=30)[1]
        assert sup.returncode == 143, err
        assert "restart 1" in err and "waiting for the X display" in err, err
        assert "Traceback" not in err, err
    finally:
        if sup.poll() is None:
            sup.kill()
        xvfb.terminate()
        xvfb.wait(timeout=10)
