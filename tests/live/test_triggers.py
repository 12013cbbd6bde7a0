"""Trigger sources without hardware: synthesized audio blocks, fake clocks, scripted events."""

from __future__ import annotations

import builtins
import logging
import sys
import threading
import types
from dataclasses import replace

import numpy as np
import pytest

from reactive.errors import InputError
from reactive.live.triggers import (
    Event,
    EventQueue,
    IdleTimer,
    MicrophoneSource,
    OnsetDetector,
    load_script,
    parse_script,
)
from reactive.params import IdleParams, MicrophoneParams

SR = 16000
BLOCK = 160  # 10 ms


def noise(seconds: float, dbfs: float, rng: np.random.Generator) -> np.ndarray:
    """White noise whose RMS is ``dbfs``."""
    return (rng.standard_normal(int(seconds * SR)) * 10 ** (dbfs / 20)).astype(np.float32)


def clap(dbfs: float = -10.0, seconds: float = 0.08, *, seed: int = 1) -> np.ndarray:
    """A burst of noise with a sharp attack and a 15 ms exponential decay."""
    t = np.arange(int(seconds * SR)) / SR
    burst = np.random.default_rng(seed).standard_normal(t.size) * np.exp(-t / 0.015)
    return (burst * 10 ** (dbfs / 20) / np.sqrt(np.mean(burst[:BLOCK] ** 2))).astype(np.float32)


def add_at(signal: np.ndarray, sound: np.ndarray, at_s: float) -> np.ndarray:
    out = signal.copy()
    i = int(at_s * SR)
    out[i:i + sound.size] += sound[: out.size - i]
    return np.clip(out, -1, 1)


def onset_times(signal: np.ndarray, params: MicrophoneParams = MicrophoneParams(), *,
                block: int = BLOCK, samplerate: int = SR) -> list[float]:
    """Start times (s) of the blocks where the detector fires."""
    detector = OnsetDetector(params, samplerate)
    return [i / samplerate for i in range(0, signal.shape[0] - block + 1, block)
            if detector.process(signal[i:i + block])]


# --- onset detector --------------------------------------------------------------------------

def test_clap_over_room_noise_is_exactly_one_onset_at_its_start():
    rng = np.random.default_rng(0)
    signal = add_at(noise(4.0, -60, rng), clap(), 1.5)
    assert onset_times(signal) == [pytest.approx(1.5)]


def test_a_loud_sound_barely_moves_the_noise_floor():
    # Half a second of shouting 45 dB over the room: the floor, read right after it, stays
    # within a dB (following it at floor_tau_s would lift it by about 10 dB).
    rng = np.random.default_rng(0)
    signal = np.concatenate([noise(1.5, -60, rng), noise(0.5, -15, rng)])
    detector = OnsetDetector(MicrophoneParams(), SR)
    fired = [detector.process(signal[i:i + BLOCK]) for i in range(0, signal.size, BLOCK)]
    assert sum(fired) == 1
    assert abs(detector.floor_db - (-60)) < 1.0


def test_sustained_loud_tone_is_one_onset_however_long():
    rng = np.random.default_rng(0)
    t = np.arange(int(90 * SR)) / SR
    tone = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)  # about -9 dBFS, 90 s long
    signal = np.concatenate([noise(2.0, -60, rng), tone + noise(90, -60, rng)])
    assert onset_times(signal) == [pytest.approx(2.0)]


def test_sustained_music_becomes_the_floor_so_a_clap_over_it_counts():
    rng = np.random.default_rng(0)
    music = noise(120, -35, rng)
    signal = np.concatenate([noise(2.0, -70, rng), add_at(music, clap(-5), 115.0)])
    onsets = onset_times(signal)
    assert onsets == [pytest.approx(2.0), pytest.approx(117.0)]


def test_slowly_rising_background_raises_the_floor_and_never_triggers():
    rng = np.random.default_rng(0)
    seconds = 20.0
    ramp_db = np.linspace(-60, -10, int(seconds * SR))  # 2.5 dB/s, through min_level_dbfs
    signal = (rng.standard_normal(ramp_db.size) * 10 ** (ramp_db / 20)).astype(np.float32)
    detector = OnsetDetector(MicrophoneParams(), SR)
    fired = [detector.process(signal[i:i + BLOCK]) for i in range(0, signal.size, BLOCK)]
    assert not any(fired)
    assert detector.floor_db > -20  # it followed the background up


def test_a_fast_ramp_does_trigger():
    # The same rise in 0.2 s is sudden: the test above passes for the right reason.
    rng = np.random.default_rng(0)
    ramp_db = np.concatenate([np.full(2 * SR, -60.0), np.linspace(-60, -10, int(0.2 * SR)),
                              np.full(2 * SR, -10.0)])
    signal = (rng.standard_normal(ramp_db.size) * 10 ** (ramp_db / 20)).astype(np.float32)
    assert len(onset_times(signal)) == 1


@pytest.mark.parametrize("gap_s, expected", [(0.3, 1), (0.9, 1), (1.2, 2), (3.0, 2)])
def test_refractory_time_counts_samples(gap_s, expected):
    rng = np.random.default_rng(0)
    signal = add_at(add_at(noise(6.0, -60, rng), clap(), 1.0), clap(seed=2), 1.0 + gap_s)
    # The same answer whatever the block size (441 samples at 44.1 kHz is 10 ms too).
    assert len(onset_times(signal)) == expected
    resampled = np.repeat(signal, 3)  # 48 kHz, blocks of 480 and of 1024
    assert len(onset_times(resampled, block=480, samplerate=3 * SR)) == expected
    assert len(onset_times(resampled, block=1024, samplerate=3 * SR)) == expected


def test_refractory_comes_from_params():
    rng = np.random.default_rng(0)
    signal = add_at(add_at(noise(6.0, -60, rng), clap(), 1.0), clap(seed=2), 1.3)
    assert len(onset_times(signal, replace(MicrophoneParams(), refractory_s=0.2))) == 2


def test_stereo_blocks_give_the_same_onsets():
    rng = np.random.default_rng(0)
    left = add_at(noise(4.0, -60, rng), clap(), 1.5)
    right = add_at(noise(4.0, -60, rng), clap(seed=3), 1.5)
    stereo = np.stack([left, right], axis=1)
    assert stereo.shape == (4 * SR, 2)
    assert onset_times(stereo) == [pytest.approx(1.5)]


def test_jump_smaller_than_onset_db_does_not_trigger():
    rng = np.random.default_rng(0)
    talk = noise(1.0, -35, rng)  # 15 dB over the floor: talking nearby
    signal = np.concatenate([noise(2.0, -50, rng), talk, noise(2.0, -50, rng)])
    assert onset_times(signal) == []
    assert onset_times(signal, replace(MicrophoneParams(), onset_db=10)) == [pytest.approx(2.0)]


def test_quiet_sound_in_a_silent_room_stays_under_min_level():
    rng = np.random.default_rng(0)
    signal = add_at(noise(3.0, -100, rng), clap(-50), 1.0)  # 50 dB jump, but at -50 dBFS
    assert onset_times(signal) == []
    assert len(onset_times(signal, replace(MicrophoneParams(), min_level_dbfs=-60))) == 1


def test_digital_silence_keeps_the_floor_finite():
    signal = add_at(np.zeros(3 * SR, np.float32), clap(), 1.0)
    detector = OnsetDetector(MicrophoneParams(), SR)
    fired = [detector.process(signal[i:i + BLOCK]) for i in range(0, signal.size, BLOCK)]
    assert sum(fired) == 1 and np.isfinite(detector.floor_db)


def test_detector_rejects_bad_arguments():
    with pytest.raises(ValueError, match="samplerate"):
        OnsetDetector(MicrophoneParams(), 0)
    detector = OnsetDetector(MicrophoneParams(), SR)
    with pytest.raises(ValueError, match=r"`block` must be \(N,\) or \(N, C\); got shape"):
        detector.process(np.zeros((4, 2, 2), np.float32))
    assert detector.process(np.zeros(0, np.float32)) is False


# --- microphone source -----------------------------------------------------------------------

class FakeStream:
    def __init__(self, **kwargs):
        self.kwargs = kwargs
        self.started = self.stopped = self.closed = False

    def start(self):
        self.started = True

    def stop(self):
        self.stopped = True

    def close(self):
        self.closed = True


class FakePortAudioError(Exception):
    pass


def fake_sounddevice(monkeypatch, *, query=None, stream=FakeStream):
    streams = []

    def input_stream(**kwargs):
        streams.append(stream(**kwargs))
        return streams[-1]

    def query_devices(device=None, kind=None):
        if query is not None:
            raise query
        return {"name": "fake mic", "default_samplerate": 48000.0}

    module = types.SimpleNamespace(PortAudioError=FakePortAudioError, InputStream=input_stream,
                                   query_devices=query_devices)
    monkeypatch.setitem(sys.modules, "sounddevice", module)
    return streams


def no_microphone_warnings(caplog):
    return [r for r in caplog.records
            if r.levelno == logging.WARNING and "no microphone" in r.getMessage()]


@pytest.mark.parametrize("error", [FakePortAudioError("Error querying device -1"),
                                   ValueError("No input device matching")])
def test_start_without_input_device_warns_once_and_returns_false(monkeypatch, caplog, error):
    fake_sounddevice(monkeypatch, query=error)
    source = MicrophoneSource(EventQueue(), lambda: 0.0, MicrophoneParams())
    with caplog.at_level(logging.WARNING):
        assert source.start() is False
    warnings = no_microphone_warnings(caplog)
    assert len(warnings) == 1 and "running without it" in warnings[0].getMessage()
    source.stop()  # harmless


def test_start_when_the_stream_refuses_warns_once(monkeypatch, caplog):
    def refusing(**kwargs):
        raise FakePortAudioError("Invalid sample rate")

    fake_sounddevice(monkeypatch, stream=refusing)
    with caplog.at_level(logging.WARNING):
        assert MicrophoneSource(EventQueue(), lambda: 0.0).start() is False
    assert len(no_microphone_warnings(caplog)) == 1


def test_start_without_portaudio_library_warns_once(monkeypatch, caplog):
    real_import = builtins.__import__

    def importer(name, *args, **kwargs):
        if name == "sounddevice":
            raise OSError("PortAudio library not found")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", importer)
    with caplog.at_level(logging.WARNING):
        assert MicrophoneSource(EventQueue(), lambda: 0.0).start() is False
    warnings = no_microphone_warnings(caplog)
    assert len(warnings) == 1 and "PortAudio library not found" in warnings[0].getMessage()


def test_real_sounddevice_either_opens_or_warns_once(caplog):
    source = MicrophoneSource(EventQueue(), lambda: 0.0)
    with caplog.at_level(logging.WARNING):
        opened = source.start()
    source.stop()
    assert opened or len(no_microphone_warnings(caplog)) == 1


def test_callback_puts_loud_events_with_the_injected_clock(monkeypatch):
    streams = fake_sounddevice(monkeypatch)
    events = EventQueue()
    now = [0.0]
    source = MicrophoneSource(events, lambda: now[0], MicrophoneParams())
    assert source.start() is True
    (stream,) = streams
    assert stream.started and stream.kwargs["channels"] == 1
    assert stream.kwargs["blocksize"] == 480  # 10 ms at the device's 48 kHz

    rng = np.random.default_rng(0)
    signal = add_at(np.repeat(noise(3.0, -60, rng), 3), np.repeat(clap(), 3), 3 * 1.5)
    for i in range(0, signal.size - 479, 480):
        now[0] = 100.0 + i / 48000  # the player's clock, not the audio's
        stream.kwargs["callback"](signal[i:i + 480, None], 480, None, None)
    assert events.drain() == [Event(pytest.approx(101.5), "loud")]
    source.stop()
    source.stop()
    assert stream.stopped and stream.closed


def test_callback_never_raises_and_reports_once(monkeypatch, caplog):
    streams = fake_sounddevice(monkeypatch)
    source = MicrophoneSource(EventQueue(), lambda: 0.0)
    assert source.start()
    callback = streams[0].kwargs["callback"]
    with caplog.at_level(logging.ERROR):
        for _ in range(3):
            callback(np.zeros((4, 2, 2), np.float32), 4, None, None)  # a broken block
    assert len([r for r in caplog.records if r.levelno >= logging.ERROR]) == 1


# --- event queue -----------------------------------------------------------------------------

def test_queue_drains_everything_from_many_threads_without_blocking():
    events = EventQueue()
    assert events.drain() == []

    def put_many(k):
        for i in range(500):
            events.put(Event(float(i), "loud" if k % 2 else "idle"))

    threads = [threading.Thread(target=put_many, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    drained = events.drain()
    assert len(drained) == 2000 and events.drain() == []


def test_event_rejects_unknown_kind():
    with pytest.raises(ValueError, match="`kind` must be one of .*got 'jump'"):
        Event(0.0, "jump")


# --- scripts ---------------------------------------------------------------------------------

def test_parse_script_reads_every_kind_and_sorts_by_time():
    text = """
    # a comment line
    4.0 click 200 310
    1.5 key 2          # trailing comment
    3.0 loud
    4.5 pointer 120.5 -8
    5.0 release 2
    1.5 KEY Space
    9 idle
    """
    assert parse_script(text, source="ev.txt") == [
        Event(1.5, "key", key="2"), Event(1.5, "key", key="space"), Event(3.0, "loud"),
        Event(4.0, "click", x=200.0, y=310.0), Event(4.5, "pointer", x=120.5, y=-8.0),
        Event(5.0, "key_release", key="2"), Event(9.0, "idle"),
    ]
    assert parse_script("", source="ev.txt") == []


@pytest.mark.parametrize("line, problem", [
    ("soon key 2", "time 'soon' is not a number"),
    ("-1 loud", "time '-1' is not a number of seconds >= 0"),
    ("nan loud", "time 'nan'"),
    ("2.0", "an event is missing after the time"),
    ("2.0 jump", "unknown event 'jump'"),
    ("2.0 key", "'key' takes 1 argument"),
    ("2.0 loud now", "'loud' takes 0 argument"),
    ("2.0 key F13", "unknown key 'F13'"),
    ("2.0 click 10", "'click' takes 2 argument"),
    ("2.0 pointer 10 y", "coordinates '10 y' are not two numbers"),
])
def test_parse_script_errors_name_file_line_and_what_is_expected(line, problem):
    with pytest.raises(InputError) as info:
        parse_script(f"# header\n1.0 loud\n{line}\n", source="ev.txt")
    message = str(info.value)
    assert message.startswith(f"ev.txt:3: {problem}")
    assert "expected 'TIME key NAME'" in message and "\n" not in message


def test_load_script_reads_a_file_and_names_a_missing_one(tmp_path):
    path = tmp_path / "events.txt"
    path.write_text("1.0 key 1\n0.5 loud\n")
    assert load_script(path) == [Event(0.5, "loud"), Event(1.0, "key", key="1")]
    with pytest.raises(InputError, match=r"nope\.txt: events file not found"):
        load_script(tmp_path / "nope.txt")
    path.write_bytes(b"\xff\xfe1.0 loud")
    with pytest.raises(InputError, match="not UTF-8"):
        load_script(path)


# --- idle timer ------------------------------------------------------------------------------

def run_idle(timer: IdleTimer, until_s: float, *, dt: float = 0.05, activity_at=()) -> list[float]:
    times = []
    for i in range(int(until_s / dt) + 1):
        now = i * dt
        if any(abs(now - a) < dt / 2 for a in activity_at):
            timer.activity(now)
        event = timer.poll(now)
        if event is not None:
            assert event.kind == "idle" and event.time_s == now
            times.append(now)
    return times


def test_idle_fires_after_the_quiet_time_with_jitter_and_rearms():
    params = IdleParams(reaction_after_s=20.0, jitter_s=8.0)
    times = run_idle(IdleTimer(params, np.random.default_rng(7)), 600.0)
    gaps = np.diff([0.0, *times])
    assert 20 <= len(times) <= 50
    assert gaps.min() >= 12 - 0.06 and gaps.max() <= 28 + 0.06
    assert gaps.std() > 2  # jittered, not on a beat
    again = run_idle(IdleTimer(params, np.random.default_rng(7)), 600.0)
    assert again == times  # seeded: reproducible


def test_activity_restarts_the_quiet_time():
    timer = IdleTimer(IdleParams(reaction_after_s=20.0, jitter_s=0.0), np.random.default_rng(0))
    times = run_idle(timer, 60.0, activity_at=(15.0,))
    assert times == [pytest.approx(35.0), pytest.approx(55.0)]


def test_idle_timer_rejects_zero_wait():
    with pytest.raises(ValueError, match="reaction_after_s"):
        IdleTimer(IdleParams(reaction_after_s=0.0), np.random.default_rng(0))
