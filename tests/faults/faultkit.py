"""Building broken inputs and running the real commands on them (the fault-injection suite).

Everything here is made from the project's own files (the bundled sample portrait, the
built-in clip packs): no test media needed. The photo is used at ``--max-side 256`` so that
every run shares one cached face (``warm_cache``) and stays quick.
"""

from __future__ import annotations

import io
import json
import os
import resource
import signal
import struct
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
PHOTO = ROOT / "assets" / "sample_portrait.jpg"
SIDE = "256"  # --max-side of every run: one small cached face for all of them
BLINK = ROOT / "assets" / "clips" / "blink.npz"      # 31 frames
IDLE = ROOT / "assets" / "clips" / "idle.npz"        # 361 frames: long enough to interrupt
TIMEOUT_S = 180


# --- running the real commands ------------------------------------------------------------------

def command_env(cache: Path, **extra: str) -> dict:
    env = dict(os.environ, REACTIVE_CACHE=str(cache))
    env.pop("REACTIVE_WINDOW_TEST", None)
    env.update(extra)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in [env.get("PYTHONPATH")] if p])
    return env


def reactive_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "reactive", *args]


def demo_cmd(*args: str) -> list[str]:
    return [sys.executable, str(ROOT / "demo.py"), *args]


def run(cmd: list[str], *, cache: Path, cwd: Path, fsize: int | None = None,
        env_extra: dict | None = None) -> subprocess.CompletedProcess:
    """Run a command to its end; ``fsize``: a file size limit (bytes) in the child, as a full
    disk (``ulimit -f``)."""
    def limit():
        if fsize is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))

    return subprocess.run(cmd, cwd=cwd, env=command_env(cache, **(env_extra or {})),
                          capture_output=True, text=True, timeout=TIMEOUT_S,
                          preexec_fn=limit if fsize is not None else None)


class Started:
    """A command running in the background, its output collected as it comes."""

    def __init__(self, cmd: list[str], *, cache: Path, cwd: Path) -> None:
        import threading

        self.proc = subprocess.Popen(cmd, cwd=cwd, env=command_env(cache),
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.out: list[str] = []
        self.err: list[str] = []
        self._threads = [threading.Thread(target=self._collect, args=(stream, lines),
                                          daemon=True)
                         for stream, lines in ((self.proc.stdout, self.out),
                                               (self.proc.stderr, self.err))]
        for t in self._threads:
            t.start()

    @staticmethod
    def _collect(stream, lines: list[str]) -> None:
        for line in stream:
            lines.append(line)

    def terminate_when(self, ready, timeout: float = TIMEOUT_S) -> subprocess.CompletedProcess:
        """SIGTERM as soon as ``ready()`` is true; the finished run."""
        deadline = time.monotonic() + timeout
        while not ready():
            if self.proc.poll() is not None:
                self.finish()
                raise AssertionError(f"ended ({self.proc.returncode}) before it could be "
                                     f"interrupted:\n{''.join(self.err)[-3000:]}")
            if time.monotonic() > deadline:
                self.proc.kill()
                self.finish()
                raise AssertionError("never got to the point of interruption:\n"
                                     + "".join(self.err)[-3000:])
            time.sleep(0.01)
        self.proc.send_signal(signal.SIGTERM)
        return self.finish()

    def finish(self, timeout: float = 60) -> subprocess.CompletedProcess:
        self.proc.wait(timeout=timeout)
        for t in self._threads:
            t.join(timeout=10)
        return subprocess.CompletedProcess(self.proc.args, self.proc.returncode,
                                           "".join(self.out), "".join(self.err))


def terminated_cleanly(proc: subprocess.CompletedProcess) -> None:
    """Exit 143, one line saying so, no traceback, no result announced."""
    report = f"rc={proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert proc.returncode == 143, report
    assert "Traceback" not in proc.stderr, report
    assert [l for l in proc.stderr.splitlines() if l.startswith("terminated")] == \
        ["terminated (SIGTERM)"], report
    assert "wrote" not in proc.stdout, report


def one_error_line(proc: subprocess.CompletedProcess, *names: str, code: int = 2) -> str:
    """Exit ``code``, exactly one ``error:`` line naming every string in ``names``, no
    traceback."""
    report = f"rc={proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert proc.returncode == code, report
    assert "Traceback" not in proc.stderr + proc.stdout, report
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, report
    for name in names:
        assert name in errors[0], f"{name!r} not named in {errors[0]!r}"
    return errors[0]


def listing(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")} if folder.is_dir() else set()


# --- broken clip packs ----------------------------------------------------------------------------

def pack_bytes(path: Path = BLINK) -> bytes:
    return path.read_bytes()


def _entries(data: bytes):
    zf = zipfile.ZipFile(io.BytesIO(data))
    return zf, zf.infolist()


def _central_offsets(data: bytes) -> list[int]:
    zf, infos = _entries(data)
    pos, out = zf.start_dir, []
    for _ in infos:
        assert data[pos:pos + 4] == b"PK\x01\x02"
        out.append(pos)
        n, e, c = struct.unpack("<HHH", data[pos + 28:pos + 34])
        pos += 46 + n + e + c
    return out


def with_method(data: bytes, method: int) -> bytes:
    """Every entry claims compression ``method`` (99: AES, unknown to zipfile)."""
    out = bytearray(data)
    _, infos = _entries(data)
    for info in infos:
        struct.pack_into("<H", out, info.header_offset + 8, method)
    for pos in _central_offsets(data):
        struct.pack_into("<H", out, pos + 10, method)
    return bytes(out)


def with_encrypted_flag(data: bytes) -> bytes:
    out = bytearray(data)
    _, infos = _entries(data)
    for info in infos:
        flags = struct.unpack_from("<H", out, info.header_offset + 6)[0]
        struct.pack_into("<H", out, info.header_offset + 6, flags | 1)
    for pos in _central_offsets(data):
        flags = struct.unpack_from("<H", out, pos + 8)[0]
        struct.pack_into("<H", out, pos + 8, flags | 1)
    return bytes(out)


def members(data: bytes) -> dict[str, bytes]:
    zf, infos = _entries(data)
    return {i.filename: zf.read(i) for i in infos}


def rezip(entries: dict[str, bytes], extra: dict[str, int] | None = None) -> bytes:
    """A deflated zip of ``entries``; ``extra``: name -> size of an additional member of
    zeros (streamed, zip64: a compression bomb of that size)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, raw in entries.items():
            zf.writestr(name, raw)
        for name, size in (extra or {}).items():
            with zf.open(name, "w", force_zip64=True) as fh:
                block = bytes(1 << 24)
                for _ in range(size // len(block)):
                    fh.write(block)
    return buf.getvalue()


def npy_header(dtype: str, shape: tuple) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf, {"descr": dtype, "fortran_order": False, "shape": tuple(shape)})
    return b"\x93NUMPY\x01\x00" + buf.getvalue()[8:]


def with_declared_shape(data: bytes, member: str, dtype: str, shape: tuple) -> bytes:
    """``member``'s .npy header declares ``shape`` (its data stays as it was)."""
    entries = members(data)
    raw = entries[f"{member}.npy"]
    header_len = len(raw) - np.load(io.BytesIO(raw)).nbytes
    entries[f"{member}.npy"] = npy_header(dtype, shape) + raw[header_len:]
    return rezip(entries)


def with_array(data: bytes, member: str, array: np.ndarray, allow_pickle=False) -> bytes:
    entries = members(data)
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=allow_pickle)
    entries[f"{member}.npy"] = buf.getvalue()
    return rezip(entries)


def arrays_of(path: Path = BLINK) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def header_of(path: Path = BLINK) -> dict:
    return json.loads(arrays_of(path)["header"].tobytes().decode())


# --- a driving video made here ------------------------------------------------------------------

def write_driving_video(path: Path, frames: int = 12, side: int = 256, fps: float = 10.0) -> Path:
    """A short clip of the sample portrait gently moving: a face to track, no media needed."""
    import cv2

    from reactive.io.photo import load_photo
    from reactive.io.video import VideoWriter

    photo = load_photo(PHOTO, max_side=side)
    h, w = photo.shape[:2]
    with VideoWriter(path, fps=fps) as writer:
        for i in range(frames):
            m = cv2.getRotationMatrix2D((w / 2, h / 2), 2.0 * np.sin(i / 3), 1.0 + 0.01 * i)
            writer.write(cv2.warpAffine(photo, m, (w, h), borderMode=cv2.BORDER_REFLECT))
    return path


def corrupt(path: Path, how: str) -> None:
    """Damage a file the ways a disk or an interrupted copy does."""
    data = bytearray(path.read_bytes())
    if how == "half":
        data = data[: len(data) // 2]
    elif how == "ten":
        data = data[:10]
    elif how == "empty":
        data = bytearray()
    elif how == "flipped":
        start = len(data) // 3
        for i in range(start, min(start + 64, len(data))):
            data[i] ^= 0xFF
    else:
        raise ValueError(how)
    path.write_bytes(bytes(data))
