"""The examples run: wav_to_eer.py on a small corpus of synthetic voices written here."""
import importlib.util
import wave
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def load(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def voice(rng, f0, formants, seconds=1.5, rate=16000):
    """A buzz at pitch f0 through the speaker's resonances, with pauses and noise."""
    t = np.arange(int(seconds * rate)) / rate
    f = f0 * (1 + 0.05 * np.sin(2 * np.pi * rng.uniform(1, 3) * t))
    phase = 2 * np.pi * np.cumsum(f) / rate
    x = sum(np.sin(k * phase) * sum(np.exp(-((k * f0 - fm) / 300.0) ** 2) for fm in formants) for k in range(1, 40))
    envelope = (np.sin(2 * np.pi * rng.uniform(1.5, 3) * t) > -0.3).astype(float)
    return (3000 * x * envelope / np.abs(x).max() + rng.normal(0, 30, t.size)).astype("<i2")


def write_folder(folder, rng, speakers, utterances):
    folder.mkdir(parents=True)
    with open(folder / "wav.scp", "w") as scp, open(folder / "utt2spk", "w") as u2s:
        for s, (f0, formants) in speakers.items():
            for u in range(utterances):
                key = f"{s}-{u}"
                path = folder / f"{key}.wav"
                with wave.open(str(path), "wb") as w:
                    w.setnchannels(1)
                    w.setsampwidth(2)
                    w.setframerate(16000)
                    w.writeframes(voice(rng, f0, formants).tobytes())
                scp.write(f"{key} {path}\n")
                u2s.write(f"{key} {s}\n")


@pytest.mark.parametrize("variant", [[], ["--full"]])
def test_wav_to_eer_runs_on_synthetic_voices(tmp_path, rng, variant):
    voices = {f"spk{i}": (rng.uniform(90, 250), rng.uniform([300, 900, 2200], [800, 2000, 3200])) for i in range(10)}
    train = dict(list(voices.items())[:6])
    test = dict(list(voices.items())[6:])
    write_folder(tmp_path / "train", rng, train, 4)
    write_folder(tmp_path / "eval", rng, test, 3)
    keys = [f"{s}-{u}" for s in test for u in range(3)]
    with open(tmp_path / "eval" / "trials", "w") as f:
        for i, a in enumerate(keys):
            for b in keys[i + 1:]:
                f.write(f"{a} {b} {'target' if a.split('-')[0] == b.split('-')[0] else 'nontarget'}\n")
    results = load("wav_to_eer").main([str(tmp_path), "--num-gauss", "8", "--ivector-dim", "5", *variant,
                                       "--extractor-iters", "2", "--threads", "1"])
    assert set(results) == {"PLDA", "cosine"}
    assert all(0.0 <= r <= 1.0 for r in results.values())
