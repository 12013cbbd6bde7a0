"""Ending cleanly, whatever happens: every command runs inside :func:`run_guarded`.

- A user mistake (:class:`InputError`) is one ``error:`` line and exit code 2.
- SIGTERM and SIGHUP are handled like Ctrl+C (SIGINT): they raise :class:`Terminated` in the
  main thread, so every ``with`` block and ``except BaseException`` cleanup on the way out
  runs (temp files deleted, image dumps removed), then one line and exit 128 + signal
  (143 for SIGTERM; 130 for Ctrl+C).
- A full disk or a file size limit while writing is one ``error:`` line and exit 2.
- Output folders: :func:`prepare_output` checks an output path before any work (not a
  folder, a known suffix, a folder we can write in) and creates missing folders; they are
  removed again when the command fails and they are still empty.
"""

from __future__ import annotations

import errno
import logging
import os
import signal
import sys
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterable, Iterator

from reactive.errors import InputError

log = logging.getLogger(__name__)

HANDLED_SIGNALS = (signal.SIGTERM, signal.SIGHUP)
_DISK_FULL = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT}


class Terminated(BaseException):
    """SIGTERM / SIGHUP arrived. A BaseException like KeyboardInterrupt: ``except
    Exception`` recovery code (the kiosk's) must not swallow it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = int(signum)

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


class _Armed:
    on = False


@contextmanager
def signals_as_exceptions() -> Iterator[_Armed]:
    """While inside, SIGTERM / SIGHUP raise :class:`Terminated` in the main thread (only the
    first: a second one must not break the cleanup the first started). Set ``.on = False``
    on the yielded object once the work is done; a signal then only ends the process after
    the caller returns (with the same exit code). Outside the main thread: does nothing."""
    armed = _Armed()
    if threading.current_thread() is not threading.main_thread():
        yield armed
        return
    late: list[int] = []

    def handler(signum, frame):
        for s in HANDLED_SIGNALS:
            signal.signal(s, signal.SIG_IGN)
        if armed.on:
            armed.on = False
            raise Terminated(signum)
        late.append(signum)

    previous = {s: signal.signal(s, handler) for s in HANDLED_SIGNALS}
    armed.on = True
    try:
        yield armed
    finally:
        armed.on = False
        for s, h in previous.items():
            signal.signal(s, h)
    if late:
        raise Terminated(late[0])


def quiet_native_logs() -> None:
    """OpenCV's FFmpeg prints warnings for every odd frame; the CLI reports problems itself.
    Call before anything imports cv2."""
    os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")


def run_guarded(fn: Callable[[object], int], args: object) -> int:
    """``fn(args)`` with the rules of this module (log level from ``args.verbose``); returns
    the exit code."""
    logging.basicConfig(level=logging.INFO if getattr(args, "verbose", False) else logging.WARNING,
                        format="%(levelname)s: %(message)s")
    code = 1
    try:
        with signals_as_exceptions() as armed:
            try:
                code = fn(args)
            except InputError as exc:
                armed.on = False
                print(f"error: {exc}", file=sys.stderr)
                code = 2
            except KeyboardInterrupt:
                armed.on = False
                print("interrupted", file=sys.stderr)
                code = 130
            except OSError as exc:
                armed.on = False
                if exc.errno not in _DISK_FULL:
                    raise
                where = Path(exc.filename).parent if exc.filename else "the output folder"
                print(f"error: {where}: {exc.strerror or exc} while writing (disk full or a "
                      "file size limit); free some space or write elsewhere", file=sys.stderr)
                code = 2
            finally:
                armed.on = False
                if code != 0:
                    remove_created_folders()
    except Terminated as exc:
        remove_created_folders()
        print(f"terminated ({exc})", file=sys.stderr)
        return exc.exit_code
    return code


# --- output paths ----------------------------------------------------------------------------

_created: list[Path] = []


def prepare_output(path: str | os.PathLike, *, suffixes: Iterable[str] = (),
                   what: str = "output") -> Path:
    """Check an output path before the work that leads to it; create its missing folders.

    InputError when ``path`` is an existing folder, its suffix is not one of ``suffixes``
    (when given), a part of its folder is a file, or the folder cannot be written in.
    """
    path = Path(path)
    suffixes = tuple(suffixes)
    if path.is_dir():
        example = path / f"out{suffixes[0] if suffixes else ''}"
        raise InputError(f"{path}: is a folder; give a file name for the {what}, "
                         f"e.g. {example}")
    if suffixes and path.suffix.lower() not in suffixes:
        raise InputError(f"{path}: unsupported {what} type {path.suffix or '(no suffix)'!r}; "
                         f"use one of {', '.join(suffixes)}")
    missing = []
    folder = path.parent
    while not folder.exists() and not folder.is_symlink() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    if not folder.is_dir():
        raise InputError(f"{path}: {folder} is a file, not a folder; choose another "
                         f"{what} path")
    try:
        fd, probe = tempfile.mkstemp(prefix=".write-test-", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise InputError(f"{path}: cannot write in {folder} ({exc.strerror or exc}); "
                         f"choose another {what} folder") from None
    for d in reversed(missing):
        try:
            d.mkdir()
        except FileExistsError:
            continue
        except OSError as exc:
            raise InputError(f"{path}: cannot create the folder {d} "
                             f"({exc.strerror or exc})") from None
        _created.append(d)
        log.info("created the output folder %s", d)
    return path


def remove_created_folders() -> None:
    """The folders :func:`prepare_output` created, removed again if still empty."""
    while _created:
        try:
            _created.pop().rmdir()
        except OSError:
            pass


def disk_full(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in _DISK_FULL
