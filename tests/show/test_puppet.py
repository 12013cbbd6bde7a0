"""Issue 14's offline check: puppeting a photo with a file as the camera scores on the
foundation's expression measure no worse than ``reactive render --driving`` on that file."""

from __future__ import annotations

import numpy as np
import pytest

from reactive.core.rig import build_rig
from reactive.io.camera import CameraSource
from reactive.io.photo import load_photo
from reactive.io.target import find_target_face
from reactive.io.tracker import FaceMeshTracker
from reactive.live.puppet import CalmNeutral, Puppet
from reactive.tools import quality
from tests.helpers import shared_path

pytestmark = pytest.mark.slow

# Detector jitter on the re-tracked output: two renders of the same motion differ by this.
JITTER = 0.02


@pytest.mark.parametrize("clip", ["d0", "d3"])
def test_puppet_follows_the_camera_as_well_as_the_offline_render(clip, pack_cache):
    video = shared_path("driving", f"{clip}.mp4")
    photo = load_photo(shared_path("portraits", "s42.jpg"))
    target = find_target_face(photo)
    puppet, calm = Puppet(photo, target), CalmNeutral()
    points, frames, first = [], [], None
    with CameraSource(video) as camera, FaceMeshTracker() as tracker:
        i = 0
        while (frame := camera.read(camera.next_frame_s)) is not None:
            p = tracker(frame.image)
            if not puppet.ready:
                neutral = calm.update(p, frame.time_s)
                if neutral is not None:
                    puppet.set_neutral(neutral, frame.image.shape[1::-1])
            if puppet.ready and p is not None:
                first = i if first is None else first
                points.append(p.astype(np.float64))
                frames.append(puppet.render(p).copy())
            i += 1
    assert first is not None and first < 2.5 * camera.fps   # the neutral is taken early
    # The puppet against its own Eq. 1 (its live neutral, its rig's phi) ...
    a = puppet.synthesis.rig.phi[:, :2]
    intended = target[None].astype(np.float64) + (np.array(points) - puppet.neutral) @ a.T
    live = quality.expression_fidelity_of(frames, intended)
    # ... and `reactive render --driving` against its own, on the same camera frames.
    pack = pack_cache(clip)
    rig = build_rig(photo, target, pack)
    span = slice(first, first + len(frames))
    offline = quality.expression_fidelity_of(quality.render_all(rig, pack)[span],
                                              quality.intended_points(rig, pack)[span])
    print(f"\ns42 x {clip} ({len(frames)} frames): expression error, puppet "
          f"{live['with_head']:.3f} with head / {live['expression_only']:.3f} expression "
          f"only; render --driving {offline['with_head']:.3f} / "
          f"{offline['expression_only']:.3f}")
    assert live["expression_only"] <= offline["expression_only"] + JITTER
    assert live["with_head"] <= offline["with_head"] + JITTER
