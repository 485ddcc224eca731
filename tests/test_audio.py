"""Decoding, preprocessing and segmentation."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import soundfile
from conftest import DATA, tone

from genrekit.audio import (
    Audio,
    load_audio,
    normalize,
    segment,
    split_evenly,
    trim_silence,
    window_bounds,
)
from genrekit.errors import AudioDecodeError, AudioTooShortError, SilentAudioError


def dominant_frequency(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[spectrum.argmax()])


@pytest.mark.parametrize("ext", ["wav", "flac", "ogg", "mp3", "au", "m4a"])
def test_every_format_becomes_mono_22050_with_pitch_kept(media, ext):
    audio = load_audio(media[ext])
    assert audio.sample_rate == 22050
    assert audio.samples.dtype == np.float32 and audio.samples.ndim == 1
    assert audio.source_sample_rate == 44100 and audio.source_channels == 2
    assert audio.duration == pytest.approx(5.0, abs=0.1)  # codecs add a little padding
    assert dominant_frequency(audio.samples, 22050) == pytest.approx(440.0, abs=2.0)
    # channels peak at 0.3 and 0.225: the mono mix is their mean (edges hold codec transients)
    steady = audio.samples[11025:-11025]
    assert np.abs(steady).max() == pytest.approx(0.2625, rel=0.05)


def test_wrong_extension_is_decoded_by_content(media, tmp_path):
    disguised = tmp_path / "actually_flac.mp3"
    disguised.write_bytes(media["flac"].read_bytes())
    assert load_audio(disguised).duration == pytest.approx(5.0, abs=0.01)


@pytest.mark.data
def test_native_rate_clip_is_decoded_bit_exactly():
    path = DATA / "gtzan" / "blues" / "blues.00000.flac"
    raw, rate = soundfile.read(path, dtype="float32")
    assert rate == 22050
    np.testing.assert_array_equal(load_audio(path).samples, raw)


@pytest.mark.parametrize(
    ("kind", "error", "reason"),
    [
        ("not_audio", AudioDecodeError, "not a recognised audio file"),
        ("empty", AudioDecodeError, "empty"),
        ("truncated_flac", AudioDecodeError, "truncated"),
        ("truncated_mp3", AudioDecodeError, "truncated"),
        ("short", AudioTooShortError, "too short"),
        ("silent", SilentAudioError, "silent"),
    ],
)
def test_bad_input_raises_a_typed_error_naming_file_and_reason(broken, kind, error, reason):
    with pytest.raises(error) as caught:
        load_audio(broken[kind])
    assert caught.value.path == str(broken[kind])
    assert reason in caught.value.reason
    assert str(broken[kind]) in str(caught.value)


def test_missing_file(tmp_path):
    with pytest.raises(AudioDecodeError, match="no such file"):
        load_audio(tmp_path / "nowhere.wav")


def test_opposite_channels_cancel_to_silence(tmp_path):
    left = tone(3.0, 22050)[:, 0]
    path = tmp_path / "cancel.wav"
    soundfile.write(path, np.stack([left, -left], axis=1), 22050)
    with pytest.raises(SilentAudioError):
        load_audio(path)


def test_an_hour_long_file_is_capped_with_bounded_memory(tmp_path):
    path = tmp_path / "hour.wav"
    rate, minute = 8000, tone(60.0, 8000, amplitude=0.5)[:, 0]
    with soundfile.SoundFile(path, "w", rate, 1, subtype="PCM_16") as handle:
        for _ in range(60):
            handle.write(minute)
    tracemalloc.start()
    audio = load_audio(path, max_duration=120.0)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert audio.truncated
    assert audio.duration == pytest.approx(120.0, abs=0.01)
    # Whole file decoded at 22050 Hz float32 would be ~320 MB; 120 s is ~10.6 MB.
    assert peak < 60e6


def test_short_file_is_not_flagged_truncated(media):
    assert not load_audio(media["wav"]).truncated


def make_audio(samples: np.ndarray) -> Audio:
    return Audio(samples.astype(np.float32), 22050, "x.wav", 22050, 1, False)


def test_normalization_makes_gain_irrelevant():
    quiet = tone(2.0, 22050, amplitude=0.05)[:, 0]
    loud = quiet * 7.0
    for method in ("peak", "rms"):
        np.testing.assert_allclose(normalize(quiet, method), normalize(loud, method), atol=1e-6)
    assert np.abs(normalize(quiet, "peak")).max() == pytest.approx(1.0)
    rms = np.sqrt(np.mean(normalize(quiet, "rms") ** 2))
    assert rms == pytest.approx(0.1, rel=1e-4)
    assert normalize(quiet, "none") is quiet


def test_trim_silence_removes_leading_and_trailing_silence():
    sound = tone(2.0, 22050)[:, 0]
    padded = np.concatenate([np.zeros(22050), sound, np.zeros(44100)]).astype(np.float32)
    trimmed = trim_silence(padded)
    assert len(trimmed) / 22050 == pytest.approx(2.0, abs=0.1)


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ("shift", [(0, 30), (15, 45), (30, 60), (45, 75), (60, 90), (70, 100)]),
        ("pad", [(0, 30), (15, 45), (30, 60), (45, 75), (60, 90), (75, 105)]),
        ("drop", [(0, 30), (15, 45), (30, 60), (45, 75), (60, 90)]),
    ],
)
def test_last_window_policies(policy, expected):
    assert window_bounds(100, 30, 15, policy) == expected


def test_signal_shorter_than_a_window():
    assert window_bounds(10, 30, 15, "shift") == [(0, 10)]
    assert window_bounds(10, 30, 15, "drop") == []
    assert window_bounds(10, 30, 15, "pad") == [(0, 30)]


def test_segments_default_to_3s_with_half_overlap_and_cover_the_track():
    samples = np.arange(int(10.2 * 22050), dtype=np.float32)
    segments = segment(samples)
    assert all(len(s.samples) == 3 * 22050 for s in segments)
    assert [s.start for s in segments[:3]] == [0.0, 1.5, 3.0]
    assert segments[-1].end == len(samples) / 22050
    padded = segment(samples, last="pad")[-1]
    assert len(padded.samples) == 3 * 22050 and padded.samples[-1] == 0.0
    assert padded.end == len(samples) / 22050


@pytest.mark.parametrize(
    ("seconds", "parts"), [(30.01, 1), (10.0, 1), (44.0, 1), (46.0, 2), (180.0, 6)]
)
def test_split_evenly(seconds, parts):
    samples = np.zeros(int(seconds * 22050), np.float32)
    pieces = split_evenly(samples, 22050, 30.0)
    assert len(pieces) == parts
    assert sum(len(p.samples) for p in pieces) == len(samples)
    assert split_evenly(samples, 22050, None)[0].samples is samples


@pytest.mark.parametrize("kind", ["nan", "inf"])
def test_non_finite_samples_are_refused_with_a_plain_reason(broken, kind):
    with pytest.raises(AudioDecodeError, match="invalid samples") as error:
        load_audio(broken[kind])
    assert str(broken[kind]) in str(error.value)


def test_a_stream_declaring_zero_hertz_is_refused(tmp_path):
    from genrekit.audio import _check_stream

    with pytest.raises(AudioDecodeError, match="declares 0 Hz"):
        _check_stream(tmp_path / "x.flac", 0, 1)


@pytest.mark.parametrize("rate", [16000, 22050, 44100])
def test_loudness_high_pass_equals_scipys_butterworth_to_float_precision(rate):
    """remove_dc convolves with the filter's impulse response (no scipy.signal at prediction);
    the values are scipy's sosfilt of butter(2, 20 Hz) to within one float32 step."""
    from scipy.signal import butter, sosfilt

    from genrekit.audio import HIGHPASS_HZ, remove_dc

    rng = np.random.default_rng(rate)
    for length in (10, 1000, 200_000):
        samples = (0.3 * rng.standard_normal(length) + 0.1).astype(np.float32)
        sos = butter(2, HIGHPASS_HZ, btype="highpass", fs=rate, output="sos")
        centred = samples - np.float32(np.mean(samples, dtype=np.float64))
        reference = sosfilt(sos, centred).astype(np.float32)
        assert np.max(np.abs(remove_dc(samples, rate) - reference)) <= 2.5e-7


def test_a_wav_cut_mid_data_is_refused_and_a_streamed_wav_is_read(tmp_path):
    """libsndfile shortens a cut WAV's frame count to what is there; the header still says how
    long it was, so the cut is reported (as for FLAC). A header of 'unknown length' is fine."""
    import struct

    whole = tmp_path / "whole.wav"
    soundfile.write(whole, tone(seconds=20.0, rate=22050)[:, 0], 22050, subtype="PCM_16")
    data = whole.read_bytes()
    cut = tmp_path / "cut.wav"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(AudioDecodeError, match=r"truncated: the header announces 20\.0 s"):
        load_audio(cut)
    streamed = tmp_path / "streamed.wav"
    at = data.index(b"data")
    streamed.write_bytes(
        data[:4] + struct.pack("<I", 0xFFFFFFFF) + data[8 : at + 4]
        + struct.pack("<I", 0xFFFFFFFF) + data[at + 8 :]
    )  # fmt: skip
    assert load_audio(streamed).duration == pytest.approx(20.0, abs=0.01)


def test_an_mp3_with_cover_art_and_no_xing_header_is_read_whole(tmp_path):
    """Without a Xing header the decoder guesses the length from the file size, cover art
    included (a 30 s song "announced" 80 s): the length must come from the audio frames."""
    import av
    from mutagen.id3 import APIC, ID3

    path = tmp_path / "cover.mp3"
    with av.open(str(path), "w", options={"write_xing": "0"}) as out:
        stream = out.add_stream("libmp3lame", rate=22050)
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(tone(12.0, 22050).T), format="fltp", layout="mono"
        )
        frame.sample_rate = 22050
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            out.mux(packet)
    assert b"Xing" not in path.read_bytes()[:8192] and b"Info" not in path.read_bytes()[:8192]
    tags = ID3()
    cover = np.random.default_rng(0).bytes(400_000)
    tags.add(APIC(encoding=3, mime="image/jpeg", type=3, desc="cover", data=cover))
    tags.save(path)
    audio = load_audio(path)
    assert audio.duration == pytest.approx(12.0, abs=0.2)


def sixteen_bit(samples: np.ndarray, gain_db: float) -> np.ndarray:
    """``samples`` at ``gain_db`` (dB), rounded to 16-bit steps as a WAV or FLAC file holds
    them."""
    return np.round(samples * 10 ** (gain_db / 20) * 32768) / 32768


def test_the_bandwidth_test_tells_a_phone_line_from_full_band_music():
    from genrekit.bandwidth import NARROW_BELOW_DB, BandTest
    from genrekit.degrade import band_limit, telephone

    rate, test = 22050, BandTest()
    music = np.random.default_rng(0).standard_normal(5 * rate).astype(np.float32) * 0.1
    assert abs(test.levels(music, rate).gap_db) < 1  # white noise: the same density everywhere
    assert not test.is_narrow(music, rate)
    for narrowed in (telephone(music, rate), band_limit(music, rate)):
        assert test.levels(narrowed, rate).gap_db < NARROW_BELOW_DB - 10
        assert test.is_narrow(narrowed, rate)
        for gain_db in (-30, -45):  # a quiet phone recording in 16 bits: a floor, no band
            assert test.is_narrow(sixteen_bit(narrowed, gain_db), rate)
    deep = test.levels(sixteen_bit(telephone(music, rate), -45), rate)
    assert deep.gap_db > NARROW_BELOW_DB  # the wall alone would miss it: the floor tells
    assert not test.is_narrow(sixteen_bit(music, -45), rate)  # quiet full-band music
    hiss = np.random.default_rng(2).standard_normal(len(music)) * 10 ** (-70 / 20)
    old_record = telephone(music, rate) + hiss  # a flat floor, but tape hiss, not 16 bits
    assert NARROW_BELOW_DB < test.levels(old_record, rate).gap_db < test.floor_wall_db
    assert not test.is_narrow(old_record, rate)
    silence = np.zeros(rate, dtype=np.float32)
    assert not test.is_narrow(silence, rate) and not test.is_narrow(music[:1], rate)
    assert not test.is_narrow(sixteen_bit(music * 1e-3, 0), rate)  # a floor alone, no wall
    long = np.random.default_rng(1).standard_normal(45 * rate).astype(np.float32) * 0.1
    assert test.is_narrow(telephone(long, rate), rate)  # measured on spread pieces
    assert not test.is_narrow(long, rate)


def test_a_bundle_routes_by_the_band_test_it_recorded():
    from genrekit.bandwidth import BandTest

    changed = BandTest(narrow_below_db=-40.0, far_hz=(6000.0, 9000.0))
    assert BandTest.from_manifest(changed.to_manifest()) == changed
    older = {"inside_hz": [2500.0, 3300.0], "above_hz": [4200.0, 5500.0], "narrow_below_db": -45}
    assert BandTest.from_manifest(older) == BandTest(narrow_below_db=-45)


def test_a_phone_call_varies_from_clip_to_clip_but_not_from_run_to_run():
    from genrekit.bandwidth import BandTest
    from genrekit.degrade import phone_call

    rate, calls = 22050, []
    for seed in range(6):
        music = np.random.default_rng(seed).standard_normal(4 * rate).astype(np.float32) * 0.1
        call = phone_call(music, rate)
        assert len(call) == len(music) and np.isfinite(call).all()
        np.testing.assert_array_equal(call, phone_call(music, rate))  # seeded by the clip
        assert BandTest().is_narrow(call, rate)
        spectrum = np.abs(np.fft.rfft(call)) ** 2
        frequencies = np.fft.rfftfreq(len(call), 1 / rate)
        calls.append(  # the share of the call's power below 500 Hz: where its lower edge lies
            spectrum[frequencies < 500].sum() / spectrum.sum()
        )
    assert np.ptp(calls) > 0.01  # the lines differ


@pytest.mark.data
def test_real_music_is_full_band_and_its_phone_line_version_narrow():
    from genrekit.bandwidth import BandTest
    from genrekit.degrade import telephone

    test = BandTest()
    audio = load_audio(DATA / "gtzan" / "classical" / "classical.00041.flac")
    samples, rate = audio.samples, audio.sample_rate
    assert not test.is_narrow(samples, rate)
    assert not test.is_narrow(sixteen_bit(samples, -50), rate)  # quiet, in 16 bits
    for gain_db in (0, -30):  # at −30 dB the wall alone (< −50 dB) misses it
        assert test.is_narrow(sixteen_bit(telephone(samples, rate), gain_db), rate)
