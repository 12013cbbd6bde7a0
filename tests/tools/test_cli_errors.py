"""End-to-end bad-input tests: the real CLI in a subprocess must fail with one ``error:`` line.

Each failing run must exit non-zero, print exactly one stderr line starting with ``error: ``
that names the offending file or argument, print no traceback, and leave nothing behind in the
output folder (no output, no temp files). Cases that need a real photo or driving clip read
``../shared/data`` beside the project and skip when it is absent.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from reactive.io.assets import BUILTIN_CLIPS_DIR
from tests.helpers import SHARED_DATA as DATA
from tests.helpers import assert_one_line_error, listing, precompute, reactive

D0 = DATA / "driving" / "d0.mp4"
S42 = DATA / "portraits" / "s42.jpg"  # frontal face, 512x512
S33 = DATA / "portraits" / "s33.jpg"  # a dog: no face

needs_data = pytest.mark.skipif(
    not (D0.is_file() and S42.is_file() and S33.is_file()),
    reason=f"test media not found in {DATA} (tests read ../shared/data beside the project)")


def assert_nothing_written(folder: Path, before: set[str], output: Path) -> None:
    assert not output.exists()
    assert listing(folder) == before, f"left behind: {listing(folder) - before}"


def _synthetic_pack(path: Path) -> Path:
    """A valid (meaningless) clip pack, for cases that must fail before the pack matters."""
    from reactive.core.clip import ClipPack
    from reactive.core.landmarks import N_LANDMARKS
    from reactive.io.clippack import save_pack

    rng = np.random.default_rng(0)
    f, p = 5, 3
    return save_pack(ClipPack(
        fps=25.0, source_size=(512, 512), neutral_index=0,
        landmarks=rng.uniform(0, 512, (f, N_LANDMARKS, 2)).astype(np.float32),
        face_detected=np.ones(f, bool),
        peripheral=rng.uniform(0, 512, (f, p, 2)).astype(np.float32),
        peripheral_valid=np.ones((f, p), bool),
        head=np.tile(np.eye(2, 3, dtype=np.float32), (f, 1, 1))), path)


@pytest.fixture(scope="module")
def d0_pack(tmp_path_factory) -> Path:
    """d0.mp4 precomputed once per module with the real CLI."""
    if not D0.is_file():
        pytest.skip(f"test media {D0} not found (tests read ../shared/data beside the project)")
    folder = tmp_path_factory.mktemp("d0pack")
    proc = precompute(str(D0), "-o", "pack.npz", cwd=folder)
    assert proc.returncode == 0, proc.stderr
    return folder / "pack.npz"


# --- bad inputs to `render` -----------------------------------------------------------------

@needs_data
def test_photo_without_face(tmp_path, d0_pack):
    before = listing(tmp_path)
    proc = reactive("render", str(S33), "--clip", str(d0_pack), "-o", "out.mp4", cwd=tmp_path)
    assert_one_line_error(proc, str(S33))
    assert_nothing_written(tmp_path, before, tmp_path / "out.mp4")


def test_missing_photo(tmp_path):
    pack = _synthetic_pack(tmp_path / "pack.npz")
    before = listing(tmp_path)
    proc = reactive("render", "missing.jpg", "--clip", str(pack), "-o", "out.mp4", cwd=tmp_path)
    assert_one_line_error(proc, "missing.jpg")
    assert_nothing_written(tmp_path, before, tmp_path / "out.mp4")


@needs_data
def test_truncated_driving_video(tmp_path):
    (tmp_path / "trunc.mp4").write_bytes(D0.read_bytes()[:300_000])
    before = listing(tmp_path)
    proc = reactive("render", str(S42), "--driving", "trunc.mp4", "-o", "out.mp4", cwd=tmp_path)
    assert_one_line_error(proc, "trunc.mp4")
    assert_nothing_written(tmp_path, before, tmp_path / "out.mp4")


@needs_data
def test_text_file_as_driving_video(tmp_path):
    (tmp_path / "clip.mp4").write_text("not a video\n")
    before = listing(tmp_path)
    proc = reactive("render", str(S42), "--driving", "clip.mp4", "-o", "out.mp4", cwd=tmp_path)
    assert_one_line_error(proc, "clip.mp4")
    assert_nothing_written(tmp_path, before, tmp_path / "out.mp4")


@needs_data
def test_text_file_as_clip_pack(tmp_path):
    (tmp_path / "clip.npz").write_text("not a clip pack\n")
    before = listing(tmp_path)
    proc = reactive("render", str(S42), "--clip", "clip.npz", "-o", "out.mp4", cwd=tmp_path)
    assert_one_line_error(proc, "clip.npz")
    assert_nothing_written(tmp_path, before, tmp_path / "out.mp4")


def test_render_into_missing_folder(tmp_path):
    """A missing output folder is created, and removed again when the command fails."""
    pack = _synthetic_pack(tmp_path / "pack.npz")
    before = listing(tmp_path)
    proc = reactive("render", "photo.jpg", "--clip", str(pack), "-o", "nodir/out.mp4",
                    cwd=tmp_path)
    assert_one_line_error(proc, "photo.jpg")
    assert_nothing_written(tmp_path, before, tmp_path / "nodir" / "out.mp4")
    assert not (tmp_path / "nodir").exists()


@needs_data
def test_neutral_out_of_range_with_clip(tmp_path, d0_pack):
    before = listing(tmp_path)
    proc = reactive("render", str(S42), "--clip", str(d0_pack), "--neutral", "99999",
                    "-o", "out.mp4", cwd=tmp_path)
    assert_one_line_error(proc, "--neutral", "99999")
    assert_nothing_written(tmp_path, before, tmp_path / "out.mp4")


@pytest.mark.parametrize("mouths, needle", [
    ("none.npz", "not found"),           # missing
    ("notes.txt", "clip pack (.npz) or a driving video"),   # another kind of file
    ("text.npz", "text.npz"),            # not a pack
    ("builtin", "built-in"),             # a drawn clip has no real mouths
])
def test_bad_mouths_path(tmp_path, mouths, needle):
    (tmp_path / "notes.txt").write_text("hello\n")
    (tmp_path / "text.npz").write_text("not a clip pack\n")
    if mouths == "builtin":
        mouths = str(BUILTIN_CLIPS_DIR / "laugh.npz")
    pack = str(BUILTIN_CLIPS_DIR / "smile.npz")
    before = listing(tmp_path)
    proc = reactive("render", "photo.jpg", "--clip", pack, "--mouths", mouths, "-o",
                    "out.mp4", cwd=tmp_path)
    assert_one_line_error(proc, needle)
    assert_nothing_written(tmp_path, before, tmp_path / "out.mp4")


# --- bad inputs to `python -m precompute` ---------------------------------------------------

def test_precompute_text_file_as_video(tmp_path):
    (tmp_path / "clip.mp4").write_text("not a video\n")
    before = listing(tmp_path)
    proc = precompute("clip.mp4", "-o", "pack.npz", cwd=tmp_path)
    assert_one_line_error(proc, "clip.mp4")
    assert_nothing_written(tmp_path, before, tmp_path / "pack.npz")


def test_precompute_missing_video(tmp_path):
    before = listing(tmp_path)
    proc = precompute("missing.mp4", "-o", "pack.npz", cwd=tmp_path)
    assert_one_line_error(proc, "missing.mp4")
    assert_nothing_written(tmp_path, before, tmp_path / "pack.npz")


def test_precompute_into_missing_folder(tmp_path):
    """A missing output folder is created, and removed again when the command fails."""
    (tmp_path / "clip.mp4").write_text("not a video\n")
    before = listing(tmp_path)
    proc = precompute("clip.mp4", "-o", "nodir/pack.npz", cwd=tmp_path)
    assert_one_line_error(proc, "clip.mp4")
    assert_nothing_written(tmp_path, before, tmp_path / "nodir" / "pack.npz")
    assert not (tmp_path / "nodir").exists()


# --- the happy path -------------------------------------------------------------------------

@needs_data
@pytest.mark.slow
def test_precompute_writes_tagged_pack(tmp_path):
    from reactive.io.clippack import load_pack

    proc = precompute(str(D0), "-o", "pack.npz", "--tag", "happy", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    out_lines = [line for line in proc.stdout.splitlines() if line.strip()]
    assert len(out_lines) == 1 and out_lines[0].startswith("wrote "), proc.stdout
    assert listing(tmp_path) == {"pack.npz"}
    pack = load_pack(tmp_path / "pack.npz")
    assert pack.tag == "happy"
    assert pack.frame_count == 78
    assert pack.fps == pytest.approx(25.0)
    assert pack.source_size == (512, 512)


@needs_data
@pytest.mark.slow
def test_render_from_clip_pack(tmp_path, d0_pack):
    av = pytest.importorskip("av")
    proc = reactive("render", str(S42), "--clip", str(d0_pack), "-o", "out.mp4", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    out_lines = [line for line in proc.stdout.splitlines() if line.strip()]
    assert len(out_lines) == 1 and out_lines[0].startswith("wrote out.mp4"), proc.stdout
    assert listing(tmp_path) == {"out.mp4"}
    with av.open(str(tmp_path / "out.mp4")) as container:
        stream = container.streams.video[0]
        size = (stream.codec_context.width, stream.codec_context.height)
        n = sum(1 for _ in container.decode(stream))
    assert size == (512, 512)
    assert n == 78


def test_unknown_stage_is_a_clear_error(tmp_path):
    pack = _synthetic_pack(tmp_path / "p.npz")
    before = listing(tmp_path)
    proc = reactive("render", str(S42), "--clip", str(pack), "-o", "out.mp4",
                    "--stages", "coarse,sparkle", cwd=tmp_path)
    assert_one_line_error(proc, "--stages", "sparkle")
    assert_nothing_written(tmp_path, before, tmp_path / "out.mp4")
