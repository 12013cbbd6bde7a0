"""Tests for reactive.clippack on small synthetic packs: round trip, atomic save, bad files."""

from __future__ import annotations

import dataclasses
import json
import os

import numpy as np
import pytest

from reactive.core.clip import ClipPack
from reactive.core.landmarks import N_LANDMARKS
from reactive.errors import InputError
from reactive.io import clippack
from reactive.io.clippack import FORMAT_NAME, FORMAT_VERSION, load_pack, save_pack

F, P = 5, 3


def _pack(seed: int = 0, **changes) -> ClipPack:
    """A valid ClipPack of F frames and P peripheral points filled with random finite values."""
    rng = np.random.default_rng(seed)
    face_detected = np.ones(F, bool)
    face_detected[2] = False
    peripheral_valid = rng.random((F, P)) > 0.3
    pack = ClipPack(
        fps=25.0, source_size=(512, 480), neutral_index=1,
        landmarks=rng.uniform(0, 512, (F, N_LANDMARKS, 2)).astype(np.float32),
        face_detected=face_detected,
        peripheral=rng.uniform(0, 512, (F, P, 2)).astype(np.float32),
        peripheral_valid=peripheral_valid,
        head=rng.normal(size=(F, 2, 3)).astype(np.float32),
        tag="happy", source="d0.mp4", extra={"note": "synthetic", "seed": seed})
    return dataclasses.replace(pack, **changes)


def _header(pack: ClipPack, **changes) -> dict:
    header = {
        "format": FORMAT_NAME, "version": FORMAT_VERSION, "fps": pack.fps,
        "frame_count": pack.frame_count, "source_size": list(pack.source_size),
        "neutral_index": pack.neutral_index, "tag": pack.tag, "source": pack.source,
        "interpolated_frames": pack.interpolated_frames,
    }
    header.update(changes)
    return header


def _arrays(pack: ClipPack) -> dict[str, np.ndarray]:
    return {"landmarks": pack.landmarks, "face_detected": pack.face_detected,
            "peripheral": pack.peripheral, "peripheral_valid": pack.peripheral_valid,
            "head": pack.head}


def _write_npz(path, header: dict | None, arrays: dict[str, np.ndarray]) -> None:
    """Write an npz by hand (bypassing save_pack's validation) to make broken packs."""
    out = dict(arrays)
    if header is not None:
        out["header"] = np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8)
    with open(path, "wb") as fh:
        np.savez_compressed(fh, **out)


def _load_error(path) -> str:
    """load_pack(path) must raise InputError with one line naming the file; return the message."""
    with pytest.raises(InputError) as info:
        load_pack(path)
    message = str(info.value)
    assert str(path) in message
    assert "\n" not in message
    return message


# --- round trip -----------------------------------------------------------------------------

def test_save_load_round_trip(tmp_path):
    pack = _pack()
    path = tmp_path / "clip.npz"
    assert save_pack(pack, path) == path
    loaded = load_pack(path)
    for name in ("landmarks", "face_detected", "peripheral", "peripheral_valid", "head"):
        got, want = getattr(loaded, name), getattr(pack, name)
        assert got.dtype == want.dtype, name
        np.testing.assert_array_equal(got, want, err_msg=name)
    assert loaded.fps == pack.fps
    assert loaded.source_size == (512, 480)
    assert loaded.neutral_index == pack.neutral_index
    assert loaded.tag == "happy"
    assert loaded.source == "d0.mp4"
    assert loaded.extra == {"note": "synthetic", "seed": 0}
    assert loaded.frame_count == F
    assert loaded.interpolated_frames == 1


def test_header_on_disk_is_plain_json(tmp_path):
    path = save_pack(_pack(), tmp_path / "clip.npz")
    with np.load(path, allow_pickle=False) as z:
        assert sorted(z.files) == ["face_detected", "head", "header", "landmarks",
                                   "peripheral", "peripheral_valid"]
        header = json.loads(z["header"].tobytes().decode("utf-8"))
    assert header["format"] == FORMAT_NAME
    assert header["version"] == FORMAT_VERSION
    assert header["frame_count"] == F
    assert header["interpolated_frames"] == 1
    assert header["note"] == "synthetic"


def test_round_trip_without_peripheral_points(tmp_path):
    pack = _pack(peripheral=np.zeros((F, 0, 2), np.float32),
                 peripheral_valid=np.zeros((F, 0), bool))
    loaded = load_pack(save_pack(pack, tmp_path / "clip.npz"))
    assert loaded.peripheral.shape == (F, 0, 2)
    assert loaded.peripheral_valid.shape == (F, 0)


# --- atomic save ----------------------------------------------------------------------------

def _failing_savez(fh, **arrays):
    fh.write(b"PK\x03\x04 partial archive")  # some bytes reach the temp file, then it fails
    raise OSError("disk full (simulated)")


def test_save_failure_leaves_no_file(tmp_path, monkeypatch):
    monkeypatch.setattr(clippack.np, "savez_compressed", _failing_savez)
    with pytest.raises(OSError, match="simulated"):
        save_pack(_pack(), tmp_path / "clip.npz")
    assert os.listdir(tmp_path) == []


def test_save_failure_keeps_existing_target(tmp_path, monkeypatch):
    path = tmp_path / "clip.npz"
    save_pack(_pack(seed=1), path)
    before = path.read_bytes()
    monkeypatch.setattr(clippack.np, "savez_compressed", _failing_savez)
    with pytest.raises(OSError, match="simulated"):
        save_pack(_pack(seed=2), path)
    assert os.listdir(tmp_path) == ["clip.npz"]
    assert path.read_bytes() == before


def test_save_invalid_pack_writes_nothing(tmp_path):
    bad = _pack(neutral_index=F)
    with pytest.raises(ValueError, match="`neutral_index`"):
        save_pack(bad, tmp_path / "clip.npz")
    assert os.listdir(tmp_path) == []


def test_save_into_missing_folder(tmp_path):
    path = tmp_path / "nope" / "clip.npz"
    with pytest.raises(InputError, match="does not exist"):
        save_pack(_pack(), path)
    assert not (tmp_path / "nope").exists()


# --- load errors ----------------------------------------------------------------------------

def test_load_missing_file(tmp_path):
    assert "not found" in _load_error(tmp_path / "missing.npz")


def test_load_directory(tmp_path):
    folder = tmp_path / "pack.npz"
    folder.mkdir()
    _load_error(folder)


def test_load_text_file(tmp_path):
    path = tmp_path / "clip.npz"
    path.write_text("this is not a clip pack\n")
    _load_error(path)


def test_load_empty_file(tmp_path):
    path = tmp_path / "clip.npz"
    path.write_bytes(b"")
    _load_error(path)


def test_load_truncated_pack(tmp_path):
    path = tmp_path / "clip.npz"
    save_pack(_pack(), path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    _load_error(path)


def test_load_wrong_format_name(tmp_path):
    pack = _pack()
    path = tmp_path / "clip.npz"
    _write_npz(path, _header(pack, format="someone-else/array-bundle"), _arrays(pack))
    assert "someone-else/array-bundle" in _load_error(path)


def test_load_no_header(tmp_path):
    pack = _pack()
    path = tmp_path / "clip.npz"
    _write_npz(path, None, _arrays(pack))
    assert "header" in _load_error(path)


def test_load_corrupt_header(tmp_path):
    path = tmp_path / "clip.npz"
    arrays = _arrays(_pack())
    arrays["header"] = np.frombuffer(b"{not json", dtype=np.uint8)
    _write_npz(path, None, arrays)
    _load_error(path)


def test_load_header_not_an_object(tmp_path):
    path = tmp_path / "clip.npz"
    arrays = _arrays(_pack())
    arrays["header"] = np.frombuffer(b"[1, 2, 3]", dtype=np.uint8)
    _write_npz(path, None, arrays)
    _load_error(path)


def test_load_wrong_version(tmp_path):
    pack = _pack()
    path = tmp_path / "clip.npz"
    _write_npz(path, _header(pack, version=99), _arrays(pack))
    assert "99" in _load_error(path)


@pytest.mark.parametrize("name", ["landmarks", "face_detected", "peripheral",
                                  "peripheral_valid", "head"])
def test_load_missing_array(tmp_path, name):
    pack = _pack()
    arrays = _arrays(pack)
    del arrays[name]
    path = tmp_path / "clip.npz"
    _write_npz(path, _header(pack), arrays)
    assert name in _load_error(path)


@pytest.mark.parametrize("key", ["fps", "source_size", "neutral_index", "frame_count"])
def test_load_missing_header_field(tmp_path, key):
    pack = _pack()
    header = _header(pack)
    del header[key]
    path = tmp_path / "clip.npz"
    _write_npz(path, header, _arrays(pack))
    assert key in _load_error(path)


@pytest.mark.parametrize("name, bad", [
    ("face_detected", np.ones(F - 1, bool)),
    ("head", np.zeros((F, 3, 3), np.float32)),
    ("peripheral_valid", np.ones((F, P + 1), bool)),
    ("landmarks", np.zeros((F, 468, 2), np.float32)),
])
def test_load_mismatched_shapes(tmp_path, name, bad):
    pack = _pack()
    arrays = _arrays(pack)
    arrays[name] = bad
    path = tmp_path / "clip.npz"
    _write_npz(path, _header(pack), arrays)
    assert f"`{name}`" in _load_error(path)


def test_load_frame_count_disagrees_with_header(tmp_path):
    pack = _pack()
    path = tmp_path / "clip.npz"
    _write_npz(path, _header(pack, frame_count=F + 1), _arrays(pack))
    _load_error(path)


def test_load_nan_in_landmarks(tmp_path):
    pack = _pack()
    arrays = _arrays(pack)
    arrays["landmarks"] = arrays["landmarks"].copy()
    arrays["landmarks"][3, 10, 1] = np.nan
    path = tmp_path / "clip.npz"
    _write_npz(path, _header(pack), arrays)
    assert "`landmarks`" in _load_error(path)


@pytest.mark.parametrize("neutral", [F, -1, 10_000])
def test_load_neutral_index_out_of_range(tmp_path, neutral):
    pack = _pack()
    path = tmp_path / "clip.npz"
    _write_npz(path, _header(pack, neutral_index=neutral), _arrays(pack))
    assert "`neutral_index`" in _load_error(path)


def test_load_refuses_pickled_object_array(tmp_path):
    pack = _pack()
    arrays = _arrays(pack)
    arrays["landmarks"] = np.array([{"payload": "pickled"}] * F, dtype=object)
    path = tmp_path / "clip.npz"
    # np.savez pickles object arrays; loading them needs allow_pickle=True, which load_pack
    # must never use.
    with open(path, "wb") as fh:
        np.savez(fh, header=np.frombuffer(json.dumps(_header(pack)).encode(), np.uint8),
                 **arrays)
    _load_error(path)


# --- validate -------------------------------------------------------------------------------

def test_validate_accepts_valid_pack():
    _pack().validate()


@pytest.mark.parametrize("changes, field", [
    ({"landmarks": np.zeros((F, 478, 3), np.float32)}, "landmarks"),
    ({"landmarks": np.zeros((F, 478, 2), np.float64)}, "landmarks"),
    ({"landmarks": np.zeros((478, 2), np.float32)}, "landmarks"),
    ({"face_detected": np.ones(F, np.uint8)}, "face_detected"),
    ({"face_detected": np.ones(F + 1, bool)}, "face_detected"),
    ({"head": np.zeros((F, 2, 2), np.float32)}, "head"),
    ({"peripheral": np.zeros((F, P), np.float32)}, "peripheral"),
    ({"peripheral": np.zeros((F - 1, P, 2), np.float32)}, "peripheral"),
    ({"peripheral_valid": np.ones((F, P - 1), bool)}, "peripheral_valid"),
    ({"neutral_index": F}, "neutral_index"),
    ({"neutral_index": -1}, "neutral_index"),
    ({"fps": 0.0}, "fps"),
    ({"fps": float("nan")}, "fps"),
    ({"source_size": (0, 480)}, "source_size"),
])
def test_validate_names_the_field(changes, field):
    with pytest.raises(ValueError, match=f"`{field}`"):
        _pack(**changes).validate()


@pytest.mark.parametrize("name", ["landmarks", "peripheral", "head"])
@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_validate_rejects_non_finite(name, value):
    pack = _pack()
    arr = getattr(pack, name).copy()
    arr.flat[7] = value
    with pytest.raises(ValueError, match=f"`{name}` has non-finite"):
        dataclasses.replace(pack, **{name: arr}).validate()


def test_validate_rejects_zero_frames():
    pack = _pack(landmarks=np.zeros((0, N_LANDMARKS, 2), np.float32),
                 face_detected=np.zeros(0, bool), peripheral=np.zeros((0, P, 2), np.float32),
                 peripheral_valid=np.zeros((0, P), bool), head=np.zeros((0, 2, 3), np.float32),
                 neutral_index=0)
    with pytest.raises(ValueError, match="at least one frame"):
        pack.validate()


def test_version_1_packs_still_load_without_mouths(tmp_path):
    """Packs written before the hidden stage (format 1) load; they just have no mouth crops."""
    import io
    import json

    pack = _pack()
    pack.mouth = pack.mouth_affine = None
    path = tmp_path / "v1.npz"
    save_pack(pack, path)
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    header = json.loads(arrays["header"].tobytes())
    header["version"] = 1
    arrays["header"] = np.frombuffer(json.dumps(header).encode(), np.uint8)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    path.write_bytes(buf.getvalue())
    loaded = load_pack(path)
    assert loaded.mouth is None and loaded.frame_count == pack.frame_count


def test_mouth_arrays_round_trip_and_are_validated(tmp_path):
    pack = _pack()
    f = pack.frame_count
    pack.mouth = np.zeros((f, 64, 96, 3), np.uint8)
    # frame -> crop: half scale, as precompute's crops of a 512 px clip
    pack.mouth_affine = np.tile(np.array([[0.5, 0, 0], [0, 0.5, 0]], np.float32), (f, 1, 1))
    save_pack(pack, tmp_path / "m.npz")
    loaded = load_pack(tmp_path / "m.npz")
    np.testing.assert_array_equal(loaded.mouth, pack.mouth)
    pack.mouth_affine = None
    with pytest.raises(ValueError, match="`mouth` and `mouth_affine` come together"):
        pack.validate()
