"""The reactive profile: which trigger plays which state, and how (a TOML file).

A :class:`Profile` is plain settings with built-in defaults; ``load_profile(path)`` reads a
TOML file over them (every key optional) and rejects unknown sections and keys, wrong types
and negative times with one line naming the file, section and key. State names are only
resolved at run time, against the states the player actually has: :class:`TriggerMap`
turns each :class:`~reactive.triggers.Event` into an :class:`Action`, ignoring (and
reporting once) the names that are not available.

:data:`EXAMPLE_PROFILE` is the commented example (``docs/profile.example.toml``); it states
exactly the defaults.
"""

from __future__ import annotations

import logging
import math
import string
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Sequence

from reactive.errors import InputError
from reactive.live.triggers import Event
from reactive.params import CameraParams, IdleParams, MicrophoneParams

log = logging.getLogger(__name__)

#: Keys a profile may map: digits, letters other than the reserved h (help), f (fps) and
#: q (quit), space and enter. Esc quits; in kiosk mode only Ctrl+Shift+Q ("quit_chord") does.
MAPPABLE_KEYS = frozenset(
    [*string.digits, *(set(string.ascii_lowercase) - {"h", "f", "q"}), "space", "enter"]
)
RANDOM = "random"  # key map value: a random emotion
# Times beyond these are typos (1e308 overflows the clock arithmetic): a day for waits, a
# minute for a blend between two states.
MAX_SECONDS = 86_400.0
MAX_TRANSITION_S = 60.0


@dataclass(frozen=True)
class IdleSettings:
    """[idle]: the occasional subtle reaction after a quiet while."""

    reaction_after_s: float = IdleParams.reaction_after_s
    jitter_s: float = IdleParams.jitter_s
    # States picked from at random; an empty list turns idle reactions off.
    reactions: tuple[str, ...] = ("blink", "look_left", "look_right", "nod")

    def params(self) -> IdleParams:
        return IdleParams(reaction_after_s=self.reaction_after_s, jitter_s=self.jitter_s)


@dataclass(frozen=True)
class MouseSettings:
    """[mouse]: a click plays this state ("" = nothing; missing -> the first emotion)."""

    click: str = "smile"


@dataclass(frozen=True)
class MicrophoneSettings:
    """[microphone]: a sudden loud sound plays ``state``."""

    enabled: bool = True
    state: str = "surprise"
    onset_db: float = MicrophoneParams.onset_db
    min_level_dbfs: float = MicrophoneParams.min_level_dbfs
    refractory_s: float = MicrophoneParams.refractory_s

    def params(self) -> MicrophoneParams:
        return replace(MicrophoneParams(), onset_db=self.onset_db,
                       min_level_dbfs=self.min_level_dbfs, refractory_s=self.refractory_s)


@dataclass(frozen=True)
class GazeSettings:
    """[gaze]: the eyes follow the mouse pointer."""

    enabled: bool = True


@dataclass(frozen=True)
class CameraSettings:
    """[camera]: what the visitor in front of the camera (``--camera``) triggers.

    Each event plays a state ("" = nothing). ``leave`` = "" lets the current state finish
    and the idle return."""

    arrive: str = "smile"
    leave: str = ""
    smile: str = "smile"
    surprise: str = "surprise"
    # The eyes (and a slight head turn) follow the visitor's face; the pointer when nobody
    # is seen.
    gaze: bool = True
    # The camera delivers mirrored images (some drivers do): the visitor's side flips.
    mirrored: bool = False
    smile_widen: float = CameraParams.smile_widen
    smile_corners: float = CameraParams.smile_corners
    surprise_brows: float = CameraParams.surprise_brows
    surprise_open: float = CameraParams.surprise_open
    refractory_s: float = CameraParams.refractory_s
    absence_s: float = CameraParams.absence_s
    leave_after_s: float = CameraParams.leave_after_s
    fov_deg: float = CameraParams.fov_deg
    distance_screens: float = CameraParams.distance_screens

    def params(self) -> CameraParams:
        return replace(CameraParams(), smile_widen=self.smile_widen,
                       smile_corners=self.smile_corners, surprise_brows=self.surprise_brows,
                       surprise_open=self.surprise_open, refractory_s=self.refractory_s,
                       absence_s=self.absence_s, leave_after_s=self.leave_after_s,
                       fov_deg=self.fov_deg, distance_screens=self.distance_screens)


@dataclass(frozen=True)
class HoldSettings:
    """[hold]: keys whose state stays at its peak while the key is down."""

    keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class Profile:
    """Everything a profile file sets; the defaults are the built-in profile.

    ``keys`` are the explicit key -> state entries (state name, ``"random"`` or ``""`` for
    nothing), sorted by key. Digits 1-9 not listed play the emotions in sorted name order.
    """

    transition_s: float = 0.25  # blend time between states, smoothstep
    teeth: bool = True  # false: open mouths show a dark cavity, no teeth (paintings, cartoons)
    # A clip pack or driving video whose open mouths fill the built-in clips' mouths; a
    # relative path is taken from the profile file's folder; "" = none.
    mouths: str = ""
    still_background: bool = True  # false: the whole photo is warped, background included
    keys: tuple[tuple[str, str], ...] = (("space", RANDOM),)
    hold: HoldSettings = field(default_factory=HoldSettings)
    mouse: MouseSettings = field(default_factory=MouseSettings)
    microphone: MicrophoneSettings = field(default_factory=MicrophoneSettings)
    idle: IdleSettings = field(default_factory=IdleSettings)
    gaze: GazeSettings = field(default_factory=GazeSettings)
    camera: CameraSettings = field(default_factory=CameraSettings)


# --- loading and validation ------------------------------------------------------------------

_SECTIONS = {"hold": HoldSettings, "mouse": MouseSettings, "microphone": MicrophoneSettings,
             "idle": IdleSettings, "gaze": GazeSettings, "camera": CameraSettings}
_TOP_LEVEL = ("transition_s", "teeth", "mouths", "still_background")
_TYPE_NAMES = {"float": "a number", "bool": "true or false", "str": "a string",
               "tuple[str, ...]": "a list of strings"}


class _Bad(Exception):
    """A value is wrong; the caller adds where it is."""


def _convert(value: Any, type_name: str) -> Any:
    """A TOML value as ``type_name`` (a field annotation), or _Bad."""
    ok = {
        "float": isinstance(value, (int, float)) and not isinstance(value, bool),
        "bool": isinstance(value, bool),
        "str": isinstance(value, str),
        "tuple[str, ...]": isinstance(value, list) and all(isinstance(v, str) for v in value),
    }[type_name]
    if not ok:
        raise _Bad(f"must be {_TYPE_NAMES[type_name]}, got {_toml_repr(value)}")
    if type_name == "float":
        value = float(value)
        if not math.isfinite(value):
            raise _Bad(f"must be a finite number, got {value}")
    return tuple(value) if type_name == "tuple[str, ...]" else value


def _toml_repr(value: Any) -> str:
    kind = {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
            list: "a list", dict: "a table"}.get(type(value), type(value).__name__)
    return f"{kind} ({value!r})" if not isinstance(value, (list, dict)) else kind


def _check(name: str, value: Any, settings: Any) -> None:
    """Range checks beyond the type; ``settings`` is the whole section (for relations)."""
    if name.endswith("_s") and value < 0:
        raise _Bad(f"must be >= 0 seconds, got {value}")
    limit = MAX_TRANSITION_S if name == "transition_s" else MAX_SECONDS
    if name.endswith("_s") and value > limit:
        raise _Bad(f"must be at most {limit:g} seconds, got {value:g}")
    if name == "reaction_after_s" and value == 0:
        raise _Bad("must be > 0 seconds (an empty reactions list turns idle reactions off)")
    if name == "jitter_s" and value > settings.reaction_after_s:
        raise _Bad(f"must not exceed reaction_after_s ({settings.reaction_after_s})")
    if name == "onset_db" and value <= 0:
        raise _Bad(f"must be > 0 dB, got {value}")
    if name == "min_level_dbfs" and value > 0:
        raise _Bad(f"must be <= 0 dBFS (0 is full scale), got {value}")
    if name in ("smile_widen", "smile_corners", "surprise_brows", "surprise_open",
                "distance_screens") and not 0 < value <= 10:
        raise _Bad(f"must be > 0 (and at most 10), got {value}")
    if name == "fov_deg" and not 10 <= value <= 170:
        raise _Bad(f"must be 10-170 degrees, got {value}")
    if name == "reactions" and "" in value:
        raise _Bad("state names must not be empty")
    if name == "keys" and isinstance(settings, HoldSettings):
        for key in value:
            if key not in MAPPABLE_KEYS:
                raise _Bad(f"{key!r} is not a mappable key ({_KEYS_HELP})")


_KEYS_HELP = "0-9, a-z except h f q, space, enter"


def _settings(cls: type, table: dict[str, Any], where: str, *, names: Sequence[str] = ()) -> Any:
    """``cls()`` with the entries of ``table`` (only the fields in ``names`` if given)."""
    types = {f.name: f.type for f in fields(cls) if not names or f.name in names}
    values = {}
    for name, value in table.items():
        if name not in types:
            raise _Bad(f"{where}{name}: unknown key; expected one of {', '.join(types)}")
        try:
            values[name] = _convert(value, types[name])
        except _Bad as exc:
            raise _Bad(f"{where}{name}: {exc}") from None
    settings = replace(cls(), **values)
    for name in values:
        try:
            _check(name, values[name], settings)
        except _Bad as exc:
            raise _Bad(f"{where}{name}: {exc}") from None
    return settings


def _key_map(table: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(table, dict):
        raise _Bad(f"keys: must be a table [keys], got {_toml_repr(table)}")
    entries = dict(Profile().keys)
    for key, state in table.items():
        if key not in MAPPABLE_KEYS:
            raise _Bad(f"[keys] {key}: not a mappable key; expected {_KEYS_HELP}")
        if not isinstance(state, str):
            raise _Bad(f"[keys] {key}: must be a state name, \"random\" or \"\", "
                       f"got {_toml_repr(state)}")
        entries[key] = state
    return tuple(sorted(entries.items()))


def parse_profile(text: str, *, source: str) -> Profile:
    """A :class:`Profile` from TOML text; ``source`` names it in errors.

    Raises ``InputError("SOURCE: [section] key: what is wrong")``.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{source}: not valid TOML: {exc}") from None
    try:
        profile = _settings(Profile, {k: v for k, v in data.items() if k in _TOP_LEVEL}, "",
                            names=_TOP_LEVEL)
        sections = {}
        for name, table in data.items():
            if name in _TOP_LEVEL:
                continue
            if name == "keys":
                sections["keys"] = _key_map(table)
            elif name in _SECTIONS:
                if not isinstance(table, dict):
                    raise _Bad(f"{name}: must be a table [{name}], got {_toml_repr(table)}")
                sections[name] = _settings(_SECTIONS[name], table, f"[{name}] ")
            else:
                what = f"[{name}]: unknown section" if isinstance(table, dict) else \
                    f"{name}: unknown key"
                known = [*_TOP_LEVEL, *(f"[{s}]" for s in ("keys", *_SECTIONS))]
                raise _Bad(f"{what}; expected one of {', '.join(known)}")
        profile = replace(profile, **sections)
        key_map = dict(profile.keys)
        for key in profile.hold.keys:
            if key_map.get(key) == RANDOM:
                raise _Bad(f"[hold] keys: {key!r} plays a random emotion; a held key needs "
                           "one state")
    except _Bad as exc:
        raise InputError(f"{source}: {exc}") from None
    return profile


def load_profile(path: str | Path) -> Profile:
    """:func:`parse_profile` on a file; a missing or unreadable file is an ``InputError``."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: profile file not found") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: profile is not UTF-8 text") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read the profile ({exc.strerror})") from None
    profile = parse_profile(text, source=str(path))
    if profile.mouths and not Path(profile.mouths).is_absolute():
        profile = replace(profile, mouths=str(path.parent / profile.mouths))
    return profile


# --- events -> actions -----------------------------------------------------------------------

ACTION_KINDS = ("play", "random", "release", "toggle_help", "toggle_fps", "quit", "pointer",
                "look", "leave")


@dataclass(frozen=True)
class Action:
    """What the player should do about one event.

    - ``play``: blend to ``state``; with ``hold``, stay at its peak until a ``release``.
    - ``random``: play one of ``choices`` (the player picks, e.g. not the current one).
    - ``release``: a held key went up; let ``state`` finish and return to idle.
    - ``toggle_help``, ``toggle_fps``, ``quit``: the window's business.
    - ``pointer``: the pointer is at ``(x, y)`` in photo pixels (gaze).
    - ``look``: the visitor's face is at ``(x, y)`` in 0..1 of the camera frame (gaze).
    - ``leave``: the visitor left: play ``state`` if any; the gaze returns to the pointer.
    """

    kind: str
    state: str = ""
    choices: tuple[str, ...] = ()
    hold: bool = False
    x: float = 0.0
    y: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in ACTION_KINDS:
            raise ValueError(f"`kind` must be one of {', '.join(ACTION_KINDS)}; got {self.kind!r}")


class TriggerMap:
    """A profile resolved against the states the player has: events -> actions.

    ``states``: every state name available (clip tags / file stems). Emotions are those not
    starting with "idle" and not among the profile's idle reactions, in sorted order; keys
    1-9 play them unless the profile maps the digit itself. Names in the profile that are
    not available are ignored, with one warning listing them all. ``kiosk``: plain Esc and
    Q do not quit; only the window's "quit_chord" key (Ctrl+Shift+Q) does.
    """

    def __init__(self, profile: Profile, states: Sequence[str], *, kiosk: bool = False) -> None:
        self.profile = profile
        self.kiosk = kiosk
        available = set(states)
        reactions = set(profile.idle.reactions)
        self.emotions: tuple[str, ...] = tuple(sorted(
            s for s in available if not s.startswith("idle") and s not in reactions))
        missing: set[str] = set()

        def usable(name: str) -> bool:
            if name and name not in available:
                missing.add(name)
            return bool(name) and name in available

        keys = {str(i + 1): s for i, s in enumerate(self.emotions[:9])}
        for key, state in profile.keys:
            keys.pop(key, None)
            if state == RANDOM or usable(state):
                keys[key] = state
        #: key -> state name or "random", as resolved (for the help overlay too)
        self.keys: dict[str, str] = dict(sorted(keys.items()))
        self.hold_keys = frozenset(
            k for k in profile.hold.keys if self.keys.get(k, RANDOM) != RANDOM)

        click = profile.mouse.click
        fallback = self.emotions[0] if click and self.emotions else ""
        self.click_state = click if usable(click) else fallback
        mic = profile.microphone
        self.loud_state = mic.state if mic.enabled and usable(mic.state) else ""
        self.idle_reactions = tuple(r for r in profile.idle.reactions if usable(r))
        cam = profile.camera
        #: visitor event -> state ("" = nothing)
        self.visitor_states = {what: state if usable(state) else ""
                               for what, state in (("arrive", cam.arrive), ("leave", cam.leave),
                                                   ("smile", cam.smile),
                                                   ("surprise", cam.surprise))}
        # Names the user chose are worth a warning; the built-in ones (say "blink" without
        # a blink clip) are the normal case and only noted.
        defaults = Profile()
        builtin = {defaults.mouse.click, defaults.microphone.state, *defaults.idle.reactions,
                   defaults.camera.arrive, defaults.camera.smile, defaults.camera.surprise}
        for level, names in ((logging.WARNING, missing - builtin),
                             (logging.INFO, missing & builtin)):
            if names:
                log.log(level, "profile: states not available, ignored: %s (available: %s)",
                        ", ".join(sorted(names)), ", ".join(sorted(available)) or "none")

    def action_for(self, event: Event) -> Action | None:
        """The action for ``event``, or None when it does nothing."""
        if event.kind == "key":
            return self._key(event.key)
        if event.kind == "key_release":
            if event.key in self.hold_keys:
                return Action("release", state=self.keys[event.key])
            return None
        if event.kind == "click":
            return Action("play", state=self.click_state) if self.click_state else None
        if event.kind == "pointer":
            return Action("pointer", x=event.x, y=event.y) if self.profile.gaze.enabled else None
        if event.kind == "loud":
            return Action("play", state=self.loud_state) if self.loud_state else None
        if event.kind == "idle":
            return Action("random", choices=self.idle_reactions) if self.idle_reactions else None
        if event.kind == "visitor":
            if event.key == "look":
                return Action("look", x=event.x, y=event.y) if self.profile.camera.gaze \
                    else None
            if event.key == "leave":
                return Action("leave", state=self.visitor_states["leave"])
            state = self.visitor_states.get(event.key, "")
            return Action("play", state=state) if state else None
        return None

    def _key(self, key: str) -> Action | None:
        if key == "quit_chord" or (key in ("escape", "q") and not self.kiosk):
            return Action("quit")
        if key == "h":
            return Action("toggle_help")
        if key == "f":
            return Action("toggle_fps")
        state = self.keys.get(key)
        if state == RANDOM:
            return Action("random", choices=self.emotions) if self.emotions else None
        if state:
            return Action("play", state=state, hold=key in self.hold_keys)
        return None

    def help_lines(self) -> list[str]:
        """One line per binding, for the help overlay."""
        quit_keys = "Ctrl+Shift+Q" if self.kiosk else "Esc / Q"
        names = {"space": "Space", "enter": "Enter"}
        lines = [f"{names.get(k, k.upper())}  {'random emotion' if s == RANDOM else s}"
                 + ("  (hold)" if k in self.hold_keys else "") for k, s in self.keys.items()]
        if self.click_state:
            lines.append(f"click  {self.click_state}")
        if self.loud_state:
            lines.append(f"loud sound  {self.loud_state}")
        return [*lines, "H  help", "F  frame rate", f"{quit_keys}  quit"]


EXAMPLE_PROFILE = '''\
# Reactive portrait profile (TOML). Every key is optional; the values below are the
# built-in defaults. Load with: python demo.py PHOTO --profile this.toml
#
# State names are clip names: a clip pack's tag, or a driving video's file stem
# (happy.mp4 -> "happy"). Clips whose name starts with "idle" are idle loops; the others
# (except the idle reactions below) are the emotions. Names that are not available are
# ignored, with one warning at start.

# Seconds to blend from one state into the next (smoothstep); 0 cuts.
transition_s = 0.25
# Teeth in open mouths; false shows a dark, softly shaded cavity instead (paintings,
# cartoons, emoji-like avatars).
teeth = true
# Real mouths for the built-in clips: a clip pack (.npz) or driving video whose open mouths
# (teeth, tongue) are shown, each frame the one shaped most like the clip's; relative to
# this file's folder. "" = the open mouths of the filmed clips given with --clips, else a
# mouth drawn in the photo's colours. (--mouths PATH on the command line wins.)
mouths = ""
# The person moves over a still background (found by a person segmentation; a photo where
# none is found, or nearly no background is seen, is warped whole anyway); false warps
# the whole photo, background included, as the paper does.
still_background = true

[keys]
# key = "state", "random" (a random emotion) or "" (nothing).
# Keys: "0".."9", "a".."z" except h (help), f (frame rate) and q (quit), "space", "enter".
# Digits 1-9 not listed here play the emotions in sorted name order: 1 the first, ...
# Esc and Q quit; in kiosk mode (--kiosk) only Ctrl+Shift+Q does.
space = "random"
# "1" = "smile"

[hold]
# Keys whose state stays at its peak while the key is down, back to idle when released.
keys = []

[mouse]
# A click plays this state ("" = nothing; if it is not available, the first emotion).
click = "smile"

[microphone]
# A sudden loud sound (a clap, a shout) plays this state.
enabled = true
state = "surprise"
# How far above the room's adaptive noise floor a sound must jump, in dB ...
onset_db = 20.0
# ... and how loud it must be at least, in dBFS (RMS; 0 is full scale).
min_level_dbfs = -40.0
# Seconds after one onset during which no other counts.
refractory_s = 1.0

[idle]
# After this many quiet seconds (give or take jitter_s), a subtle reaction.
reaction_after_s = 20.0
jitter_s = 8.0
# Picked at random; [] turns idle reactions off.
reactions = ["blink", "look_left", "look_right", "nod"]

[gaze]
# The eyes follow the mouse pointer.
enabled = true

[camera]
# With --camera: the visitor in front of the camera triggers states ("" = nothing).
# A face appears after an absence of absence_s seconds (a greeting) ...
arrive = "smile"
# ... and is gone for leave_after_s seconds ("" = the idle returns).
leave = ""
# The visitor smiles (the portrait smiles back), or looks surprised (brows up, mouth open
# suddenly); each at most once per refractory_s seconds.
smile = "smile"
surprise = "surprise"
# The eyes and a slight head turn follow the visitor's face (the pointer when nobody is
# seen), as if the camera sat at the top centre of the screen.
gaze = true
# The camera delivers mirrored images (the visitor's left and right swapped).
mirrored = false
# Smile: the mouth this much wider than the visitor's own rest face (fraction of its
# width) and the lip corners raised by smile_corners of the mouth width; both must hold.
smile_widen = 0.15
smile_corners = 0.04
# Surprise: brows raised by this fraction of their rest height, mouth opened this wide
# (inner-lip gap over mouth width).
surprise_brows = 0.1
surprise_open = 0.25
refractory_s = 4.0
absence_s = 3.0
leave_after_s = 1.5
# The camera's horizontal field of view, and how far the visitor stands (screen heights).
fov_deg = 60.0
distance_screens = 2.0
'''
