"""``reactive record``: make your own clips with a camera (or a video standing in for one).

    reactive record -o DIR [--camera SOURCE] [--seconds S]            # guided, in a window
    reactive record -o DIR --camera FILE --headless --takes "neutral:0-2,smile:2-5"

Each take becomes ``DIR/<state>.mp4`` (the frames as filmed) and ``DIR/<state>.npz`` (the
tracked clip pack, tag = state), ready for ``python demo.py PHOTO --clips DIR``. A take named
``neutral`` is not a state: its most neutral frame is put in front of every other take as
that take's neutral frame s* (the paper's reference face, filmed in the same light), so
each clip starts from the same rest face.

A take is refused, with the reason, when the face is lost too often, too small in the frame,
or turned away (``params.RecordParams``); the good takes are written all the same, and the
command exits 2 naming the refused ones.
"""

from __future__ import annotations

import argparse
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from precompute.neutral import choose_neutral
from precompute.track import track_clip
from reactive.core import landmarks as lm
from reactive.core.clip import ClipPack
from reactive.errors import InputError
from reactive.guard import prepare_output
from reactive.io.camera import CameraSource, open_camera, parse_source
from reactive.io.clippack import save_pack
from reactive.io.video import VideoWriter
from reactive.params import RecordParams

log = logging.getLogger("reactive")

NEUTRAL = "neutral"
_LOST_ADVICE = "stay in the picture, face the camera, light on your face"
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


@dataclass(frozen=True)
class Take:
    """One take: ``state`` filmed from ``start_s`` to ``end_s`` of the camera's time."""

    state: str
    start_s: float
    end_s: float


def parse_takes(text: str) -> list[Take]:
    """``"neutral:0-2,smile:2-5"`` -> takes; InputError naming the bad part."""
    takes = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        m = re.fullmatch(r"([^:]+):\s*([0-9.]+)\s*-\s*([0-9.]+)", part)
        if m is None:
            raise InputError(f"--takes {text!r}: {part!r} is not STATE:START-END (seconds), "
                             "e.g. smile:2-5")
        state, start, end = m.group(1).strip().lower(), m.group(2), m.group(3)
        if not _NAME.match(state):
            raise InputError(f"--takes: state name {state!r}: use lower-case letters, digits "
                             "and _ (a file name and a profile name), starting with a letter")
        try:
            start_s, end_s = float(start), float(end)
        except ValueError:
            raise InputError(f"--takes: {part!r}: times are seconds like 2 or 2.5") from None
        if not end_s > start_s:
            raise InputError(f"--takes: {part!r}: the end must come after the start")
        if state in (t.state for t in takes):
            raise InputError(f"--takes: {state!r} is taken twice; one take per state")
        takes.append(Take(state, start_s, end_s))
    if not takes:
        raise InputError(f"--takes {text!r}: no takes; e.g. \"neutral:0-2,smile:2-5\"")
    if all(t.state == NEUTRAL for t in takes):
        raise InputError("--takes: only a neutral take; add the expressions, e.g. smile:2-5")
    return takes


def cut_takes(camera: CameraSource, takes: list[Take]) -> dict[str, list[np.ndarray]]:
    """The camera file's frames of each take (frame k at k / fps, start <= t < end)."""
    end = max(t.end_s for t in takes)
    frames: dict[str, list[np.ndarray]] = {t.state: [] for t in takes}
    while not camera.ended:
        t_next = camera.next_frame_s
        if t_next >= end:
            break
        frame = camera.read(t_next)
        if frame is None:
            break
        for take in takes:
            if take.start_s <= frame.time_s < take.end_s:
                frames[take.state].append(frame.image.copy())
    return frames


def check_take(pack: ClipPack, params: RecordParams = RecordParams()) -> str | None:
    """Why ``pack`` (a tracked take) is no good, or None: the face lost too often, too
    small, or turned away."""
    lost = 1.0 - float(np.mean(pack.face_detected))
    if lost > params.max_lost_fraction:
        return f"the face is lost in {lost:.0%} of the frames ({_LOST_ADVICE})"
    pts = pack.landmarks[pack.face_detected]
    height = np.median(pts[..., 1].max(axis=1) - pts[..., 1].min(axis=1))
    size = float(height) / pack.source_size[1]
    if size < params.min_face_frac:
        return (f"the face is too small ({size:.0%} of the picture's height, at least "
                f"{params.min_face_frac:.0%}): come closer")
    yaw = np.abs(lm.yaw_ratio(pts))
    turned = float(np.mean(yaw > params.max_yaw))
    if turned > params.max_turned_fraction:
        return (f"the face is turned away in {turned:.0%} of the frames: face the camera "
                "(a look to the side is the eyes, not the head)")
    return None


def take_neutral(frames: list[np.ndarray], fps: float,
                 params: RecordParams = RecordParams()) -> tuple[np.ndarray | None, str | None]:
    """The neutral take -> (its most neutral frame, None), or (None, why it is refused)."""
    if len(frames) < 2:
        return None, f"only {len(frames)} frame(s)"
    try:
        pack = track_clip(frames, fps=fps, tag=NEUTRAL, source=f"{NEUTRAL} take",
                          details=False)
    except InputError as exc:
        return None, _tracker_refusal(exc)
    reason = check_take(pack, params)
    if reason is not None:
        return None, reason
    k = choose_neutral(pack.landmarks, pack.face_detected)
    log.info("neutral: frame %d of the take is every take's neutral face", k)
    return frames[k], None


def write_take(state: str, frames: list[np.ndarray], fps: float, out: Path, *,
               neutral_frame: np.ndarray | None = None,
               params: RecordParams = RecordParams()) -> str | None:
    """Track, check and write one take as ``out/<state>.mp4`` and ``.npz``; None when
    written, else why it is refused (nothing written)."""
    if len(frames) < 2:
        return f"only {len(frames)} frame(s)"
    clip = frames if neutral_frame is None else [neutral_frame, *frames]
    try:
        pack = track_clip(clip, fps=fps, neutral=0 if neutral_frame is not None else "auto",
                          tag=state, source=f"{state} take")
    except InputError as exc:
        return _tracker_refusal(exc)
    reason = check_take(pack, params)
    if reason is not None:
        return reason
    pack.source = f"{state}.mp4"
    with VideoWriter(out / f"{state}.mp4", fps=fps) as writer:
        for frame in clip:
            writer.write(frame)
    save_pack(pack, out / f"{state}.npz")
    return None


def _tracker_refusal(exc: InputError) -> str:
    """The tracker's own refusal (too many frames without a face) as a take's reason."""
    detail = str(exc).split(": ", 1)[-1].split(";")[0]
    return f"the {detail} ({_LOST_ADVICE})"


def record_takes(camera: CameraSource, takes: list[Take], out: Path,
                 params: RecordParams = RecordParams()) -> tuple[list[str], dict[str, str]]:
    """Cut, check, track and write the takes. Returns (written states, refused state ->
    reason)."""
    frames = cut_takes(camera, takes)
    fps = camera.fps
    refused: dict[str, str] = {}
    for take in takes:
        n = len(frames[take.state])
        if n < 2:
            refused[take.state] = (f"{take.start_s:g}-{take.end_s:g} s holds {n} frame(s) of "
                                   f"{camera.name} (it ends sooner?)")
    neutral_frame = None
    if NEUTRAL in frames and NEUTRAL not in refused:
        neutral_frame, reason = take_neutral(frames[NEUTRAL], fps, params)
        if reason is not None:
            refused[NEUTRAL] = reason
    written = []
    for take in takes:
        if take.state == NEUTRAL or take.state in refused:
            continue
        reason = write_take(take.state, frames[take.state], fps, out,
                            neutral_frame=neutral_frame, params=params)
        if reason is not None:
            refused[take.state] = reason
        else:
            written.append(take.state)
    return written, refused


def run(args: argparse.Namespace) -> int:
    """``reactive record`` (arguments from ``tools.cli``); returns the exit code."""
    out = Path(args.output)
    if out.exists() and not out.is_dir():
        raise InputError(f"-o {out}: is a file; give a folder for the clips")
    if args.headless:
        if not args.takes:
            raise InputError("record --headless needs --takes, e.g. "
                             "--takes \"neutral:0-2,smile:2-5\"")
        if isinstance(parse_source(args.camera), int):
            raise InputError(f"--camera {args.camera}: record --headless cuts takes from a "
                             "video file standing in for the camera (--camera FILE); a live "
                             "camera records in the window (drop --headless)")
        takes = parse_takes(args.takes)
        with open_camera(args.camera) as camera:  # a bad camera file: nothing created
            prepare_output(out / "probe.npz", suffixes=(".npz",), what="clips folder")
            written, refused = record_takes(camera, takes, out)
        for state in written:
            print(f"wrote {out / state}.mp4 and {state}.npz")
        for state, reason in refused.items():
            print(f"refused {state}: {reason}")
        if refused:
            raise InputError(f"{len(refused)} of {len(takes)} take(s) refused "
                             f"({', '.join(refused)}); film them again")
        print(f"play them: python demo.py PHOTO --clips {out}")
        return 0
    if args.takes:
        raise InputError("--takes goes with --headless (the window prompts for each take)")
    from reactive.tools.record_window import run_record_window  # noqa: PLC0415 - pyglet

    return run_record_window(args)
