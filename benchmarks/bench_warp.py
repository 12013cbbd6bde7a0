"""Per-frame warp time against one ``cv2.remap`` of the same frame size.

Measures the real path a render takes per frame: a Rig built from a real photo and clip pack
(``reactive.core.rig.build_rig``), then ``Warper.__call__`` (offsets -> field -> smoothed ->
inverse map -> the sheet in front where it folds -> sampled frame) on the clip's real per-frame
offsets (``reactive.core.motion.frame_offsets``), cycling over the clip's frames. Also times each
stage (``interpolate_offsets``, ``smooth_field``, ``inverse_map``, ``front_sheets``, ``sample_map``
from ``reactive.core.kernels.warp``, called by the Warper on its own buffers), the whole
per-frame synthesis with every stage on (offsets, details shading, warp, mouth interior), and a
bilinear ``cv2.remap`` with float32 maps as the baseline.

Usage::

    python benchmarks/bench_warp.py [--sizes 512 1024] [--frames 200] [--threads N]

Inputs default to ``../shared/data`` beside the project (portraits/s42.jpg, driving/d0.mp4);
the clip pack is cached in the system temp folder. Exits 2 when the media is absent.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = (ROOT / ".." / "shared" / "data").resolve()
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

import cv2  # noqa: E402
import numba  # noqa: E402
import numpy as np  # noqa: E402

WARMUP_FRAMES = 5
STAGES = ("interpolate_offsets", "smooth_field", "inverse_map", "front_sheets", "sample_map")


@contextlib.contextmanager
def timed_stages(seconds: dict[str, list[float]]):
    """Wrap the warp kernels used by ``reactive.core.warper`` with a timer."""
    from reactive.core import warper as rig_module
    from reactive.core.kernels import warp as warp_module

    originals = {}
    for name in STAGES:
        func = getattr(warp_module, name)
        if getattr(rig_module, name) is not func:
            raise RuntimeError(f"reactive.core.warper.{name} is not the kernel {name}; "
                               "update the benchmark")

        def timed(*args, _func=func, _out=seconds[name], **kwargs):
            t = time.perf_counter()
            result = _func(*args, **kwargs)
            _out.append(time.perf_counter() - t)
            return result

        originals[name] = func
        setattr(rig_module, name, timed)
    try:
        yield
    finally:
        for name, func in originals.items():
            setattr(rig_module, name, func)


def cached_pack(video: Path):
    """Clip pack of ``video``, precomputed once and kept in the temp folder."""
    from precompute.video import precompute_video
    from reactive.errors import InputError
    from reactive.io.clippack import load_pack, save_pack

    st = video.stat()
    key = hashlib.sha1(f"{video.resolve()}:{st.st_size}:{st.st_mtime_ns}".encode()).hexdigest()
    folder = Path(tempfile.gettempdir()) / "reactive-bench"
    folder.mkdir(exist_ok=True)
    path = folder / f"{video.stem}-{key[:12]}.npz"
    if path.is_file():
        try:
            pack = load_pack(path)
            if pack.mouth is not None and pack.ratio is not None:
                return pack
            print("cached pack lacks the mouth or ratio images; precomputing again", flush=True)
        except InputError as exc:  # written by an older version of the format
            print(f"cached pack unusable ({exc}); precomputing again", flush=True)
    print(f"precomputing {video.name} -> {path}", flush=True)
    save_pack(precompute_video(video, show_progress=False), path)
    return load_pack(path)


def stats_ms(seconds: list[float]) -> tuple[float, float]:
    """(median, p95) in milliseconds."""
    ms = np.asarray(seconds) * 1e3
    return float(np.median(ms)), float(np.percentile(ms, 95))


def bench_size(photo_full: np.ndarray, pack, size: int, n_frames: int) -> dict:
    from reactive.core.motion import frame_offsets
    from reactive.core.rig import build_rig
    from reactive.core.warper import Warper
    from reactive.io.target import find_target_face

    photo = cv2.resize(photo_full, (size, size), interpolation=cv2.INTER_CUBIC)
    points = find_target_face(photo, source=f"s42@{size}")
    t0 = time.perf_counter()
    rig = build_rig(photo, points, pack)
    build_s = time.perf_counter() - t0
    warper = Warper(rig)
    offsets = [frame_offsets(rig, pack, i) for i in range(pack.frame_count)]
    order = [i % pack.frame_count for i in range(n_frames)]

    for i in range(WARMUP_FRAMES):  # numba compile / cache load, page faults: not timed
        warper(offsets[i % len(offsets)])

    warp_s = []
    for i in order:
        t = time.perf_counter()
        warper(offsets[i])
        warp_s.append(time.perf_counter() - t)

    # The same stages, timed one by one: the real reactive.core.kernels.warp functions, wrapped with
    # a timer where the Warper looks them up, so they run on the Warper's own buffers with
    # exactly the arguments it passes (the breakdown cannot drift from the real path).
    stage_s = {name: [] for name in STAGES}
    with timed_stages(stage_s):
        for i in order:
            warper(offsets[i])

    # Baseline: one bilinear remap of the same frame with float32 maps (from a real field).
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    warper.compute_field(offsets[len(offsets) // 2])
    map_x = np.ascontiguousarray(xx - warper.field[..., 0])
    map_y = np.ascontiguousarray(yy - warper.field[..., 1])
    dst = np.empty_like(rig.photo)
    for _ in range(WARMUP_FRAMES):
        cv2.remap(rig.photo, map_x, map_y, cv2.INTER_LINEAR, dst=dst,
                  borderMode=cv2.BORDER_REPLICATE)
    remap_s = []
    for _ in order:
        t = time.perf_counter()
        cv2.remap(rig.photo, map_x, map_y, cv2.INTER_LINEAR, dst=dst,
                  borderMode=cv2.BORDER_REPLICATE)
        remap_s.append(time.perf_counter() - t)

    for name, times in stage_s.items():
        if len(times) != len(order):
            raise RuntimeError(f"{name} ran {len(times)} times for {len(order)} frames")

    # The whole per-frame synthesis of an offline render with the paper's stages on, as
    # reactive.tools.render.iter_frames runs it (FrameSynthesis): offsets (Eq. 1, caps,
    # unfolding), the photo shaded by the ratio image (details), the warp, the mouth
    # interior (hidden). Each part is timed by wrapping the synthesis's own component.
    from reactive.core.synthesis import FrameSynthesis, Layer

    synthesis = FrameSynthesis(rig, [pack], stages=("coarse", "hidden", "details"),
                               warper=warper)
    parts = {"frame_offsets": [], "details.shade": [], "warp": [], "mouth.apply": []}

    def timed(func, out):
        def wrapper(*args, **kwargs):
            t = time.perf_counter()
            result = func(*args, **kwargs)
            out.append(time.perf_counter() - t)
            return result
        return wrapper

    synthesis.row = timed(synthesis.row, parts["frame_offsets"])
    synthesis.details.shade = timed(synthesis.details.shade, parts["details.shade"])
    synthesis.warper = timed(synthesis.warper, parts["warp"])
    synthesis.mouths[0].apply = timed(synthesis.mouths[0].apply, parts["mouth.apply"])
    full_s = []
    for i in order:
        t0 = time.perf_counter()
        synthesis.render([Layer(0, float(i), 1.0)])
        full_s.append(time.perf_counter() - t0)
    return {"size": size, "build_s": build_s, "control_points": len(rig.rest),
            "warp": stats_ms(warp_s), "remap": stats_ms(remap_s),
            "stages": {k: stats_ms(v) for k, v in stage_s.items()},
            "full": stats_ms(full_s), "parts": {k: stats_ms(v) for k, v in parts.items()}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 1024],
                        help="square photo sizes in px (default 512 1024)")
    parser.add_argument("--frames", type=int, default=200,
                        help="timed frames per size, >= 100 (default 200)")
    parser.add_argument("--threads", type=int, default=None,
                        help=f"numba threads (default {numba.get_num_threads()}, "
                             f"max {numba.config.NUMBA_NUM_THREADS})")
    parser.add_argument("--photo", type=Path, default=DATA / "portraits" / "s42.jpg")
    parser.add_argument("--driving", type=Path, default=DATA / "driving" / "d0.mp4")
    args = parser.parse_args(argv)
    if args.frames < 100:
        parser.error("--frames must be >= 100")
    if args.threads is not None:
        if not 1 <= args.threads <= numba.config.NUMBA_NUM_THREADS:
            parser.error(f"--threads must be in 1..{numba.config.NUMBA_NUM_THREADS}")
        numba.set_num_threads(args.threads)
    missing = [p for p in (args.photo, args.driving) if not p.is_file()]
    if missing:
        print(f"bench_warp: test media not found: {', '.join(map(str, missing))} "
              f"(expected ../shared/data beside the project)", file=sys.stderr)
        return 2

    from reactive.guard import quiet_native_logs
    from reactive.io.photo import load_photo

    quiet_native_logs()
    pack = cached_pack(args.driving)
    photo = load_photo(args.photo, max_side=None)
    print(f"photo {args.photo.name} {photo.shape[1]}x{photo.shape[0]}, clip {args.driving.name} "
          f"{pack.frame_count} frames; {args.frames} timed frames per size; "
          f"numba threads {numba.get_num_threads()}, cv2 threads {cv2.getNumThreads()}")
    load = os.getloadavg()[0]
    if load > 0.5 * (os.cpu_count() or 1):
        print(f"warning: load average {load:.1f} on {os.cpu_count()} CPUs; other processes "
              "will inflate the times (the remap baseline shares the same noise)")
    results = [bench_size(photo, pack, size, args.frames) for size in args.sizes]

    for r in results:
        print(f"\nsize {r['size']}x{r['size']}: rig built in {r['build_s']:.2f} s, "
              f"{r['control_points']} control points")
        print(f"  {'stage':<22}{'median ms':>11}{'p95 ms':>10}")
        rows = [("Warper.__call__", r["warp"]), *r["stages"].items(),
                ("cv2.remap (baseline)", r["remap"])]
        for name, (med, p95) in rows:
            print(f"  {name:<22}{med:>11.2f}{p95:>10.2f}")
        total = sum(med for med, _ in r["stages"].values())
        print(f"  {'(sum of stage medians)':<22}{total:>11.2f}")
        print("  all stages (offline render, per frame):")
        for name, (med, p95) in [("synthesis", r["full"]), *r["parts"].items()]:
            print(f"  {'  ' + name:<22}{med:>11.2f}{p95:>10.2f}")
    print()
    for r in results:
        warp, remap = r["warp"][0], r["remap"][0]
        print(f"size={r['size']} warp_ms={warp:.2f} warp_p95_ms={r['warp'][1]:.2f} "
              f"remap_ms={remap:.3f} ratio={warp / remap:.1f} "
              f"synthesis_ms={r['full'][0]:.2f} synthesis_ratio={r['full'][0] / remap:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
