"""The TOML profile: defaults, loading, one-line errors, and events -> actions."""

from __future__ import annotations

import logging
import re
import tomllib
from dataclasses import fields, replace

import pytest

from reactive.errors import InputError
from reactive.live.profile import (
    EXAMPLE_PROFILE,
    Action,
    CameraSettings,
    GazeSettings,
    HoldSettings,
    IdleSettings,
    MicrophoneSettings,
    MouseSettings,
    Profile,
    TriggerMap,
    load_profile,
    parse_profile,
)
from reactive.live.triggers import Event
from reactive.params import CameraParams, IdleParams, MicrophoneParams

STATES = ["idle", "idle_2", "smile", "surprise", "frown", "blink", "disgust"]
EMOTIONS = ("disgust", "frown", "smile", "surprise")  # sorted; idle* and reactions left out


def key(name: str) -> Event:
    return Event(0.0, "key", key=name)


# --- defaults and loading --------------------------------------------------------------------

def test_example_profile_loads_and_states_exactly_the_defaults(tmp_path):
    path = tmp_path / "profile.toml"
    path.write_text(EXAMPLE_PROFILE)
    assert load_profile(path) == Profile()
    # Every section and key is in the example, so it documents them all.
    data = tomllib.loads(EXAMPLE_PROFILE)
    assert set(data) == {"transition_s", "teeth", "mouths", "still_background", "keys",
                         "hold", "mouse", "microphone", "idle", "gaze", "camera"}
    assert set(data["microphone"]) == {"enabled", "state", "onset_db", "min_level_dbfs",
                                       "refractory_s"}
    assert set(data["camera"]) == {f.name for f in fields(CameraSettings)}


def test_camera_section_maps_visitor_events_and_checks_values():
    profile = parse_profile('[camera]\narrive = "laugh"\nleave = "sad"\nsmile = ""\n'
                            "gaze = false\nsmile_widen = 0.2\n", source="p.toml")
    assert profile.camera.params().smile_widen == 0.2
    assert Profile().camera.params() == CameraParams()
    tmap = TriggerMap(profile, ["idle", "laugh", "sad", "smile", "surprise"])
    assert tmap.action_for(Event(0, "visitor", key="arrive")) == Action("play", state="laugh")
    assert tmap.action_for(Event(0, "visitor", key="leave")) == Action("leave", state="sad")
    assert tmap.action_for(Event(0, "visitor", key="smile")) is None
    assert tmap.action_for(Event(0, "visitor", key="surprise")) == \
        Action("play", state="surprise")
    assert tmap.action_for(Event(0, "visitor", key="look", x=0.1, y=0.2)) is None  # gaze off
    assert TriggerMap(Profile(), ["smile"]).action_for(
        Event(0, "visitor", key="look", x=0.1, y=0.2)) == Action("look", x=0.1, y=0.2)
    for bad, what in (("fov_deg = 5", "fov_deg: must be 10-170"),
                      ("smile_widen = -1", "smile_widen: must be > 0"),
                      ("refractory_s = -2", "refractory_s: must be >= 0"),
                      ("gaze = 1", "gaze: must be true or false"),
                      ("wink = \"x\"", "wink: unknown key")):
        with pytest.raises(InputError, match=f"p.toml: \\[camera\\] {what}"):
            parse_profile(f"[camera]\n{bad}\n", source="p.toml")


def test_defaults_are_sensible_and_params_come_from_params_py():
    profile = Profile()
    assert profile.transition_s == 0.25 and profile.teeth and profile.gaze.enabled
    assert profile.mouse.click == "smile" and profile.microphone.state == "surprise"
    assert profile.idle.params() == IdleParams()
    assert profile.microphone.params() == MicrophoneParams()
    assert parse_profile("", source="p.toml") == profile


def test_values_override_the_defaults():
    profile = parse_profile("""
        transition_s = 0.4
        teeth = false
        [keys]
        1 = "frown"
        2 = ""
        space = "smile"
        x = "random"
        [hold]
        keys = ["1"]
        [mouse]
        click = "surprise"
        [microphone]
        enabled = false
        onset_db = 12       # an integer is a number too
        refractory_s = 2.5
        [idle]
        reaction_after_s = 30
        jitter_s = 0
        reactions = []
        [gaze]
        enabled = false
    """, source="p.toml")
    assert profile == Profile(
        transition_s=0.4, teeth=False,
        keys=(("1", "frown"), ("2", ""), ("space", "smile"), ("x", "random")),
        hold=HoldSettings(keys=("1",)), mouse=MouseSettings(click="surprise"),
        microphone=MicrophoneSettings(enabled=False, onset_db=12.0, refractory_s=2.5),
        idle=IdleSettings(reaction_after_s=30.0, jitter_s=0.0, reactions=()),
        gaze=GazeSettings(enabled=False))
    assert isinstance(profile.microphone.onset_db, float)
    assert profile.microphone.params() == replace(MicrophoneParams(), onset_db=12.0,
                                                  refractory_s=2.5)


@pytest.mark.parametrize("text, message", [
    ("[sound]\non = true", r"\[sound\]: unknown section; expected one of transition_s, teeth, "
                           r"mouths, still_background, \[keys\]"),
    ("transitions = 1", r"transitions: unknown key; expected one of"),
    ("[idle]\nafter_s = 3", r"\[idle\] after_s: unknown key; expected one of reaction_after_s, "
                            r"jitter_s, reactions"),
    ("transition_s = 'fast'", r"transition_s: must be a number, got a string \('fast'\)"),
    ("transition_s = -0.1", r"transition_s: must be >= 0 seconds, got -0.1"),
    ("transition_s = inf", r"transition_s: must be a finite number"),
    ("teeth = 1", r"teeth: must be true or false, got an integer \(1\)"),
    ("[microphone]\nonset_db = true", r"\[microphone\] onset_db: must be a number, got a boolean"),
    ("[microphone]\nrefractory_s = -1", r"\[microphone\] refractory_s: must be >= 0 seconds"),
    ("[microphone]\nonset_db = 0", r"\[microphone\] onset_db: must be > 0 dB"),
    ("[microphone]\nmin_level_dbfs = 3", r"\[microphone\] min_level_dbfs: must be <= 0 dBFS"),
    ("[microphone]\nstate = 5", r"\[microphone\] state: must be a string"),
    ("[idle]\nreaction_after_s = -2", r"\[idle\] reaction_after_s: must be >= 0 seconds"),
    ("[idle]\nreaction_after_s = 0", r"\[idle\] reaction_after_s: must be > 0 seconds"),
    ("[idle]\nreaction_after_s = 5\njitter_s = 6",
     r"\[idle\] jitter_s: must not exceed reaction_after_s \(5.0\)"),
    ("[idle]\nreactions = 'blink'", r"\[idle\] reactions: must be a list of strings"),
    ("[idle]\nreactions = ['blink', 3]", r"\[idle\] reactions: must be a list of strings"),
    ("[idle]\nreactions = ['']", r"\[idle\] reactions: state names must not be empty"),
    ("idle = 3", r"idle: must be a table \[idle\]"),
    ("[keys]\nh = 'smile'", r"\[keys\] h: not a mappable key; expected 0-9, a-z except h f q"),
    ("[keys]\nF1 = 'smile'", r"\[keys\] F1: not a mappable key"),
    ("[keys]\n1 = 2", r"\[keys\] 1: must be a state name, \"random\" or \"\", got an integer"),
    ("[keys]\n1 = ['smile']", r"\[keys\] 1: must be a state name"),
    ("[hold]\nkeys = ['escape']", r"\[hold\] keys: 'escape' is not a mappable key"),
    ("[hold]\nkeys = ['space']", r"\[hold\] keys: 'space' plays a random emotion"),
    ("transition_s = ", r"not valid TOML: "),
])
def test_bad_profiles_are_one_line_errors_naming_file_section_and_key(text, message):
    with pytest.raises(InputError) as info:
        parse_profile(text, source="my.toml")
    assert "\n" not in str(info.value)
    assert str(info.value).startswith("my.toml: ")
    assert re.search("^my.toml: " + message, str(info.value)), str(info.value)


def test_load_profile_names_a_missing_or_binary_file(tmp_path):
    with pytest.raises(InputError, match=r"none\.toml: profile file not found"):
        load_profile(tmp_path / "none.toml")
    bad = tmp_path / "bad.toml"
    bad.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(InputError, match=r"bad\.toml: profile is not UTF-8"):
        load_profile(bad)
    bad.write_text("[idle]\nreaction_after_s = -1\n")
    with pytest.raises(InputError, match=r"bad\.toml: \[idle\] reaction_after_s: must be >= 0"):
        load_profile(bad)


# --- events -> actions -----------------------------------------------------------------------

def test_digits_play_the_emotions_in_sorted_order():
    triggers = TriggerMap(Profile(), STATES)
    assert triggers.emotions == EMOTIONS
    assert [triggers.action_for(key(str(i))) for i in range(1, 6)] == [
        Action("play", state=s) for s in EMOTIONS] + [None]
    assert triggers.action_for(key("0")) is None
    many = TriggerMap(Profile(), [f"e{i:02d}" for i in range(12)])
    assert many.action_for(key("9")) == Action("play", state="e08")
    assert many.action_for(key("0")) is None


def test_space_is_a_random_emotion_and_h_f_esc_q_are_the_window_keys():
    triggers = TriggerMap(Profile(), STATES)
    assert triggers.action_for(key("space")) == Action("random", choices=EMOTIONS)
    assert triggers.action_for(key("h")) == Action("toggle_help")
    assert triggers.action_for(key("f")) == Action("toggle_fps")
    assert triggers.action_for(key("escape")) == Action("quit")
    assert triggers.action_for(key("q")) == Action("quit")
    assert triggers.action_for(key("quit_chord")) == Action("quit")
    assert triggers.action_for(key("z")) is None
    assert triggers.action_for(Event(0.0, "key_release", key="1")) is None


def test_kiosk_mode_quits_only_on_the_chord():
    triggers = TriggerMap(Profile(), STATES, kiosk=True)
    assert triggers.action_for(key("escape")) is None
    assert triggers.action_for(key("q")) is None
    assert triggers.action_for(key("quit_chord")) == Action("quit")
    assert "Ctrl+Shift+Q  quit" in triggers.help_lines()


def test_profile_keys_override_single_digits_and_hold_keys_release():
    profile = parse_profile("""
        [keys]
        1 = "surprise"
        2 = ""
        s = "smile"
        space = ""
        [hold]
        keys = ["1", "s", "3"]
    """, source="p.toml")
    triggers = TriggerMap(profile, STATES)
    assert triggers.keys == {"1": "surprise", "3": "smile", "4": "surprise", "s": "smile"}
    assert triggers.action_for(key("1")) == Action("play", state="surprise", hold=True)
    assert triggers.action_for(key("2")) is None
    assert triggers.action_for(key("space")) is None
    assert triggers.action_for(key("4")) == Action("play", state="surprise")
    release = Event(1.0, "key_release", key="s")
    assert triggers.action_for(release) == Action("release", state="smile")
    assert triggers.action_for(Event(1.0, "key_release", key="4")) is None


def test_click_pointer_loud_and_idle():
    triggers = TriggerMap(Profile(), STATES)
    assert triggers.action_for(Event(0.0, "click", x=3, y=4)) == Action("play", state="smile")
    assert triggers.action_for(Event(0.0, "pointer", x=3.5, y=4.0)) == Action(
        "pointer", x=3.5, y=4.0)
    assert triggers.action_for(Event(0.0, "loud")) == Action("play", state="surprise")
    # Only the reactions that exist: "blink" here.
    assert triggers.action_for(Event(0.0, "idle")) == Action("random", choices=("blink",))


def test_switched_off_sources_do_nothing():
    profile = parse_profile("[microphone]\nenabled = false\n[gaze]\nenabled = false\n"
                            "[mouse]\nclick = ''\n[idle]\nreactions = []\n", source="p.toml")
    triggers = TriggerMap(profile, STATES)
    for kind in ("loud", "pointer", "click", "idle"):
        assert triggers.action_for(Event(0.0, kind)) is None


def test_missing_click_state_falls_back_to_the_first_emotion():
    triggers = TriggerMap(Profile(), ["idle", "surprise", "frown"])
    assert triggers.action_for(Event(0.0, "click")) == Action("play", state="frown")
    assert TriggerMap(Profile(), ["idle"]).action_for(Event(0.0, "click")) is None
    assert TriggerMap(Profile(), ["idle"]).action_for(key("space")) is None


def test_unavailable_names_are_ignored_and_reported_once(caplog):
    profile = parse_profile("""
        [keys]
        1 = "grin"
        [microphone]
        state = "shock"
    """, source="p.toml")
    with caplog.at_level(logging.INFO, logger="reactive.live.profile"):
        triggers = TriggerMap(profile, ["idle", "smile"])
        for event in (key("1"), Event(0.0, "loud"), Event(0.0, "idle"), key("1")):
            assert triggers.action_for(event) is None
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == ["profile: states not available, ignored: grin, shock "
                        "(available: idle, smile)"]
    # The built-in idle reactions without clips are only noted, not warned about.
    infos = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert len(infos) == 1 and "blink, look_left, look_right, nod" in infos[0]


def test_help_lines_list_the_bindings():
    lines = TriggerMap(Profile(), STATES).help_lines()
    assert lines[:4] == ["1  disgust", "2  frown", "3  smile", "4  surprise"]
    assert "Space  random emotion" in lines and "Esc / Q  quit" in lines
    assert "loud sound  surprise" in lines and "click  smile" in lines


def test_action_rejects_unknown_kind():
    with pytest.raises(ValueError, match="`kind` must be one of play, .*got 'dance'"):
        Action("dance")
