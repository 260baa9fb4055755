"""The examples run: wav_to_eer.py on a small corpus of synthetic voices written here, score_embeddings.py on .npz files."""
import importlib.util
import os
import subprocess
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


def synthetic_corpus(root, rng):
    voices = {f"spk{i}": (rng.uniform(90, 250), rng.uniform([300, 900, 2200], [800, 2000, 3200])) for i in range(10)}
    train = dict(list(voices.items())[:6])
    test = dict(list(voices.items())[6:])
    write_folder(root / "train", rng, train, 4)
    write_folder(root / "eval", rng, test, 3)
    keys = [f"{s}-{u}" for s in test for u in range(3)]
    with open(root / "eval" / "trials", "w") as f:
        for i, a in enumerate(keys):
            for b in keys[i + 1:]:
                f.write(f"{a} {b} {'target' if a.split('-')[0] == b.split('-')[0] else 'nontarget'}\n")


SMALL = ["--num-gauss", "8", "--ivector-dim", "5", "--extractor-iters", "2", "--threads", "1"]


@pytest.mark.parametrize("variant", [[], ["--full-ubm-iters", "0"]])
def test_wav_to_eer_gives_speaker_recipes_scores(tmp_path, rng, variant):
    """The Python recipe and the C++ program on the same WAV files and options: the same scores
    (as both print them) and so the same EER."""
    synthetic_corpus(tmp_path / "corpus", rng)
    results = load("wav_to_eer").main([str(tmp_path / "corpus"), *SMALL, *variant, "--out", str(tmp_path / "py")])
    assert set(results) == {"plda", "cosine_lda", "cosine_raw"}
    assert all(0.0 <= r <= 1.0 for r in results.values())
    recipe = os.environ.get("IVKIT_SPEAKER_RECIPE")
    if not recipe:
        pytest.skip("speaker_recipe not built (IVKIT_BUILD_EXAMPLES=OFF)")
    subprocess.run([recipe, str(tmp_path / "corpus"), *SMALL, *variant, "--out", str(tmp_path / "cpp")], check=True,
                   capture_output=True)
    for system in results:
        python_scores = (tmp_path / "py" / "scores" / f"trials.{system}").read_text()
        assert python_scores == (tmp_path / "cpp" / "scores" / f"trials.{system}").read_text(), system
        assert len(python_scores.splitlines()) == 66


def test_score_embeddings_reads_npz_files_as_espnet_writes_them(tmp_path):
    example = load("score_embeddings")
    in_memory, is_target = example.main([])
    # The same synthetic sets written as ESPnet's embedding files (one (1, R) member per
    # utterance for the enrolment, (R,) elsewhere); the scores follow from the files alone.
    rng = np.random.default_rng(7)
    train_keys, train = example.synthetic(rng, 200, 8, 40)
    keys, vectors = example.synthetic(np.random.default_rng(8), 50, 4, 40)
    first = np.array([k.endswith("-utt0") for k in keys])
    np.savez(tmp_path / "train.npz", **dict(zip(train_keys, train)))
    np.savez(tmp_path / "enrol.npz", **{k: v[None, :] for k, v in zip(np.array(keys)[first], vectors[first])})
    np.savez_compressed(tmp_path / "test.npz", **dict(zip(np.array(keys)[~first], vectors[~first])))
    enrol_keys = [k for k in keys if k.endswith("-utt0")]
    test_keys = [k for k in keys if not k.endswith("-utt0")]
    with open(tmp_path / "trials", "w") as f:
        for e in enrol_keys:
            for t in test_keys:
                f.write(f"{e} {t} {'target' if e.split('-')[0] == t.split('-')[0] else 'nontarget'}\n")
    from_files, file_targets = example.main(["--train", str(tmp_path / "train.npz"), "--enrol", str(tmp_path / "enrol.npz"),
                                             "--test", str(tmp_path / "test.npz"), "--trials", str(tmp_path / "trials")])
    np.testing.assert_array_equal(file_targets, is_target)
    np.testing.assert_allclose(from_files, in_memory, rtol=1e-9, atol=1e-9)
