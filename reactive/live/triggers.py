"""Trigger sources and the one event queue that feeds the player.

Every source (the window thread's keys and mouse, the microphone's audio thread, the idle
timer polled by the player, a script of events for headless runs) turns what happened into
an :class:`Event` and puts it on one :class:`EventQueue`. The player drains the queue once
per frame; nothing here ever blocks it. Which state an event plays is the profile's business
(:mod:`reactive.profile`), not the sources'.

Times are on the player's clock, in seconds: sources get it injected (``clock()``), so tests
drive them with a fake clock and synthesized audio blocks, no hardware.
"""

from __future__ import annotations

import logging
import math
import queue
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from reactive.errors import InputError
from reactive.params import IdleParams, MicrophoneParams

log = logging.getLogger(__name__)

KINDS = ("key", "key_release", "click", "pointer", "loud", "idle", "visitor")
#: What a "visitor" event says (its ``key``): the camera's person arrives, leaves, smiles,
#: looks surprised, or is at ``(x, y)`` (0..1 of the camera frame) for "look".
VISITOR_KEYS = ("arrive", "leave", "smile", "surprise", "look")

#: Normalised key names. ``quit_chord`` is what the window sends for Ctrl+Shift+Q, the only
#: way to quit in kiosk mode (plain Esc and Q do nothing there).
KEY_NAMES = frozenset(
    [*string.digits, *string.ascii_lowercase, "space", "escape", "enter", "quit_chord"]
)


@dataclass(frozen=True)
class Event:
    """Something that happened, at ``time_s`` on the player's clock.

    ``kind`` is one of :data:`KINDS`; ``key`` (for "key" and "key_release") one of
    :data:`KEY_NAMES`, for "visitor" one of :data:`VISITOR_KEYS`; ``x, y`` (for "click" and
    "pointer") are in photo pixels, for a visitor's "look" in 0..1 of the camera frame.
    """

    time_s: float
    kind: str
    key: str = ""
    x: float = 0.0
    y: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"`kind` must be one of {', '.join(KINDS)}; got {self.kind!r}")


class EventQueue:
    """Thread-safe queue of events: any thread puts, the player drains once per frame."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[Event] = queue.SimpleQueue()

    def put(self, event: Event) -> None:
        """Add ``event``; never blocks (the queue is unbounded), safe from any thread."""
        self._queue.put(event)

    def drain(self) -> list[Event]:
        """Every event put so far, oldest first; ``[]`` when there is none. Never blocks."""
        events = []
        while True:
            try:
                events.append(self._queue.get_nowait())
            except queue.Empty:
                return events


# --- scripted events (demo.py --headless --events FILE) -------------------------------------

_SCRIPT_HELP = (
    "expected 'TIME key NAME', 'TIME release NAME', 'TIME click X Y', 'TIME pointer X Y', "
    "'TIME loud', 'TIME idle', 'TIME visitor arrive|leave|smile|surprise' or "
    "'TIME visitor look X Y'"
)
_SCRIPT_KINDS = {  # word in the script -> (event kind, argument count)
    "key": ("key", 1), "release": ("key_release", 1), "click": ("click", 2),
    "pointer": ("pointer", 2), "loud": ("loud", 0), "idle": ("idle", 0),
    "visitor": ("visitor", -1),
}


def _finite(word: str) -> float | None:
    try:
        value = float(word)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def parse_script(text: str, *, source: str) -> list[Event]:
    """Events from a script, one per line, sorted by time (stable for equal times).

    Lines: ``1.5 key 2``, ``5.0 release 2``, ``4.0 click 200 310``, ``4.5 pointer 120 80``,
    ``3.0 loud``, ``9.0 idle``, ``2.0 visitor arrive`` (leave, smile, surprise),
    ``4.0 visitor look 0.3 0.4`` (0..1 of the camera frame); ``#`` starts a comment; blank lines are skipped. Times in
    seconds from the start of the run, coordinates in photo pixels, key names as in
    :data:`KEY_NAMES` (case does not matter). ``source`` names the script in errors.

    Raises ``InputError("SOURCE:LINE: what is wrong; expected ...")`` on a bad line.
    """
    events = []
    for number, line in enumerate(text.splitlines(), start=1):
        words = line.split("#", 1)[0].split()
        if not words:
            continue

        def bad(what: str) -> InputError:
            return InputError(f"{source}:{number}: {what}; {_SCRIPT_HELP}")

        time_s = _finite(words[0])
        if time_s is None or time_s < 0:
            raise bad(f"time {words[0]!r} is not a number of seconds >= 0")
        if len(words) < 2:
            raise bad("an event is missing after the time")
        word = words[1].lower()
        if word not in _SCRIPT_KINDS:
            raise bad(f"unknown event {words[1]!r}")
        kind, n_args = _SCRIPT_KINDS[word]
        args = words[2:]
        if kind == "visitor":
            events.append(_visitor_event(time_s, args, bad))
            continue
        if len(args) != n_args:
            raise bad(f"'{word}' takes {n_args} argument(s), got {len(args)}")
        if kind in ("key", "key_release"):
            key = args[0].lower()
            if key not in KEY_NAMES:
                raise bad(f"unknown key {args[0]!r} (keys: 0-9, a-z, space, enter, escape, "
                          "quit_chord)")
            events.append(Event(time_s, kind, key=key))
        elif kind in ("click", "pointer"):
            xy = [_finite(a) for a in args]
            if None in xy:
                raise bad(f"coordinates {' '.join(args)!r} are not two numbers")
            events.append(Event(time_s, kind, x=xy[0], y=xy[1]))
        else:
            events.append(Event(time_s, kind))
    return sorted(events, key=lambda e: e.time_s)


def _visitor_event(time_s: float, args: list[str], bad) -> Event:
    """``visitor arrive`` ... ``visitor look X Y`` (X, Y in 0..1 of the camera frame)."""
    what = args[0].lower() if args else ""
    if what not in VISITOR_KEYS:
        raise bad(f"'visitor' takes one of {', '.join(VISITOR_KEYS)}, got "
                  f"{args[0] if args else 'nothing'!r}")
    rest = args[1:]
    if what != "look":
        if rest:
            raise bad(f"'visitor {what}' takes no arguments, got {len(rest)}")
        return Event(time_s, "visitor", key=what)
    xy = [_finite(a) for a in rest]
    if len(xy) != 2 or None in xy or not all(0.0 <= v <= 1.0 for v in xy):
        raise bad(f"'visitor look' takes X Y in 0..1 of the camera frame, got "
                  f"{' '.join(rest)!r}")
    return Event(time_s, "visitor", key="look", x=xy[0], y=xy[1])


def load_script(path: str | Path) -> list[Event]:
    """:func:`parse_script` on a file; a missing or unreadable file is an ``InputError``."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: events file not found") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: events file is not UTF-8 text") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read the events file ({exc.strerror})") from None
    return parse_script(text, source=str(path))


# --- microphone ------------------------------------------------------------------------------

class OnsetDetector:
    """A sudden loud sound in a stream of audio blocks.

    Per block: level = RMS in dBFS. An onset fires when the level is at least
    ``params.onset_db`` above an adaptive noise floor and at least ``params.min_level_dbfs``,
    the detector is armed, and no onset fired within the last ``params.refractory_s``
    (counted in samples, so no clock is involved). After an onset the detector re-arms only
    when the level falls back to within ``params.rearm_db`` of the floor: a sustained sound
    is one onset. The floor is an exponential moving average of the level (in dB) with time
    constant ``floor_tau_s`` for blocks below floor + onset_db, and the much slower
    ``loud_floor_tau_s`` for louder ones, so a slowly rising background lifts the floor
    while a clap barely moves it.
    """

    def __init__(self, params: MicrophoneParams, samplerate: float) -> None:
        if not samplerate > 0:
            raise ValueError(f"`samplerate` must be > 0; got {samplerate}")
        self.params = params
        self.samplerate = float(samplerate)
        self.floor_db: float | None = None  # unknown until the first block
        self.level_db = params.silence_dbfs
        self._armed = True
        self._refractory_left = 0  # samples

    def process(self, block: np.ndarray) -> bool:
        """Feed one block; True when a sudden loud sound starts in it.

        ``block``: (N,) or (N, C) float32 samples in [-1, 1] (channels are pooled).
        """
        if block.ndim not in (1, 2):
            raise ValueError(f"`block` must be (N,) or (N, C); got shape {block.shape}")
        n = block.shape[0]
        if n == 0:
            return False
        p = self.params
        mean_square = float(np.mean(np.square(block, dtype=np.float64)))
        level = 10.0 * math.log10(mean_square) if mean_square > 0 else p.silence_dbfs
        level = max(level, p.silence_dbfs)
        self.level_db = level
        self._refractory_left = max(self._refractory_left - n, 0)
        if self.floor_db is None:
            self.floor_db = level
            return False
        floor = self.floor_db
        above = level - floor
        onset = (self._armed and self._refractory_left == 0 and above >= p.onset_db
                 and level >= p.min_level_dbfs)
        if onset:
            self._armed = False
            self._refractory_left = int(round(p.refractory_s * self.samplerate))
        elif not self._armed and above <= p.rearm_db:
            self._armed = True
        tau_s = p.floor_tau_s if above < p.onset_db else p.loud_floor_tau_s
        alpha = 1.0 - math.exp(-n / (tau_s * self.samplerate)) if tau_s > 0 else 1.0
        self.floor_db = floor + alpha * (level - floor)
        return onset


class MicrophoneSource:
    """The microphone as a trigger source: an ``Event("loud")`` per sound onset.

    ``clock()`` returns the player's time in seconds; it is called from the audio thread,
    so it must be thread-safe (``time.monotonic`` offset, or a fake clock in tests).
    """

    def __init__(self, events: EventQueue, clock: Callable[[], float],
                 params: MicrophoneParams = MicrophoneParams(), *,
                 device: int | str | None = None) -> None:
        self.events = events
        self.clock = clock
        self.params = params
        self.device = device
        self.detector: OnsetDetector | None = None
        self._stream = None
        self._callback_failed = False

    def start(self) -> bool:
        """Open the default (or ``device``) input and listen; False when there is none.

        No PortAudio library, no input device or a device that refuses the stream: one
        warning ("no microphone: ... running without it") and False; the player runs on.
        """
        try:
            import sounddevice as sd
        except (ImportError, OSError) as exc:  # OSError: the PortAudio library is missing
            log.warning("no microphone: %s; running without it", exc)
            return False
        try:
            info = sd.query_devices(self.device, "input")
            samplerate = float(info["default_samplerate"])
            self.detector = OnsetDetector(self.params, samplerate)
            stream = sd.InputStream(
                device=self.device, channels=1, samplerate=samplerate, dtype="float32",
                blocksize=max(int(round(self.params.block_s * samplerate)), 1),
                callback=self._callback)
            stream.start()
        except (sd.PortAudioError, ValueError) as exc:
            log.warning("no microphone: %s; running without it", exc)
            self.detector = None
            return False
        self._stream = stream
        log.info("microphone: %s at %.0f Hz", info.get("name", "default input"), samplerate)
        return True

    def stop(self) -> None:
        """Stop listening (safe to call when not started, and twice)."""
        stream, self._stream = self._stream, None
        if stream is None:
            return
        try:
            stream.stop()
            stream.close()
        except Exception as exc:  # closing a vanished device must not crash the shutdown
            log.debug("microphone: closing failed: %s", exc)

    def _callback(self, indata, frames, time_info, status) -> None:
        """PortAudio's audio thread: detect and put, never block or raise."""
        try:
            if self.detector is not None and self.detector.process(indata):
                self.events.put(Event(float(self.clock()), "loud"))
        except Exception:  # an exception here would kill the stream; report once, go on
            if not self._callback_failed:
                self._callback_failed = True
                log.exception("microphone: onset detection failed; ignoring the microphone")
                self.detector = None


# --- idle timer ------------------------------------------------------------------------------

class IdleTimer:
    """After a quiet while, an occasional ``Event("idle")`` (a subtle reaction).

    The player calls :meth:`activity` for every trigger it receives (not for the idle events
    themselves) and :meth:`poll` once per frame. The quiet time is
    ``params.reaction_after_s`` plus a uniform jitter of ``+-params.jitter_s`` drawn from
    ``rng`` each time the timer is armed. The timer arms at the first call.
    """

    def __init__(self, params: IdleParams, rng: np.random.Generator) -> None:
        if not params.reaction_after_s > 0:
            raise ValueError("`params.reaction_after_s` must be > 0; "
                             f"got {params.reaction_after_s}")
        self.params = params
        self.rng = rng
        self.deadline_s: float | None = None

    def _arm(self, now_s: float) -> None:
        jitter = self.rng.uniform(-self.params.jitter_s, self.params.jitter_s)
        # Never sooner than a tenth of the nominal wait, whatever the jitter.
        delay = max(self.params.reaction_after_s + jitter, 0.1 * self.params.reaction_after_s)
        self.deadline_s = now_s + delay

    def activity(self, now_s: float) -> None:
        """Something happened at ``now_s``: start the quiet time again."""
        self._arm(now_s)

    def poll(self, now_s: float) -> Event | None:
        """``Event("idle")`` once the quiet time has passed (and re-arm), else None."""
        if self.deadline_s is None:
            self._arm(now_s)
            return None
        if now_s < self.deadline_s:
            return None
        self._arm(now_s)
        return Event(now_s, "idle")
