"""Issue 13, case 5 (and 4's cached half): a corrupt or implausible cache entry is deleted and
recomputed with one warning; the next start is clean. The cache is a cache: never trusted."""

from __future__ import annotations

import logging
import shutil

import numpy as np
import pytest

from reactive.io import cache
from reactive.io.clippack import load_pack
from tests.faults.faultkit import BLINK, PHOTO, SIDE, corrupt, demo_cmd, run

HOW = ["half", "ten", "empty", "flipped"]


def _face(n=478):
    rng = np.random.default_rng(0)
    return rng.uniform(60, 200, (n, 2)).astype(np.float32)


def _warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


@pytest.mark.parametrize("how", HOW + ["absurd", "no_faces"])
def test_a_broken_face_entry_is_deleted_and_detected_again(tmp_path, caplog, how):
    photo = np.zeros((256, 256, 3), np.uint8)
    calls = []

    def find(p):
        calls.append(1)
        return _face(), 1

    cache.cached_face(photo, tmp_path, find)
    entry = next((tmp_path / "faces").glob("*.npz"))
    if how == "absurd":
        pts = _face()
        pts[7] = 1e30
        np.savez(entry, points=pts, faces=np.array([1], np.int32))
    elif how == "no_faces":
        np.savez(entry, points=_face(), faces=np.array([0], np.int32))
    else:
        corrupt(entry, how)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        got = cache.cached_face(photo, tmp_path, find)
    assert len(calls) == 2
    np.testing.assert_array_equal(got, _face())
    warned = _warnings(caplog)
    assert len(warned) == 1 and "deleted" in warned[0] and entry.name in warned[0], warned
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        cache.cached_face(photo, tmp_path, find)  # rewritten: used, silently
    assert len(calls) == 2 and not _warnings(caplog)


@pytest.mark.parametrize("how", HOW + ["absurd", "wrong_shape"])
def test_a_broken_offsets_entry_is_deleted_and_computed_again(tmp_path, caplog, how):
    packs = [load_pack(BLINK)]
    k = 7
    tables = [np.zeros((packs[0].frame_count, k, 2), np.float32)]
    key = cache.tables_key(_face(), (256, 256, 3), packs, ())
    cache.save_tables(tmp_path, key, tables)
    entry = tmp_path / "tables" / f"{key}.npz"
    if how == "absurd":
        bad = tables[0].copy()
        bad[3, 2] = 1e30
        np.savez(entry, t0=bad)
    elif how == "wrong_shape":
        np.savez(entry, t0=np.zeros((5, k, 2), np.float32))
    else:
        corrupt(entry, how)
    with caplog.at_level(logging.WARNING):
        assert cache.load_tables(tmp_path, key, packs, k, 256) is None
    warned = _warnings(caplog)
    assert len(warned) == 1 and "deleted" in warned[0], warned
    assert not entry.exists()


@pytest.mark.parametrize("how", HOW + ["absurd"])
def test_a_broken_tracked_clip_is_deleted_and_tracked_again(tmp_path, caplog, monkeypatch, how):
    import precompute.video
    from precompute.video import video_pack
    from reactive.io.cache import file_digest

    tracked = []

    def fake_track(video, **kwargs):  # the tracking itself is tested with a real video below
        tracked.append(video)
        pack = load_pack(BLINK)
        pack.tag = kwargs.get("tag", "")
        return pack

    monkeypatch.setattr(precompute.video, "precompute_video", fake_track)
    video = tmp_path / "happy.mp4"
    video.write_bytes(b"stand-in for a video: only its hash matters here")
    video_pack(video, tmp_path, False)
    (entry,) = (tmp_path / "clips").glob("*.npz")
    assert entry.name.startswith(file_digest(video)[:24])
    if how == "absurd":
        from reactive.io.clippack import _write_npz
        from tests.faults.faultkit import arrays_of

        arrays = arrays_of(BLINK)
        arrays["landmarks"][4, 100] = 1e30
        with open(entry, "wb") as fh:
            _write_npz(fh, arrays)
    else:
        corrupt(entry, how)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        pack = video_pack(video, tmp_path, False)
    assert pack.tag == "happy" and len(tracked) == 2
    assert sum("deleted" in m for m in _warnings(caplog)) == 1
    load_pack(entry)  # the new entry is whole
    # Case 21: the same video under another name is the cached clip, named as given now.
    renamed = video.rename(tmp_path / "joy.mp4")
    assert video_pack(renamed, tmp_path, False).tag == "joy" and len(tracked) == 2


@pytest.mark.parametrize("kinds", [
    ("tables",),
    pytest.param(("faces", "tables"), marks=pytest.mark.slow),  # detects the face again
])
def test_the_demo_heals_its_cache_in_one_run(tmp_path, warm_cache, small_clips, kinds):
    """Corrupt cache entries: the demo warns once about each, recomputes them, records;
    what it wrote back loads cleanly (the next start is silent)."""
    folder = tmp_path / "cache"
    shutil.copytree(warm_cache, folder)
    entries = {kind: sorted((folder / kind).glob("*.npz")) for kind in kinds}
    for kind, paths in entries.items():
        assert paths, kind
        for entry in paths:
            corrupt(entry, "flipped" if kind == "faces" else "half")
    out = tmp_path / "o.mp4"
    done = run(demo_cmd(str(PHOTO), "--clips", str(small_clips), "--headless", "--duration",
                        "0.2", "--max-side", SIDE, "--record", str(out)), cache=folder,
               cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    healed = [line for line in done.stderr.splitlines() if "deleted" in line]
    assert len(healed) == sum(map(len, entries.values())), done.stderr
    assert out.is_file()
    for kind, paths in entries.items():
        for entry in paths:  # rewritten under the same name, whole
            with np.load(entry, allow_pickle=False) as z:
                assert all(np.isfinite(z[k]).all() for k in z.files)
