"""Issue 13, cases 1-4: clip packs that are broken or hostile. Each is refused with one line
naming the file (exit 2) before anything large is inflated or allocated; nothing is left."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from reactive.errors import InputError
from reactive.io.clippack import MAX_PACK_BYTES, _write_npz, load_pack
from tests.faults.faultkit import (
    BLINK,
    PHOTO,
    SIDE,
    arrays_of,
    demo_cmd,
    listing,
    members,
    one_error_line,
    pack_bytes,
    reactive_cmd,
    rezip,
    run,
    with_array,
    with_declared_shape,
    with_encrypted_flag,
    with_method,
)


def _load_error(path) -> str:
    with pytest.raises(InputError) as info:
        load_pack(path)
    message = str(info.value)
    assert str(path) in message and "\n" not in message
    return message


def _with_values(tmp_path, name="bad.npz", **changes) -> "Path":
    """The blink pack with some arrays replaced, written as the writer would (no checks)."""
    arrays = arrays_of(BLINK)
    arrays.update(changes)
    path = tmp_path / name
    with open(path, "wb") as fh:
        _write_npz(fh, arrays)
    return path


# --- case 1: compression method, encryption ----------------------------------------------------

@pytest.mark.parametrize("make, words", [
    (lambda d: with_method(d, 99), "unsupported compression method"),
    (lambda d: with_method(d, 12), "unsupported compression method"),  # bzip2: not ours
    (with_encrypted_flag, "encrypted"),
])
def test_zip_methods_and_encryption_are_refused(tmp_path, make, words):
    path = tmp_path / "clip.npz"
    path.write_bytes(make(pack_bytes()))
    assert words in _load_error(path)


# --- case 2: a header declaring a huge shape ------------------------------------------------------

@pytest.mark.parametrize("member, dtype, shape", [
    ("landmarks", "<f4", (10**9, 478, 2)),        # 3.5 TiB
    ("ratio", "|u1", (31, 1 << 20, 1 << 20)),     # within no bound
    ("peripheral", "<f4", (31, 10**7, 2)),
    ("header", "|u1", (10**12,)),
])
def test_huge_declared_shapes_are_refused_before_allocating(tmp_path, member, dtype, shape):
    path = tmp_path / "clip.npz"
    path.write_bytes(with_declared_shape(pack_bytes(), member, dtype, shape))
    tracemalloc.start()
    try:
        message = _load_error(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert member in message
    assert peak < 20 << 20, f"{peak / 2**20:.0f} MB allocated"


def test_declared_shape_that_does_not_match_the_data_is_refused(tmp_path):
    path = tmp_path / "clip.npz"
    path.write_bytes(with_declared_shape(pack_bytes(), "landmarks", "<f4", (30, 478, 2)))
    assert "landmarks" in _load_error(path)


@pytest.mark.parametrize("member, array", [
    ("landmarks", np.zeros((31, 478, 2), ">f4")),                  # big-endian
    ("face_detected", np.array([None] * 31, dtype=object)),        # pickled objects
    ("head", np.zeros((31, 2, 3), np.float64)),
])
def test_wrong_dtypes_and_pickles_are_refused(tmp_path, member, array):
    path = tmp_path / "clip.npz"
    path.write_bytes(with_array(pack_bytes(), member, array, allow_pickle=True))
    assert member in _load_error(path)


# --- case 3: unknown members are never inflated; the total is bounded -----------------------------

def test_an_unknown_member_is_not_inflated(tmp_path):
    path = tmp_path / "clip.npz"
    path.write_bytes(rezip(members(pack_bytes()), extra={"junk.npy": 256 << 20}))
    assert path.stat().st_size < 2 << 20
    tracemalloc.start()
    try:
        pack = load_pack(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert pack.frame_count == 31
    assert peak < 20 << 20, f"{peak / 2**20:.0f} MB allocated for a 2 MB pack"


def test_members_beyond_the_total_budget_are_refused_before_inflating(tmp_path, monkeypatch):
    import reactive.io.clippack as clippack

    monkeypatch.setattr(clippack, "MAX_PACK_BYTES", 100_000)  # blink holds ~1.2 MB
    assert "MB" in _load_error(BLINK)
    assert MAX_PACK_BYTES == 1 << 30


@pytest.mark.parametrize("how", ["half", "ten", "empty", "flipped"])
def test_damaged_packs_are_one_line(tmp_path, how):
    from tests.faults.faultkit import corrupt

    path = tmp_path / "clip.npz"
    path.write_bytes(pack_bytes())
    corrupt(path, how)
    _load_error(path)


# --- case 4: finite but absurd values -------------------------------------------------------------

def _absurd(field: str, value: float):
    arrays = arrays_of(BLINK)
    a = arrays[field].copy()
    a[3].flat[10] = value
    return a


@pytest.mark.parametrize("field, value", [
    ("landmarks", 1e30), ("landmarks", -5e4), ("peripheral", 1e9), ("head", 1e6),
    ("mouth_affine", 1e12), ("ratio_box", 1e30),
])
def test_absurd_values_are_refused(tmp_path, field, value):
    arrays = arrays_of(BLINK)
    a = arrays[field].copy()
    if a.ndim == 1:
        a[1] = value
    else:
        a[3].flat[1] = value
    path = _with_values(tmp_path, **{field: a})
    assert field in _load_error(path)


def test_a_collapsed_face_is_refused(tmp_path):
    arrays = arrays_of(BLINK)
    lm = arrays["landmarks"].copy()
    lm[5] = lm[5].mean(axis=0)  # every point of frame 5 in one place
    path = _with_values(tmp_path, landmarks=lm)
    assert "frame 5" in _load_error(path)


def test_the_built_in_packs_are_plausible():
    from tests.faults.faultkit import ROOT

    for path in sorted((ROOT / "assets" / "clips").glob("*.npz")):
        load_pack(path)


# --- the same through the real commands -----------------------------------------------------------

def test_render_and_demo_refuse_a_hostile_pack_in_one_line(tmp_path, warm_cache):
    bad = tmp_path / "clips" / "happy.npz"
    bad.parent.mkdir()
    bad.write_bytes(with_encrypted_flag(pack_bytes()))
    before = listing(tmp_path)
    out = tmp_path / "out" / "r.mp4"
    one_error_line(run(reactive_cmd("render", str(PHOTO), "--clip", str(bad), "-o", str(out),
                                    "--max-side", SIDE), cache=warm_cache, cwd=tmp_path),
                   "happy.npz", "encrypted")
    one_error_line(run(demo_cmd(str(PHOTO), "--clips", str(bad.parent), "--headless",
                                "--duration", "1", "--max-side", SIDE, "--record", str(out)),
                       cache=warm_cache, cwd=tmp_path), "happy.npz", "encrypted")
    assert listing(tmp_path) == before  # no output, no temp file, no output folder


@pytest.mark.slow
@pytest.mark.parametrize("make", ["method", "huge", "absurd"])
def test_render_refuses_each_kind_of_bad_pack(tmp_path, warm_cache, make):
    bad = tmp_path / "bad.npz"
    if make == "method":
        bad.write_bytes(with_method(pack_bytes(), 99))
    elif make == "huge":
        bad.write_bytes(with_declared_shape(pack_bytes(), "landmarks", "<f4", (10**9, 478, 2)))
    else:
        _with_values(tmp_path, "bad.npz", landmarks=_absurd("landmarks", 1e30))
    before = listing(tmp_path)
    one_error_line(run(reactive_cmd("render", str(PHOTO), "--clip", str(bad), "-o",
                                    str(tmp_path / "o.mp4"), "--max-side", SIDE),
                       cache=warm_cache, cwd=tmp_path), "bad.npz")
    assert listing(tmp_path) == before
