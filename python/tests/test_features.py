"""The front end against Kaldi's compute-mfcc-feats, compute-vad, add-deltas, apply-cmvn-sliding and
select-voiced-frames outputs (tests/data/kaldi_recipe), with the tolerances of
tests/features/test_kaldi_recipe_fixtures.cpp (which explains them)."""
import wave

import numpy as np
import pytest

import ivkit


def read_wav(path):
    with wave.open(str(path)) as w:
        assert w.getsampwidth() == 2 and w.getnchannels() == 1
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2"), w.getframerate()


def test_kaldi_front_end(kaldi_dir, monkeypatch):
    monkeypatch.chdir(kaldi_dir)
    config = ivkit.read_kaldi_config("conf/mfcc.conf")
    assert config["num_ceps"] == 24 and config["snip_edges"] is False and config["high_freq"] == 7600
    vad_config = ivkit.read_kaldi_config("conf/vad.conf")
    kaldi_mfcc = ivkit.io.read_dict("ark:mfcc.ark")
    kaldi_vad = ivkit.io.read_dict("scp:vad.scp", kind="vector")
    deltas = ivkit.io.read_dict("scp:feats_deltas.scp")
    cmvn = ivkit.io.read_dict("scp:feats_cmvn.scp")
    sid = ivkit.io.read_dict("scp:feats_sid.scp")
    frames, worst = 0, 0.0
    for key, ref in kaldi_mfcc.items():
        signal, rate = read_wav(f"wav/{key}.wav")
        feats = ivkit.mfcc(signal, rate, **config)
        assert feats.shape == ref.shape and feats.dtype == np.float32
        diff = np.abs(feats - ref).max(axis=1)
        worst = max(worst, diff.max())
        assert np.abs(feats - ref).mean() < 5e-3  # measured 1.6e-3; a wrong option gives differences of order 1
        frames += feats.shape[0]
        # VAD on Kaldi's MFCCs: the same decisions.
        voiced = ivkit.compute_vad(ref, **vad_config)
        np.testing.assert_array_equal(voiced, kaldi_vad[key] > 0.5)
        if key in deltas:
            np.testing.assert_allclose(ivkit.add_deltas(ref, delta_window=3), deltas[key], atol=2e-5)
        if key in cmvn:
            np.testing.assert_allclose(ivkit.apply_cmvn_sliding(deltas[key]), cmvn[key], atol=2e-5)
        if key in sid:
            np.testing.assert_allclose(ivkit.sid_features(ref, voiced), sid[key], atol=2e-5)
    assert frames == 2036 and worst <= 2.5e-2
    assert len(deltas) >= 2 and len(cmvn) >= 2 and len(sid) >= 2


def test_front_end_options_and_errors(rng):
    signal = rng.standard_normal(16000) * 1000
    m = ivkit.mfcc(signal)
    assert m.shape == (98, 13)  # Kaldi's defaults: 25 ms frames every 10 ms, snip_edges
    assert ivkit.mfcc(signal, snip_edges=False).shape == (100, 13)
    assert ivkit.fbank(signal, num_mel_bins=40).shape == (98, 40)
    np.testing.assert_array_equal(ivkit.mfcc(signal.astype(np.float32)), ivkit.mfcc(signal.astype(np.float32).astype(np.float64)))
    with pytest.raises(ivkit.InvalidArgument, match="unknown option 'num_cepz'"):
        ivkit.mfcc(signal, num_cepz=13)
    with pytest.raises(ivkit.InvalidArgument, match="sample"):
        ivkit.mfcc(signal, 8000)
    with pytest.raises(ivkit.DimensionMismatch):
        ivkit.mfcc(np.zeros((2, 100)))
    bad = signal.copy()
    bad[100] = np.nan
    with pytest.raises(ivkit.InvalidArgument):
        ivkit.mfcc(bad)


@pytest.mark.skipif(not hasattr(ivkit, "read_wav"), reason="the module was built without libsndfile")
def test_read_wav_files_and_piped_entries(kaldi_dir, monkeypatch):
    monkeypatch.chdir(kaldi_dir)
    key, path = open("wav.scp").readline().split()
    samples, rate = ivkit.read_wav(path)
    reference, ref_rate = read_wav(path)
    assert rate == ref_rate == 16000 and samples.dtype == np.float32
    np.testing.assert_array_equal(samples, reference.astype(np.float32))
    unit, _ = ivkit.read_wav(path, scale="unit")
    np.testing.assert_allclose(unit, reference / 32768.0, rtol=1e-6)
    piped = dict(line.split(maxsplit=1) for line in open("wav_piped.scp"))
    from_pipe, _ = ivkit.read_wav(piped[key].strip())  # "sox wav/U.wav -t wav - |"
    np.testing.assert_array_equal(from_pipe, samples)
    with pytest.raises(ivkit.IoError):
        ivkit.read_wav("missing.wav")
    with pytest.raises(ivkit.Error):
        ivkit.read_wav("exit 3 |")
