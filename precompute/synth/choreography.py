"""The built-in clips' choreography: keyframed action-unit curves with ease-in/ease-out,
starting and ending neutral, randomised (blink times, glances, sway) from a seed."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from reactive.core.geometry import smoothstep


@dataclass(frozen=True)
class Track:
    """A keyframed curve: ``keys`` (time_s, value) with increasing times; between keys the
    value eases in and out (smoothstep), or with ``spline`` follows a smooth cubic through
    the keys (zero slope at the first and last key). Constant outside the keys."""

    keys: tuple[tuple[float, float], ...]
    spline: bool = False

    def __post_init__(self):
        times = [k[0] for k in self.keys]
        if len(times) < 1 or any(b <= a for a, b in zip(times, times[1:])):
            raise ValueError(f"`keys` must have increasing times; got {times}")

    def __call__(self, t: float) -> float:
        keys = self.keys
        if t <= keys[0][0]:
            return float(keys[0][1])
        if t >= keys[-1][0]:
            return float(keys[-1][1])
        i = 0
        while keys[i + 1][0] < t:
            i += 1
        (t0, v0), (t1, v1) = keys[i], keys[i + 1]
        h = t1 - t0
        u = (t - t0) / h
        if not self.spline:
            return float(v0 + (v1 - v0) * smoothstep(u))

        def slope(j):
            if j == 0 or j == len(keys) - 1:
                return 0.0
            return (keys[j + 1][1] - keys[j - 1][1]) / (keys[j + 1][0] - keys[j - 1][0])

        m0, m1 = slope(i) * h, slope(i + 1) * h
        u2, u3 = u * u, u * u * u
        return float((2 * u3 - 3 * u2 + 1) * v0 + (u3 - 2 * u2 + u) * m0
                     + (-2 * u3 + 3 * u2) * v1 + (u3 - u2) * m1)


def pulse(start: float, rise: float, hold: float, fall: float, peak: float = 1.0) -> Track:
    """0 -> ``peak`` over ``rise`` s from ``start``, held ``hold`` s, back to 0 over ``fall``."""
    return Track(((start, 0.0), (start + rise, peak), (start + rise + hold, peak),
                  (start + rise + hold + fall, 0.0)))


def blink(start: float, peak: float = 1.0) -> Track:
    """A blink: the lid falls fast (~90 ms), rests, and rises more slowly (~170 ms)."""
    return pulse(start, 0.09, 0.04, 0.17, peak)


@dataclass
class Clip:
    """A clip script: per channel, tracks whose values add up."""

    name: str
    duration_s: float
    role: str
    loop: bool
    tracks: dict[str, list[Track]]

    def values(self, t: float) -> dict[str, float]:
        return {ch: sum(tr(t) for tr in trs) for ch, trs in self.tracks.items()}


def _sway(rng: np.random.Generator, duration: float, amp_deg: float, step_s: float) -> Track:
    """Slow random head drift: spline through random keys, 0 at both ends."""
    n = max(2, int(round(duration / step_s)))
    times = [duration * k / n for k in range(n + 1)]
    vals = [0.0] + [float(rng.uniform(-amp_deg, amp_deg)) for _ in range(n - 1)] + [0.0]
    return Track(tuple(zip(times, vals)), spline=True)


def idle_blink_times(rng: np.random.Generator, duration: float, *, min_gap: float = 2.0,
                     max_gap: float = 6.0, margin: float = 0.6) -> list[float]:
    """Blink start times in a loop of ``duration`` s: every gap, the one across the loop
    point included, within [min_gap, max_gap]; none within ``margin`` s of the loop point."""
    for _ in range(1000):
        n = int(rng.integers(int(math.ceil(duration / max_gap)),
                             int(duration // min_gap) + 1))
        gaps = rng.uniform(min_gap + 0.3, max_gap - 0.3, size=n)
        gaps *= duration / gaps.sum()
        if gaps.min() < min_gap + 0.2 or gaps.max() > max_gap - 0.2:
            continue
        wrap = float(gaps[-1])
        first = float(rng.uniform(margin, wrap - margin - 0.3))
        return [first + float(g) for g in np.concatenate([[0.0], np.cumsum(gaps[:-1])])]
    raise RuntimeError("could not place blinks")  # unreachable for sensible durations


def clip_idle(rng: np.random.Generator) -> Clip:
    """Breathing (4 s cycles), a slow small sway, blinks every 2-6 s, two small glances.
    12 s, a seamless loop: frame 0 and the last frame are the same (neutral) face."""
    dur = 12.0
    tracks: dict[str, list[Track]] = {}
    breath = [(0.0, 0.0)]
    for k in range(3):
        breath += [(4.0 * k + 1.6, float(rng.uniform(0.8, 1.0))), (4.0 * k + 4.0, 0.0)]
    tracks["breath"] = [Track(tuple(breath))]
    tracks["yaw"] = [_sway(rng, dur, 1.5, 3.0)]
    tracks["pitch"] = [_sway(rng, dur, 1.0, 4.0)]
    tracks["roll"] = [_sway(rng, dur, 1.0, 3.0)]
    blinks = idle_blink_times(rng, dur)
    tracks["AU45"] = [blink(t) for t in blinks]
    # Glances: away from the blinks, a quick saccade out, a rest, a saccade back.
    gx, gy = [], []
    busy = [(b - 0.3, b + 0.5) for b in blinks]
    for _ in range(2):
        for _attempt in range(200):
            start = float(rng.uniform(0.8, dur - 2.4))
            hold = float(rng.uniform(0.6, 1.2))
            span = (start - 0.2, start + hold + 0.4)
            if all(span[1] < a or span[0] > b for a, b in busy):
                break
        busy.append(span)
        x = float(rng.choice([-1.0, 1.0]) * rng.uniform(0.35, 0.6))
        y = float(rng.uniform(-0.3, 0.5))
        gx.append(pulse(start, 0.08, hold, 0.1, x))
        gy.append(pulse(start, 0.08, hold, 0.1, y))
    tracks["gaze_x"], tracks["gaze_y"] = gx, gy
    return Clip("idle", dur, "idle", True, tracks)


def clip_blink(rng: np.random.Generator) -> Clip:
    return Clip("blink", 1.0, "emotion", False, {"AU45": [blink(0.3)]})


def clip_wink(rng: np.random.Generator) -> Clip:
    """The subject's left eye closes (the image's right), the cheek rises a little with it,
    the head tips towards it, a hint of a smile."""
    t = {"AU46L": [pulse(0.3, 0.15, 0.35, 0.2, 1.0)],
         "AU6": [pulse(0.3, 0.2, 0.3, 0.3, 0.4)],
         "AU12": [pulse(0.25, 0.3, 0.4, 0.4, 0.4)],
         "roll": [pulse(0.25, 0.3, 0.4, 0.4, 3.0)]}
    return Clip("wink", 1.6, "emotion", False, t)


def clip_smile(rng: np.random.Generator) -> Clip:
    t = {"AU12": [pulse(0.3, 0.7, 1.1, 0.8, 1.0)],
         "AU6": [pulse(0.4, 0.7, 1.0, 0.8, 0.8)],
         "AU25": [pulse(0.45, 0.6, 0.9, 0.7, 0.5)],
         "AU26": [pulse(0.45, 0.6, 0.9, 0.7, 0.08)],
         "roll": [pulse(0.3, 0.9, 0.9, 0.8, 2.5)],
         "pitch": [pulse(0.3, 0.9, 0.9, 0.8, -2.0)],
         "yaw": [_sway(rng, 3.0, 1.0, 1.0)]}
    return Clip("smile", 3.0, "emotion", False, t)


def clip_laugh(rng: np.random.Generator) -> Clip:
    """An open-mouthed laugh: the jaw bounces ("ha-ha-ha"), the head tips back."""
    jaw = [(0.0, 0.0), (0.3, 0.0), (0.7, 0.75)]
    t, k = 0.7, 0
    while t < 2.2:
        t += 0.11
        jaw.append((t, 0.45 if k % 2 == 0 else 0.85))
        k += 1
    jaw += [(t + 0.2, 0.7), (t + 1.0, 0.0)]
    pitch = [(0.0, 0.0), (0.3, 0.0), (0.9, -8.0), (1.5, -6.5), (2.1, -8.0), (t + 1.0, 0.0)]
    tr = {"AU12": [pulse(0.25, 0.5, 1.9, 0.9, 1.0)],
          "AU6": [pulse(0.3, 0.5, 1.8, 0.9, 1.0)],
          "AU7": [pulse(0.3, 0.5, 1.8, 0.9, 0.4)],
          "AU25": [pulse(0.3, 0.4, 1.9, 0.9, 1.0)],
          "AU26": [Track(tuple(jaw))],
          "AU1": [pulse(0.4, 0.5, 1.6, 0.8, 0.25)],
          "AU2": [pulse(0.4, 0.5, 1.6, 0.8, 0.2)],
          "pitch": [Track(tuple(pitch))],
          "roll": [pulse(0.3, 0.8, 1.5, 0.9, -3.0)],
          "yaw": [_sway(rng, 3.6, 1.5, 0.9)]}
    return Clip("laugh", 3.6, "emotion", False, tr)


def clip_surprise(rng: np.random.Generator) -> Clip:
    t = {"AU1": [pulse(0.3, 0.25, 1.3, 0.8, 1.0)],
         "AU2": [pulse(0.3, 0.25, 1.3, 0.8, 1.0)],
         "AU5": [pulse(0.3, 0.2, 1.2, 0.7, 1.0)],
         "AU25": [pulse(0.35, 0.25, 1.2, 0.8, 1.0)],
         "AU26": [pulse(0.35, 0.3, 1.2, 0.8, 0.9)],
         "AU27": [pulse(0.4, 0.3, 1.0, 0.8, 0.3)],
         "pitch": [pulse(0.3, 0.35, 1.2, 0.9, -3.0)],
         "yaw": [_sway(rng, 3.0, 0.8, 1.0)]}
    return Clip("surprise", 3.0, "emotion", False, t)


def clip_sad(rng: np.random.Generator) -> Clip:
    t = {"AU1": [pulse(0.3, 0.9, 1.3, 1.0, 0.9)],
         "AU4": [pulse(0.3, 0.9, 1.3, 1.0, 0.45)],
         "AU15": [pulse(0.4, 0.9, 1.2, 1.0, 1.0)],
         "AU17": [pulse(0.5, 0.8, 1.1, 1.0, 0.7)],
         "AU43": [pulse(0.4, 0.9, 1.2, 1.0, 0.3)],
         "gaze_y": [pulse(0.5, 0.6, 1.3, 1.0, 0.6)],
         "pitch": [pulse(0.3, 1.0, 1.2, 1.0, 6.0)],
         "roll": [pulse(0.3, 1.0, 1.2, 1.0, -2.0)],
         "AU45": [blink(1.9)]}
    return Clip("sad", 3.6, "emotion", False, t)


def clip_angry(rng: np.random.Generator) -> Clip:
    t = {"AU4": [pulse(0.3, 0.35, 1.4, 0.8, 1.0)],
         "AU5": [pulse(0.35, 0.3, 1.4, 0.8, 0.4)],
         "AU7": [pulse(0.3, 0.35, 1.4, 0.8, 0.8)],
         "AU9": [pulse(0.35, 0.35, 1.3, 0.8, 0.35)],
         "AU24": [pulse(0.35, 0.35, 1.3, 0.8, 0.9)],
         "AU17": [pulse(0.35, 0.35, 1.3, 0.8, 0.4)],
         "pitch": [pulse(0.3, 0.4, 1.4, 0.8, 3.5)],
         "yaw": [_sway(rng, 3.0, 1.0, 1.0)]}
    return Clip("angry", 3.0, "emotion", False, t)


def clip_nod(rng: np.random.Generator) -> Clip:
    pitch = Track(((0.0, 0.0), (0.2, 0.0), (0.55, 9.0), (0.9, -2.0), (1.25, 7.0), (1.6, -1.0),
                   (2.2, 0.0)), spline=True)
    t = {"pitch": [pitch], "AU12": [pulse(0.2, 0.4, 1.1, 0.5, 0.25)], "AU45": [blink(0.45)]}
    return Clip("nod", 2.5, "emotion", False, t)


def _clip_look(name: str, sign: float) -> Callable[[np.random.Generator], Clip]:
    def make(rng: np.random.Generator) -> Clip:
        # The eyes lead, the head follows and the eyes re-centre part way; back the same.
        gaze = Track(((0.0, 0.0), (0.25, 0.0), (0.37, sign * 0.9), (1.0, sign * 0.45),
                      (1.8, sign * 0.45), (1.92, 0.0), (3.0, 0.0)))
        # 7 degrees: more foreshortens the far cheek into a band the 2D warp shows as a
        # jagged contour on small faces.
        yaw = Track(((0.0, 0.0), (0.32, 0.0), (1.05, sign * 7.0), (1.8, sign * 7.0),
                     (2.6, 0.0)))
        t = {"gaze_x": [gaze], "yaw": [yaw], "pitch": [pulse(0.32, 0.7, 0.8, 0.8, -1.0)]}
        return Clip(name, 3.0, "emotion", False, t)
    make.__doc__ = f"Eyes then head turn towards the image's {name.split('_')[1]}, and back."
    return make


CLIPS: dict[str, Callable[[np.random.Generator], Clip]] = {
    "idle": clip_idle, "blink": clip_blink, "smile": clip_smile, "laugh": clip_laugh,
    "surprise": clip_surprise, "sad": clip_sad, "angry": clip_angry, "nod": clip_nod,
    "look_left": _clip_look("look_left", -1.0), "look_right": _clip_look("look_right", 1.0),
    "wink": clip_wink,  # last: a clip's seed follows its place here
}
