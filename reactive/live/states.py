"""The emotion state machine: which clips play, where, and how much each counts (Sec. 8.1).

States are clips with roles: ``idle`` clips loop (in random segments of random idle clips, so
the loop never shows), emotions play once and hand back to idle, and a held trigger can
pause an emotion at its peak. Every change is a *transition*: the new clip fades in over
``transition_s`` (smoothstep) while everything that was playing fades out from the weight it
had, so the blend is continuous whatever arrives when: the weights always sum to 1, and the
pose at the moment of a trigger is exactly the pose before it.

Pure logic on an injected clock: ``trigger(name, now_s)`` and ``layers(now_s)``; the player
turns the layers into offsets and pixels.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from reactive.core.geometry import smoothstep
from reactive.core.synthesis import Layer
from reactive.params import StateParams

log = logging.getLogger(__name__)

IDLE, EMOTION = "idle", "emotion"


@dataclass(frozen=True)
class ClipInfo:
    """What the state machine needs to know of a clip."""

    name: str
    role: str             # IDLE or EMOTION
    frame_count: int
    fps: float
    loop: bool = False    # last frame == first: an idle clip that may wrap around
    peak: int = 0         # the most expressive frame (where a held trigger pauses)
    rest: int = 0         # the neutral frame (the rest pose when there is no idle clip)

    @property
    def duration_s(self) -> float:
        return (self.frame_count - 1) / self.fps


@dataclass
class _Track:
    clip: int
    start_s: float            # clock time of the track's frame ``first``
    first: float              # frame it started from
    end: float                # frame it stops at (one-shot) or hands over at (idle segment)
    base: float = 1.0         # weight when its current ramp began
    ramp_s: float = 0.0       # when the ramp began
    fading_in: bool = True
    held_at: float | None = None   # hold: the frame it waits at, while held
    handed_over: bool = False
    resting: bool = False     # the rest pose of a profile without idle clips


@dataclass
class StateMachine:
    """Plays ``clips`` (ClipInfo list) on an injected clock.

    ``rng`` picks idle segments and random emotions, so a seeded run is reproducible.
    """

    clips: list[ClipInfo]
    params: StateParams = StateParams()
    rng: np.random.Generator = field(default_factory=lambda: np.random.default_rng())

    def __post_init__(self):
        self.idle = [k for k, c in enumerate(self.clips) if c.role == IDLE]
        self.emotions = [k for k, c in enumerate(self.clips) if c.role == EMOTION]
        self.by_name = {c.name: k for k, c in enumerate(self.clips)}
        if not self.clips:
            raise ValueError("`clips` must hold at least one clip")
        self.tracks: list[_Track] = []
        self._pending: tuple[int, bool] | None = None
        self._started = False
        self._resting = False

    # -- control -------------------------------------------------------------------------

    def trigger(self, name: str, now_s: float, *, hold: bool = False) -> bool:
        """Play state ``name`` (an emotion, or an idle clip). Returns False for unknown names.

        While a transition is still running, the request waits for it to end (only the
        latest waits): triggers faster than transitions queue instead of stacking ramps.
        The state already rising towards its peak is not restarted.
        """
        k = self.by_name.get(name)
        if k is None:
            return False
        self._start(now_s)
        top = self.tracks[-1] if self.tracks else None
        if (top is not None and top.clip == k and self.clips[k].role == EMOTION
                and not top.resting and self._frame(top, now_s) < max(self.clips[k].peak, 1)):
            if hold:
                top.held_at = float(self.clips[k].peak)
            return True
        if top is not None and now_s - top.ramp_s < self.params.transition_s:
            self._pending = (k, hold)
            return True
        self._push(k, now_s, hold=hold)
        return True

    def release(self, name: str, now_s: float) -> None:
        """A held trigger let go: the paused clip plays on from its peak."""
        k = self.by_name.get(name)
        if self._pending is not None and self._pending[0] == k:
            self._pending = (k, False)
        for t in self.tracks:
            if t.clip == k and t.held_at is not None:
                if self._frame(t, now_s) >= t.held_at:  # paused: resume from the peak
                    t.start_s = now_s - (t.held_at - t.first) / self.clips[k].fps
                t.held_at = None

    @property
    def current(self) -> str:
        """Name of the newest state (the one fading in or playing)."""
        return self.clips[self.tracks[-1].clip].name if self.tracks else ""

    def busy(self, now_s: float) -> bool:
        """True while an emotion plays (idle reactions should wait)."""
        top = self.tracks[-1] if self.tracks else None
        return top is not None and not top.resting and self.clips[top.clip].role == EMOTION

    # -- per frame -----------------------------------------------------------------------

    def layers(self, now_s: float) -> list[Layer]:
        """The clips to blend at ``now_s``, weights summing to 1."""
        self._start(now_s)
        top = self.tracks[-1]
        if self._pending is not None and now_s - top.ramp_s >= self.params.transition_s:
            k, hold = self._pending
            self._pending = None
            self._push(k, top.ramp_s + self.params.transition_s, hold=hold)
            top = self.tracks[-1]
        # Hand over before the newest clip runs out: emotions to idle, idle segments to the
        # next segment.
        clip = self.clips[top.clip]
        lead = self.params.transition_s * clip.fps
        due = top.start_s + (top.end - lead - top.first) / clip.fps
        if not top.handed_over and top.held_at is None and now_s >= due:
            # Dated when it was due, not when a (late) frame noticed: the result does not
            # depend on the frame rate.
            top.handed_over = True
            self._push(self._next_idle_clip(), max(due, top.ramp_s), resting=True)
        out = []
        keep = []
        for t in self.tracks:
            w = self._weight(t, now_s)
            if not t.fading_in and w <= 1e-4 and now_s - t.ramp_s >= self.params.transition_s:
                continue  # faded out completely
            keep.append(t)
            out.append(Layer(t.clip, self._frame(t, now_s), w))
        self.tracks = keep
        total = sum(layer.weight for layer in out)
        if total <= 0:
            return [Layer(top.clip, self._frame(top, now_s), 1.0)]
        return [Layer(l.clip, l.position, l.weight / total) for l in out]

    # -- inside --------------------------------------------------------------------------

    def _start(self, now_s: float) -> None:
        if not self._started:
            self._started = True
            k = self._next_idle_clip()
            self._resting = True
            self.tracks = [self._new_track(k, now_s)]
            self._resting = False
            self.tracks[0].ramp_s = now_s - self.params.transition_s  # already fully in

    def _next_idle_clip(self) -> int:
        """An idle clip at random; without any, the first clip (held at its rest pose)."""
        pool = self.idle or [0]
        return int(pool[self.rng.integers(len(pool))])

    def _new_track(self, k: int, now_s: float, *, hold: bool = False) -> _Track:
        c = self.clips[k]
        last = float(c.frame_count - 1)
        if not self.idle and c.role != IDLE and k == 0 and not hold and self._resting:
            # No idle clip: rest on the first clip's neutral frame, still.
            t = _Track(clip=k, start_s=now_s, first=float(c.rest), end=float(c.rest),
                       ramp_s=now_s)
            t.held_at = float(c.rest)
            t.resting = True
            return t
        if c.role == IDLE:
            # A random segment: start anywhere, play a random while (a looping clip may
            # wrap around its end), then hand over to another segment.
            seg = self.rng.uniform(self.params.idle_segment_min_s, self.params.idle_segment_max_s)
            seg_frames = seg * c.fps
            if c.loop:
                first = float(self.rng.uniform(0, last)) if last > 0 else 0.0
                end = first + seg_frames
            else:
                room = max(last - seg_frames, 0.0)
                first = float(self.rng.uniform(0, room)) if room > 0 else 0.0
                end = min(first + seg_frames, last)
        else:
            first, end = 0.0, last
        t = _Track(clip=k, start_s=now_s, first=first, end=end, ramp_s=now_s)
        if hold:
            t.held_at = float(c.peak)
        return t

    def _push(self, k: int, now_s: float, *, hold: bool = False, resting: bool = False
              ) -> None:
        for t in self.tracks:
            t.base = self._weight(t, now_s)
            t.ramp_s = now_s
            t.fading_in = False
        self._resting = resting
        self.tracks.append(self._new_track(k, now_s, hold=hold))
        self._resting = False
        if len(self.tracks) > self.params.max_layers:
            # The faintest goes; the rest are renormalised in ``layers``.
            faint = min(range(len(self.tracks) - 1), key=lambda i: self.tracks[i].base)
            del self.tracks[faint]
        log.debug("state -> %s at %.2f s", self.clips[k].name, now_s)

    def _weight(self, t: _Track, now_s: float) -> float:
        T = self.params.transition_s
        u = 1.0 if T <= 0 else (now_s - t.ramp_s) / T
        s = smoothstep(u)
        return t.base * (s if t.fading_in else 1.0 - s)

    def _frame(self, t: _Track, now_s: float) -> float:
        c = self.clips[t.clip]
        pos = t.first + (now_s - t.start_s) * c.fps
        if t.held_at is not None and pos >= t.held_at:
            pos = t.held_at
        last = float(c.frame_count - 1)
        if c.loop and last > 0:
            return float(pos % last)
        return float(min(max(pos, 0.0), last))
