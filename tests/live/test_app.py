"""``python demo.py``: bad input is one line and exit 2; and the fresh-clone experience: a copy
of the project with no ../shared beside it brings the bundled portrait to life headless."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import ROOT

TIMEOUT_S = 600


def demo(*args: str, cwd: Path = ROOT, env_extra: dict | None = None,
         script: Path = ROOT / "demo.py") -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.update(env_extra or {})
    return subprocess.run([sys.executable, str(script), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=TIMEOUT_S)


def _one_error_line(result: subprocess.CompletedProcess, *needles: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = [l for l in result.stderr.splitlines() if l.strip()]
    errors = [l for l in lines if l.startswith("error: ")]
    assert len(errors) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for n in needles:
        assert n in errors[0]


def test_missing_photo(tmp_path):
    _one_error_line(demo(str(tmp_path / "nope.jpg"), "--headless", "--duration", "1",
                         "--record", str(tmp_path / "o.mp4")), "nope.jpg", "not found")
    assert list(tmp_path.iterdir()) == []


def test_headless_needs_duration_and_record(tmp_path):
    _one_error_line(demo("--headless", "--record", str(tmp_path / "o.mp4")), "--duration")
    _one_error_line(demo("--headless", "--duration", "2"), "--record")
    _one_error_line(demo("--duration", "2"), "--headless")


def test_bad_events_file_names_file_and_line(tmp_path):
    ev = tmp_path / "ev.txt"
    ev.write_text("1.0 key 1\nsoon loud\n")
    out = tmp_path / "o.mp4"
    _one_error_line(demo("--headless", "--duration", "1", "--events", str(ev), "--record",
                         str(out)), "ev.txt:2")
    assert not out.exists()


def test_missing_clips_folder(tmp_path):
    _one_error_line(demo("--headless", "--duration", "1", "--clips", str(tmp_path / "none"),
                         "--record", str(tmp_path / "o.mp4")), "none")


def test_missing_mouths_file(tmp_path):
    _one_error_line(demo("--headless", "--duration", "1", "--mouths", str(tmp_path / "m.mp4"),
                         "--record", str(tmp_path / "o.mp4")), "m.mp4", "not found")
    assert list(tmp_path.iterdir()) == []


def _frames(path: Path) -> list[np.ndarray]:
    from reactive.io.video import VideoReader

    with VideoReader(path) as reader:
        return [f.astype(np.int16) for f in reader]


@pytest.mark.skipif(not any((ROOT / "assets" / "clips").glob("*.npz")),
                    reason="no built-in clips in assets/clips (python -m precompute synth)")
@pytest.mark.slow
def test_fresh_clone_demo_is_alive_and_not_a_short_loop(tmp_path):
    """The README's demo command, headless, in a copy of the project with no ../shared."""
    clone = tmp_path / "clone" / "project"
    shutil.copytree(ROOT, clone, ignore=shutil.ignore_patterns(
        ".git", ".venv", "__pycache__", "out", "*.egg-info", ".pytest_cache", "tests", "docs"))
    assert not (clone.parent / "shared").exists()
    out = tmp_path / "alive.mp4"
    result = demo("--headless", "--duration", "8", "--record", str(out), cwd=clone,
                  script=clone / "demo.py",
                  env_extra={"REACTIVE_CACHE": str(tmp_path / "cache"),
                             "NUMBA_CACHE_DIR": str(tmp_path / "numba"),
                             "PYTHONPATH": str(clone)})
    assert result.returncode == 0, result.stderr
    frames = _frames(out)
    fps = 30
    assert len(frames) == 8 * fps
    step = [np.abs(a - b).mean() for a, b in zip(frames, frames[1:])]
    assert np.mean(np.array(step) > 0.05) > 0.5, "the portrait is mostly still"
    # Not a loop of under 5 s: for every period P < 5 s, frames P apart differ on average.
    for period in range(fps // 2, 5 * fps):
        same = np.mean([np.abs(frames[n] - frames[n + period]).mean()
                        for n in range(0, len(frames) - period, 5)])
        assert same > 0.1, f"frames repeat with a period of {period / fps:.2f} s"
