"""The guard every command runs in (reactive/guard.py): signals become exceptions that
clean up on their way out, a full disk is one line, output folders come and go."""

from __future__ import annotations

import errno
import os
import signal

import numpy as np
import pytest

from reactive import guard
from reactive.errors import InputError
from reactive.io.video import VideoWriter


def _frames(n=3, side=64):
    return [np.full((side, side, 3), 40 * i, np.uint8) for i in range(n)]


@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
@pytest.mark.parametrize("suffix", [".mp4", ".png"])
def test_a_signal_mid_write_cleans_up_and_exits_128_plus_n(tmp_path, capsys, signum, code,
                                                          suffix):
    out = tmp_path / "out" / f"r{suffix}"

    def command(_args):
        guard.prepare_output(out)
        with VideoWriter(out, fps=10) as writer:
            for i, frame in enumerate(_frames(6)):
                writer.write(frame)
                if i == 3:
                    os.kill(os.getpid(), signum)  # arrives between two frames
        return 0

    assert guard.run_guarded(command, None) == code
    assert capsys.readouterr().err.strip() == f"terminated ({signal.Signals(signum).name})"
    assert list(tmp_path.iterdir()) == []  # no video, no frames, no temp, no created folder
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL or \
        signal.getsignal(signal.SIGTERM) != signal.SIG_IGN  # handlers restored


def test_a_second_signal_does_not_interrupt_the_cleanup(tmp_path, capsys):
    cleaned = []

    def command(_args):
        try:
            os.kill(os.getpid(), signal.SIGTERM)
        finally:
            os.kill(os.getpid(), signal.SIGTERM)  # ignored while cleaning up
            cleaned.append(True)
        return 0

    assert guard.run_guarded(command, None) == 143
    assert cleaned == [True]


def test_a_signal_after_the_work_waits_for_it_to_finish():
    """Disarmed (the result is being announced): the signal ends the process only after."""
    reached = []
    with pytest.raises(guard.Terminated) as info:
        with guard.signals_as_exceptions() as armed:
            armed.on = False
            os.kill(os.getpid(), signal.SIGTERM)
            reached.append(True)
    assert reached == [True] and info.value.exit_code == 143


def test_a_full_disk_is_one_line(capsys):
    def command(_args):
        raise OSError(errno.ENOSPC, "No space left on device", "/data/out/.r.mp4.tmp-1")

    assert guard.run_guarded(command, None) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: /data/out: No space left on device") and \
        len(err.splitlines()) == 1


def test_other_os_errors_are_bugs_and_propagate():
    def command(_args):
        raise OSError(errno.EIO, "Input/output error")

    with pytest.raises(OSError):
        guard.run_guarded(command, None)


def test_input_errors_and_ctrl_c(capsys):
    def mistake(_args):
        raise InputError("photo.jpg: no face found")

    def interrupted(_args):
        raise KeyboardInterrupt

    assert guard.run_guarded(mistake, None) == 2
    assert capsys.readouterr().err == "error: photo.jpg: no face found\n"
    assert guard.run_guarded(interrupted, None) == 130


def test_prepare_output_creates_missing_folders_and_removes_them_on_failure(tmp_path):
    target = tmp_path / "a" / "b" / "o.mp4"

    def fails(_args):
        guard.prepare_output(target)
        assert target.parent.is_dir()
        raise InputError("later mistake")

    assert guard.run_guarded(fails, None) == 2
    assert list(tmp_path.iterdir()) == []

    def works(_args):
        guard.prepare_output(target)
        target.write_bytes(b"x")
        return 0

    assert guard.run_guarded(works, None) == 0
    assert target.read_bytes() == b"x"


def test_prepare_output_keeps_a_folder_someone_wrote_into(tmp_path):
    target = tmp_path / "shared" / "o.mp4"

    def fails(_args):
        guard.prepare_output(target)
        (target.parent / "other.txt").write_text("not ours")
        raise InputError("later mistake")

    assert guard.run_guarded(fails, None) == 2
    assert (tmp_path / "shared" / "other.txt").is_file()


@pytest.mark.parametrize("name, words", [
    ("folder", "is a folder"), ("afile/o.mp4", "not a folder"), ("o.avi", "unsupported"),
])
def test_prepare_output_mistakes(tmp_path, name, words):
    (tmp_path / "folder").mkdir()
    (tmp_path / "afile").write_text("x")
    with pytest.raises(InputError, match=words):
        guard.prepare_output(tmp_path / name, suffixes=(".mp4",))
