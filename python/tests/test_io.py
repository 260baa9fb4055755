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


# NumPy's files: np.save/np.savez/np.load are the independent reference for the format.

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("order", ["C", "F"])
def test_npy_written_by_numpy_and_read_back_by_numpy(tmp_path, rng, dtype, order):
    matrix = np.asarray(rng.standard_normal((7, 5)), dtype=dtype, order=order)
    vector = rng.standard_normal(9).astype(dtype)
    np.save(tmp_path / "m.npy", matrix)
    np.save(tmp_path / "v.npy", vector)
    got = ivkit.io.read_npy(str(tmp_path / "m.npy"))
    assert got.dtype == dtype and got.shape == (7, 5)
    np.testing.assert_array_equal(got, matrix)
    got_v = ivkit.io.read_npy(str(tmp_path / "v.npy"))
    assert got_v.dtype == dtype and got_v.shape == (9,)
    np.testing.assert_array_equal(got_v, vector)
    # Written by ivkit, read by NumPy: dtype, shape and order kept.
    ivkit.io.write_npy(str(tmp_path / "out.npy"), matrix)
    back = np.load(tmp_path / "out.npy")
    assert back.dtype == dtype and back.flags.f_contiguous == (order == "F")
    np.testing.assert_array_equal(back, matrix)
    ivkit.io.write_npy(str(tmp_path / "outv.npy"), vector)
    np.testing.assert_array_equal(np.load(tmp_path / "outv.npy"), vector)
    assert np.load(tmp_path / "outv.npy").shape == (9,)


def test_npy_dtype_choice(tmp_path):
    ints = np.arange(12, dtype=np.int32).reshape(3, 4)
    np.save(tmp_path / "i.npy", ints)
    got = ivkit.io.read_npy(str(tmp_path / "i.npy"))
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, ints)
    as32 = ivkit.io.read_npy(str(tmp_path / "i.npy"), dtype=np.float32)
    assert as32.dtype == np.float32
    with pytest.raises(ivkit.InvalidArgument, match="dtype"):
        ivkit.io.read_npy(str(tmp_path / "i.npy"), dtype=np.int16)


def test_npz_in_archive_order_both_ways(tmp_path, rng):
    arrays = {"zeta": rng.standard_normal((3, 2)).astype(np.float32), "alpha": rng.standard_normal(4),
              "mid": np.asarray(rng.standard_normal((2, 3)), order="F")}
    np.savez(tmp_path / "a.npz", **arrays)
    np.savez_compressed(tmp_path / "c.npz", **arrays)
    for name in ("a.npz", "c.npz"):
        got = ivkit.io.read_npz(str(tmp_path / name))
        assert list(got) == list(arrays)
        for key, value in arrays.items():
            assert got[key].dtype == value.dtype
            np.testing.assert_array_equal(got[key], value)
    for compress in (False, True):
        out = tmp_path / f"ivkit{int(compress)}.npz"
        ivkit.io.write_npz(str(out), arrays, compress=compress)
        with np.load(out) as back:
            assert back.files == list(arrays)
            for key, value in arrays.items():
                assert back[key].dtype == value.dtype
                np.testing.assert_array_equal(back[key], value)
    ivkit.io.write_npz(str(tmp_path / "pairs.npz"), [("b", np.ones(2)), ("a", np.zeros((1, 2)))])
    assert list(ivkit.io.read_npz(str(tmp_path / "pairs.npz"))) == ["b", "a"]


def test_npz_embeddings_as_espnet_writes_them(tmp_path, rng):
    ids = [f"spk{i % 3}-utt{i}" for i in range(10)]
    vectors = rng.standard_normal((10, 16)).astype(np.float32)
    np.savez(tmp_path / "e.npz", **{k: v for k, v in zip(ids, vectors)})
    # ESPnet's averaged embeddings are (1, R).
    np.savez(tmp_path / "e2.npz", **{k: v[None, :] for k, v in zip(ids, vectors)})
    for name in ("e.npz", "e2.npz"):
        got_ids, got = ivkit.io.read_npz_embeddings(str(tmp_path / name))
        assert got_ids == ids and got.dtype == np.float32
        np.testing.assert_array_equal(got, vectors)
    _, as64 = ivkit.io.read_npz_embeddings(str(tmp_path / "e.npz"), dtype=np.float64)
    assert as64.dtype == np.float64
    ivkit.io.write_npz_embeddings(str(tmp_path / "w.npz"), ids, vectors.astype(np.float64), compress=True)
    with np.load(tmp_path / "w.npz") as back:
        assert back.files == ids
        for k, v in zip(ids, vectors):
            assert back[k].shape == (16,) and back[k].dtype == np.float64
            np.testing.assert_array_equal(back[k], v)
    np.savez(tmp_path / "mixed.npz", a=np.ones(4), b=np.ones(5))
    with pytest.raises(ivkit.FormatError, match="'b.npy'"):
        ivkit.io.read_npz_embeddings(str(tmp_path / "mixed.npz"))
    with pytest.raises(ivkit.DimensionMismatch):
        ivkit.io.write_npz_embeddings(str(tmp_path / "bad.npz"), ids[:3], vectors)
    assert not (tmp_path / "bad.npz").exists()


def test_numpy_files_refuse_bad_input(tmp_path):
    # A header announcing 0 x (2^63 - 1) elements: refused, not accepted as empty.
    header = b"{'descr': '<f4', 'fortran_order': False, 'shape': (0, 9223372036854775807), }"
    header += b" " * (63 - (10 + len(header)) % 64) + b"\n"
    absurd = tmp_path / "absurd.npy"
    absurd.write_bytes(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header)
    with pytest.raises(ivkit.FormatError, match="absurd.npy"):
        ivkit.io.read_npy(str(absurd))
    np.save(tmp_path / "t.npy", np.ones((100, 10)))
    truncated = tmp_path / "trunc.npy"
    truncated.write_bytes((tmp_path / "t.npy").read_bytes()[:-8])
    with pytest.raises(ivkit.FormatError, match="trunc.npy"):
        ivkit.io.read_npy(str(truncated))
    np.savez(tmp_path / "z.npz", a=np.arange(50.0))
    data = bytearray((tmp_path / "z.npz").read_bytes())
    data[200] ^= 0xFF  # inside the stored member: the CRC-32 no longer matches
    (tmp_path / "crc.npz").write_bytes(bytes(data))
    with pytest.raises(ivkit.FormatError, match="crc.npz"):
        ivkit.io.read_npz(str(tmp_path / "crc.npz"))
    with pytest.raises(ivkit.IoError) as info:
        ivkit.io.read_npz(str(tmp_path / "missing.npz"))
    assert isinstance(info.value, OSError)
    with pytest.raises(ivkit.InvalidArgument, match="dtype"):
        ivkit.io.write_npy(str(tmp_path / "c.npy"), np.ones(3, dtype=np.complex64))
    assert not (tmp_path / "c.npy").exists()
    with pytest.raises(ivkit.DimensionMismatch):
        ivkit.io.write_npy(str(tmp_path / "3d.npy"), np.ones((2, 2, 2)))
    with pytest.raises(ivkit.IoError):
        ivkit.io.write_npy(str(tmp_path / "no_such_dir" / "x.npy"), np.ones(3))
