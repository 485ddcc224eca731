"""Record reference outputs of the original musicnn implementation (run once, in a throwaway env).

The PyTorch port in ``genrekit.pretrained`` is tested against the file this script writes,
``tests/fixtures/musicnn_reference.npz``. It must run with the *original* code, which needs
TensorFlow, so it is not part of genrekit's environment::

    python -m venv /tmp/tfenv
    /tmp/tfenv/bin/pip install tensorflow-cpu tf-keras librosa soundfile
    pip download --no-deps musicnn==0.1.0 -d /tmp/musicnn
    unzip -d /tmp/musicnn/x /tmp/musicnn/musicnn-0.1.0-py3-none-any.whl
    TF_USE_LEGACY_KERAS=1 /tmp/tfenv/bin/python tools/make_musicnn_fixture.py /tmp/musicnn/x

The input is six seconds of synthetic music (notes with harmonics plus noise bursts), stored in
the fixture as 16-bit PCM at 16 kHz so the port sees exactly the same samples.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile

SAMPLE_RATE = 16000
FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "musicnn_reference.npz"
MODELS = ("MSD_musicnn", "MTT_musicnn", "MSD_vgg", "MTT_vgg")


def synthetic_music(seconds: float = 6.0) -> np.ndarray:
    """Notes of a few harmonics on a beat grid plus decaying noise bursts, as int16."""
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    signal = np.zeros_like(t)
    for start in np.arange(0, seconds, 0.5):
        pitch = 110 * 2 ** (rng.integers(0, 24) / 12)
        note = (t >= start) & (t < start + 0.45)
        envelope = np.exp(-3 * (t - start)) * note
        for harmonic in range(1, 6):
            signal += envelope * np.sin(2 * np.pi * pitch * harmonic * t) / harmonic
        burst = (t >= start) & (t < start + 0.08)
        signal += 0.5 * burst * rng.standard_normal(t.size) * np.exp(-40 * (t - start))
    return np.round(signal / np.abs(signal).max() * 0.25 * 32767).astype(np.int16)


def main(wheel_dir: str) -> None:
    sys.path.insert(0, wheel_dir)
    import tensorflow as tf
    from musicnn import configuration, extractor, models

    audio = synthetic_music()
    results: dict[str, np.ndarray] = {"audio_int16": audio}
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "input.wav"
        soundfile.write(wav, audio, SAMPLE_RATE, subtype="PCM_16")
        batch, _ = extractor.batch_data(str(wav), 187, 187)
    results["patches"] = batch.astype(np.float16)
    for model in MODELS:
        tf.compat.v1.reset_default_graph()
        with tf.name_scope("model"):
            x = tf.compat.v1.placeholder(tf.float32, [None, 187, configuration.N_MELS])
            is_training = tf.compat.v1.placeholder(tf.bool)
            outputs = models.define_model(x, is_training, model, 50)
        session = tf.compat.v1.Session()
        session.run(tf.compat.v1.global_variables_initializer())
        tf.compat.v1.train.Saver().restore(session, f"{wheel_dir}/musicnn/{model}/")
        values = session.run(outputs, feed_dict={x: batch.astype(np.float32), is_training: False})
        results[f"{model}/taggram"] = 1 / (1 + np.exp(-values[0]))
        if "musicnn" in model:
            for name, value in zip(("mean_pool", "max_pool", "penultimate"), values[6:]):
                results[f"{model}/{name}"] = value
        else:
            results[f"{model}/pool5"] = values[5]
    np.savez_compressed(FIXTURE, **{k: np.asarray(v) for k, v in results.items()})
    print({k: v.shape for k, v in results.items()})


if __name__ == "__main__":
    main(sys.argv[1])
