"""Clip folders (names, roles, errors) and the on-disk cache (hit, miss, corrupt entries)."""

from __future__ import annotations

import numpy as np
import pytest

from reactive.errors import InputError
from reactive.io import cache
from reactive.io.clippack import save_pack
from reactive.live.clips import load_clips
from reactive.live.player import EMOTION, IDLE
from tests.helpers import fake_face, fake_pack


def _pack(tag="", extra=None):
    pack = fake_pack(fake_face(), np.zeros((3, 2), np.float32))
    pack.tag = tag
    pack.extra = dict(extra or {})
    return pack


def test_names_and_roles(tmp_path):
    save_pack(_pack("happy"), tmp_path / "a.npz")
    save_pack(_pack(""), tmp_path / "idle_breathing.npz")
    save_pack(_pack("wave", {"role": "idle", "loop": True}), tmp_path / "w.npz")
    (tmp_path / "notes.txt").write_text("not a clip")
    clips = {c.name: c for c in load_clips(tmp_path)}
    assert set(clips) == {"happy", "idle_breathing", "wave"}
    assert clips["happy"].role == EMOTION
    assert clips["idle_breathing"].role == IDLE        # from the name
    assert clips["wave"].role == IDLE and clips["wave"].loop  # from the header


def test_folder_errors(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_clips(tmp_path / "missing")
    with pytest.raises(InputError, match="no clip packs"):
        load_clips(tmp_path)
    save_pack(_pack("smile"), tmp_path / "a.npz")
    save_pack(_pack("smile"), tmp_path / "b.npz")
    with pytest.raises(InputError, match="also used by"):
        load_clips(tmp_path)


def test_broken_pack_is_a_one_line_error(tmp_path):
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(InputError, match="bad.npz"):
        load_clips(tmp_path)


def test_face_cache_hit_and_corrupt_entry(tmp_path):
    photo = np.zeros((200, 300, 3), np.uint8)  # fake_face lies in it
    calls = []

    def find(p):
        calls.append(1)
        return fake_face()

    a = cache.cached_face(photo, tmp_path, find)
    b = cache.cached_face(photo, tmp_path, find)
    np.testing.assert_array_equal(a, b)
    assert len(calls) == 1
    entry = next((tmp_path / "faces").glob("*.npz"))
    entry.write_bytes(b"garbage")
    cache.cached_face(photo, tmp_path, find)
    assert len(calls) == 2
    # Another photo is another entry.
    cache.cached_face(photo + 1, tmp_path, find)
    assert len(calls) == 3


def test_tables_round_trip_and_validation(tmp_path):
    packs = [_pack("a"), _pack("b")]
    tables = [np.random.default_rng(i).normal(size=(3, 7, 2)).astype(np.float32)
              for i in range(2)]
    key = cache.tables_key(fake_face(), (20, 30, 3), packs, ())
    assert cache.load_tables(tmp_path, key, packs, 7) is None
    cache.save_tables(tmp_path, key, tables)
    got = cache.load_tables(tmp_path, key, packs, 7)
    for g, t in zip(got, tables):
        np.testing.assert_array_equal(g, t)
    assert cache.load_tables(tmp_path, key, packs, 8) is None  # another rig: not trusted
    # The key changes with the clips' content.
    other = _pack("a")
    other.landmarks = other.landmarks + 1
    assert cache.tables_key(fake_face(), (20, 30, 3), [other, packs[1]], ()) != key


def test_unwritable_cache_costs_speed_not_the_show(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    pts = cache.cached_face(np.zeros((4, 4, 3), np.uint8), blocker, lambda p: fake_face())
    assert pts.shape == (478, 2)


def test_written_files_get_normal_permissions(tmp_path):
    import os
    import stat

    old = os.umask(0o022)
    try:
        path = save_pack(_pack("a"), tmp_path / "a.npz")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644  # not mkstemp's owner-only 0600
