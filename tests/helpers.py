"""Helpers shared by the tests (plain functions; the shared fixtures are in ``conftest.py``):
where the test media is, synthetic faces and clips, running the real commands."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from reactive.core import landmarks as lm
from reactive.core.clip import ClipPack
from reactive.core.rig import build_rig
from reactive.io.target import find_target_face
from reactive.io.video import VideoReader

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = (ROOT / ".." / "shared" / "data").resolve()


def shared_path(*parts: str) -> Path:
    """A file under ../shared/data, or skip the test with the reason."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"test media {path} not found (tests read ../shared/data beside the project)")
    return path


def self_reenactment(clip: str, pack: ClipPack):
    """A clip's own frames and a rig of its neutral frame driven by it (self-reenactment:
    the real frames are the ground truth). Returns (real frames, rig)."""
    with VideoReader(shared_path("driving", f"{clip}.mp4")) as reader:
        real = reader.read_all()[:pack.frame_count]
    photo = real[pack.neutral_index]
    return real, build_rig(photo, find_target_face(photo), pack)


def fake_face(cx=100.0, cy=90.0, rx=40.0, ry=52.0, seed=0) -> np.ndarray:
    """478 points: the face oval on an ellipse, the rest scattered inside it."""
    rng = np.random.default_rng(seed)
    pts = np.zeros((lm.N_LANDMARKS, 2), np.float32)
    ang = np.linspace(-np.pi / 2, 1.5 * np.pi, len(lm.FACE_OVAL), endpoint=False)
    pts[lm.FACE_OVAL] = np.stack([cx + rx * np.cos(ang), cy + ry * np.sin(ang)], 1)
    inner = np.setdiff1d(np.arange(lm.N_LANDMARKS), lm.FACE_OVAL)
    r = 0.85 * np.sqrt(rng.uniform(0, 1, len(inner)))
    t = rng.uniform(0, 2 * np.pi, len(inner))
    pts[inner] = np.stack([cx + rx * r * np.cos(t), cy + ry * r * np.sin(t)], 1)
    return pts


def fake_pack(neutral_points: np.ndarray, face_offsets: np.ndarray) -> ClipPack:
    """A pack whose frames are the neutral points plus ``face_offsets`` (F, 2) per frame."""
    f = len(face_offsets)
    lms = np.repeat(neutral_points[None], f, 0) + face_offsets[:, None, :].astype(np.float32)
    periph = np.zeros((f, 0, 2), np.float32)
    head = np.repeat(np.array([[[1, 0, 0], [0, 1, 0]]], np.float32), f, 0)
    return ClipPack(fps=25.0, source_size=(200, 180), neutral_index=0,
                    landmarks=lms.astype(np.float32), face_detected=np.ones(f, bool),
                    peripheral=periph, peripheral_valid=np.zeros((f, 0), bool), head=head)


CLI_TIMEOUT_S = 120


def run_python(args: list[str], cwd: Path, *, env: dict | None = None,
               timeout: float = CLI_TIMEOUT_S) -> subprocess.CompletedProcess:
    """``python ARGS`` in ``cwd`` with this project importable; output captured."""
    env = dict(os.environ if env is None else env)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in [env.get("PYTHONPATH")] if p])
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


def reactive(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """The ``reactive`` command, as a user runs it."""
    return run_python(["-m", "reactive", *args], cwd)


def precompute(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """``python -m precompute``, as a user runs it."""
    return run_python(["-m", "precompute", *args], cwd)


def listing(folder: Path) -> set[str]:
    """The names in ``folder`` (empty when it does not exist)."""
    return set(os.listdir(folder)) if folder.is_dir() else set()


def assert_one_line_error(proc: subprocess.CompletedProcess, *names: str) -> str:
    """Non-zero exit, one ``error:`` line naming every string in ``names``, no traceback."""
    report = f"rc={proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert proc.returncode != 0, report
    assert "Traceback" not in proc.stderr + proc.stdout, report
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1, report
    for name in names:
        assert name in errors[0], f"{name!r} not named in {errors[0]!r}"
    return errors[0]


def write_clip(path: Path, *, frames: int = 10, fps: float = 10.0,
               size: tuple[int, int] = (96, 64)) -> Path:
    """A small video whose frame k is uniformly grey level 20 * k (mod 250): each frame
    says which it is."""
    from reactive.io.video import VideoWriter

    w, h = size
    with VideoWriter(path, fps=fps) as writer:
        for k in range(frames):
            writer.write(np.full((h, w, 3), (20 * k) % 250, np.uint8))
    return path
