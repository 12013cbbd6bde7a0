"""``reactive kiosk PHOTO [demo options]``: the kiosk window, restarted whenever it dies.

The window recovers by itself from errors inside the player (``window.py``); this
supervisor covers what it cannot: the process dying (the X server restarting or going
away, a crash in a native library, the out-of-memory killer). It runs ``reactive play
PHOTO --kiosk [options]`` as a child and, when the child ends:

- exit 0 (Ctrl+Shift+Q on the kiosk): the supervisor ends too, exit 0;
- exit 2 with an ``error:`` line other than "cannot open a window": the photo, clips or
  profile are wrong and restarting cannot fix them; the supervisor ends with 2;
- anything else (a crash, a signal, the X server gone): it waits until the X display
  accepts connections again, then restarts the child after a back-off (1 s, doubling up to
  a minute while the child keeps dying within 30 s of its start), logging each restart.

SIGTERM / SIGINT to the supervisor are passed on to the child (which closes cleanly), then
the supervisor exits 143 / 130. ``docs/reactive-kiosk.service`` runs it under systemd.

:func:`disable_blanking` (called by the kiosk window) turns off the X screen saver and DPMS
power saving, through Xlib (the library pyglet itself uses) or ``xset``; it fails quietly
where the server or the platform does not allow it.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from typing import Callable, Sequence

from reactive.errors import InputError
from reactive.guard import run_guarded

log = logging.getLogger(__name__)

FIRST_DELAY_S = 1.0
MAX_DELAY_S = 60.0
STABLE_S = 30.0          # a child that ran this long was healthy: the back-off starts over
DISPLAY_POLL_S = 1.0
STOP_TIMEOUT_S = 10.0    # after passing SIGTERM on, then SIGKILL


# --- X ------------------------------------------------------------------------------------------

def _xlib():
    name = ctypes.util.find_library("X11") or "libX11.so.6"
    lib = ctypes.cdll.LoadLibrary(name)
    lib.XOpenDisplay.restype = ctypes.c_void_p
    lib.XOpenDisplay.argtypes = [ctypes.c_char_p]
    lib.XCloseDisplay.argtypes = [ctypes.c_void_p]
    lib.XSetScreenSaver.argtypes = [ctypes.c_void_p] + [ctypes.c_int] * 4
    lib.XFlush.argtypes = [ctypes.c_void_p]
    return lib


def display_available(display: str | None = None) -> bool:
    """True when the X display (``$DISPLAY`` by default) accepts a connection now."""
    display = display or os.environ.get("DISPLAY")
    if not display:
        return False
    try:
        xlib = _xlib()
    except OSError:
        return False
    handle = xlib.XOpenDisplay(display.encode())
    if not handle:
        return False
    xlib.XCloseDisplay(handle)
    return True


def disable_blanking() -> bool:
    """Screen saver and DPMS off on ``$DISPLAY``; True if it worked, False (quietly) if not.

    The settings belong to the X server, so they outlive this process until the server
    restarts (the supervisor's restarted window sets them again)."""
    ok = False
    try:
        xlib = _xlib()
        handle = xlib.XOpenDisplay(None)
        if handle:
            try:
                # timeout 0 = no screen saver; DontPreferBlanking (0), AllowExposures (1).
                xlib.XSetScreenSaver(handle, 0, 0, 0, 1)
                ok = True
                try:
                    xext = ctypes.cdll.LoadLibrary(ctypes.util.find_library("Xext")
                                                   or "libXext.so.6")
                    xext.DPMSQueryExtension.argtypes = [ctypes.c_void_p,
                                                        ctypes.POINTER(ctypes.c_int),
                                                        ctypes.POINTER(ctypes.c_int)]
                    xext.DPMSDisable.argtypes = [ctypes.c_void_p]
                    a, b = ctypes.c_int(), ctypes.c_int()
                    if xext.DPMSQueryExtension(handle, ctypes.byref(a), ctypes.byref(b)):
                        xext.DPMSDisable(handle)
                except (OSError, AttributeError):
                    pass  # no DPMS library: the screen saver is off all the same
                xlib.XFlush(handle)
            finally:
                xlib.XCloseDisplay(handle)
    except (OSError, AttributeError) as exc:
        log.debug("no Xlib for the screen saver settings: %r", exc)
    if not ok and shutil.which("xset"):
        for args in (["s", "off"], ["s", "noblank"], ["-dpms"]):
            try:
                done = subprocess.run(["xset", *args], capture_output=True, timeout=5)
                ok = ok or (done.returncode == 0 and args[0] == "s")
            except (OSError, subprocess.SubprocessError):
                pass
    if ok:
        log.info("kiosk: screen blanking and power saving turned off")
    else:
        log.debug("kiosk: could not turn off screen blanking")
    return ok


# --- the supervisor -------------------------------------------------------------------------------

def _describe(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def supervise(command: Sequence[str], *, display_ready: Callable[[], bool] = display_available,
              sleep: Callable[[float], None] = time.sleep,
              clock: Callable[[], float] = time.monotonic,
              max_restarts: int | None = None) -> int:
    """Run ``command`` until it quits on purpose; restart it whenever it dies.

    Returns 0 when the child quit cleanly (exit 0), 2 when it reported a user error that a
    restart cannot fix. ``max_restarts`` (tests) stops after that many restarts, returning
    the last child's exit code. SIGTERM / Ctrl+C arrive here as exceptions (guard.py): the
    child is stopped on the way out.
    """
    failures = 0
    restarts = 0
    while True:
        if not display_ready():
            log.warning("kiosk: waiting for the X display %s", os.environ.get("DISPLAY", "?"))
            while not display_ready():
                sleep(DISPLAY_POLL_S)
            log.warning("kiosk: the X display is back")
        started = clock()
        code, last_error = _run_child(command)
        ran = clock() - started
        if code == 0:
            log.warning("kiosk: the window was quit (Ctrl+Shift+Q); stopping")
            return 0
        if code == 2 and last_error and "cannot open a window" not in last_error:
            log.error("kiosk: not restarting: the error above needs fixing first")
            return 2
        if max_restarts is not None and restarts >= max_restarts:
            return code
        failures = 1 if ran >= STABLE_S else failures + 1
        delay = min(MAX_DELAY_S, FIRST_DELAY_S * 2 ** (failures - 1))
        restarts += 1
        log.warning("kiosk: the window ended (%s) after %.0f s; restart %d in %.0f s",
                    _describe(code), ran, restarts, delay)
        sleep(delay)


def _run_child(command: Sequence[str]) -> tuple[int, str]:
    """Run the child to its end, its stderr passed through -> (exit code, its last
    ``error:`` line or "")."""
    child = subprocess.Popen(list(command), stderr=subprocess.PIPE, text=True, bufsize=1,
                             errors="replace")
    last_error = ""

    def relay() -> None:
        nonlocal last_error
        for line in child.stderr:
            sys.stderr.write(line)
            sys.stderr.flush()
            if line.startswith("error: "):
                last_error = line.strip()

    reader = threading.Thread(target=relay, name="kiosk-stderr", daemon=True)
    reader.start()
    try:
        code = child.wait()
    except BaseException:
        _stop(child)
        raise
    reader.join(timeout=5)
    return code, last_error


def _stop(child: subprocess.Popen) -> None:
    if child.poll() is not None:
        return
    child.send_signal(signal.SIGTERM)  # the window closes cleanly
    try:
        child.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


def child_command(demo_args: Sequence[str]) -> list[str]:
    """``reactive play ARGS --kiosk`` with this interpreter."""
    args = list(demo_args)
    if "--kiosk" not in args:
        args.append("--kiosk")
    return [sys.executable, "-m", "reactive", "play", *args]


USAGE = """usage: reactive kiosk [PHOTO] [demo options]

The kiosk (python demo.py PHOTO --kiosk ...), restarted whenever it dies, the X server
restarting included: waits for the display, backs off while it keeps dying, logs each
restart. Every argument is passed to the demo as given (python demo.py --help lists them).
Ctrl+Shift+Q on the kiosk stops both; so does SIGTERM (exit 143).
"""


def main(argv: Sequence[str]) -> int:
    demo_args = list(argv)
    if "-h" in demo_args or "--help" in demo_args:
        print(USAGE, end="")
        return 0

    def run(_args) -> int:
        if not os.environ.get("DISPLAY"):
            raise InputError("reactive kiosk needs an X display: set DISPLAY (e.g. DISPLAY=:0)")
        log.warning("kiosk: supervising %s", " ".join(["reactive play", *demo_args]))
        return supervise(child_command(demo_args))

    return run_guarded(run, argparse.Namespace(verbose=False))
