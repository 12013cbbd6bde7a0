"""Issue "Hidden regions": the mouth interior stage on real clips in ../shared/data."""

from __future__ import annotations

import pytest

from conftest import shared_path
from reactive import quality
from reactive.rig import build_rig
from reactive.target import find_target_face
from reactive.video import VideoReader

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("clip", ["d3", "d10"])
def test_mouth_stage_brings_back_the_open_mouth(clip, pack_cache):
    """Self-reenactment: the clip's neutral frame driven by its own clip."""
    pack = pack_cache(clip)
    with VideoReader(shared_path("driving", f"{clip}.mp4")) as reader:
        real = reader.read_all()[:pack.frame_count]
    photo = real[pack.neutral_index]
    rig = build_rig(photo, find_target_face(photo), pack)
    coarse = quality.render_all(rig, pack, stages=("coarse",))
    hidden = quality.render_all(rig, pack, stages=("coarse", "hidden"))
    without, n = quality.mouth_psnr(real, coarse, pack)
    with_mouth, _ = quality.mouth_psnr(real, hidden, pack)
    print(f"{clip}: PSNR inside the open mouth ({n} frames): coarse {without:.2f} dB, "
          f"+hidden {with_mouth:.2f} dB")
    assert n >= 10
    assert with_mouth > without
