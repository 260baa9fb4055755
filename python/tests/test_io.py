"""Kaldi tables from Python: Kaldi-written archives, round trips, piped specifiers, errors."""
import numpy as np
import pytest

import ivkit


def test_reads_kaldi_archives_and_scripts(kaldi_dir, monkeypatch):
    monkeypatch.chdir(kaldi_dir)
    feats = ivkit.io.read_dict("scp:mfcc.scp")
    ark = ivkit.io.read_dict("ark:mfcc.ark")
    assert list(feats) == list(ark) and len(feats) == 8
    for key in feats:
        assert feats[key].dtype == np.float32 and feats[key].shape[1] == 24  # voxceleb/v1 conf: 24 cepstra
        np.testing.assert_array_equal(feats[key], ark[key])
    reader = ivkit.io.RandomAccessReader("scp:mfcc.scp", dtype=np.float64)
    key = list(feats)[3]
    assert key in reader and "nope" not in reader and len(reader) == 8
    np.testing.assert_array_equal(reader[key], feats[key].astype(np.float64))
    with pytest.raises(KeyError):
        reader["nope"]
    vad = ivkit.io.read_dict("scp:vad.scp", kind="vector")
    assert set(vad) == set(feats) and all(v.ndim == 1 for v in vad.values())
    # Kaldi's piped specifiers.
    piped = dict(ivkit.io.read("ark:cat mfcc.ark |"))
    np.testing.assert_array_equal(piped[key], feats[key])


def test_write_then_read_back(tmp_path, rng):
    data = {f"utt{i}": rng.standard_normal((5 + i, 3)).astype(np.float32) for i in range(4)}
    ark, scp = tmp_path / "x.ark", tmp_path / "x.scp"
    ivkit.io.write(f"ark,scp:{ark},{scp}", data)
    back = ivkit.io.read_dict(f"scp:{scp}")
    assert list(back) == list(data)
    for k in data:
        np.testing.assert_array_equal(back[k], data[k])
    with ivkit.io.Writer(f"ark,t:{tmp_path / 'v.txt'}", kind="vector", dtype=np.float64) as w:
        w["a"] = np.array([1.0, 2.5])
        w["b"] = [3.0, -1.0, 0.0]
    vec = ivkit.io.read_dict(f"ark:{tmp_path / 'v.txt'}", kind="vector", dtype=np.float64)
    np.testing.assert_array_equal(vec["b"], [3.0, -1.0, 0.0])
    ivkit.io.write(f"ark:{tmp_path / 'c.ark'}", data, compress=True)
    comp = ivkit.io.read_dict(f"ark:{tmp_path / 'c.ark'}")
    np.testing.assert_allclose(comp["utt2"], data["utt2"], atol=0.05)


def test_a_failed_write_leaves_no_file(tmp_path):
    target = tmp_path / "out.ark"
    with pytest.raises(RuntimeError):
        with ivkit.io.Writer(f"ark:{target}") as w:
            w["a"] = np.zeros((2, 2), dtype=np.float32)
            raise RuntimeError("stop")
    assert not target.exists()
    with pytest.raises(ivkit.InvalidArgument):
        with ivkit.io.Writer(f"ark:{tmp_path / 'k.ark'}") as w:
            w["two words"] = np.zeros((1, 1), dtype=np.float32)


def test_io_errors_say_where(tmp_path):
    with pytest.raises(ivkit.IoError) as info:
        ivkit.io.read_dict(f"scp:{tmp_path / 'missing.scp'}")
    assert isinstance(info.value, OSError) and "missing.scp" in str(info.value)
    bad = tmp_path / "bad.ark"
    bad.write_bytes(b"utt1 \0BFM \x04\x03\x00\x00")
    with pytest.raises(ivkit.FormatError) as info:
        ivkit.io.read_dict(f"ark:{bad}")
    assert "utt1" in str(info.value)
    with pytest.raises(ivkit.InvalidArgument, match="kind"):
        ivkit.io.read(f"ark:{bad}", kind="table")
    with pytest.raises(ivkit.Error):
        ivkit.io.read_dict("ark:exit 3 |")
