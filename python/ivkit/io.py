"""Kaldi tables from Python.

``read(rspecifier)`` iterates over (key, array) pairs, ``RandomAccessReader`` looks entries up by
key, ``Writer`` writes them; every specifier Kaldi's programs accept works (``scp:``, ``ark:``,
``ark,t:``, ``ark,scp:a.ark,a.scp``, ``-`` and piped commands such as ``"ark:copy-feats scp:a.scp ark:- |"``).
``kind`` is ``"matrix"`` (features) or ``"vector"`` (i-vectors, VAD), ``dtype`` float32 (default) or float64.

NumPy's files: ``read_npy``/``write_npy``, ``read_npz``/``write_npz`` and, for speaker embeddings
stored one vector per utterance (ESPnet's and WeSpeaker's ``.npz``), ``read_npz_embeddings`` (ids and
one N x R matrix) and ``write_npz_embeddings``. They check what they read (shapes, CRC-32, truncation;
errors name the file, member and byte offset) and write atomically; dtype=None keeps float32 data
float32 and reads anything else as float64.
"""

from ._ivkit import (RandomAccessReader, SequentialReader, Writer, read_npy, read_npz, read_npz_embeddings,
                     write_npy, write_npz, write_npz_embeddings)

__all__ = ["read", "read_dict", "write", "RandomAccessReader", "SequentialReader", "Writer", "read_npy",
           "write_npy", "read_npz", "write_npz", "read_npz_embeddings", "write_npz_embeddings"]


def read(rspecifier, kind="matrix", dtype=None):
    """Iterator of (key, array) over a Kaldi table, in its order."""
    return SequentialReader(rspecifier, kind=kind, dtype=dtype)


def read_dict(rspecifier, kind="matrix", dtype=None):
    """The whole table as a dict {key: array}."""
    with SequentialReader(rspecifier, kind=kind, dtype=dtype) as reader:
        return {key: value for key, value in reader}


def write(wspecifier, items, kind="matrix", dtype=None, compress=False):
    """Writes a mapping or an iterable of (key, array) pairs as a Kaldi table; the files appear
    only once everything is written."""
    pairs = items.items() if hasattr(items, "items") else items
    with Writer(wspecifier, kind=kind, dtype=dtype, compress=compress) as writer:
        for key, value in pairs:
            writer.write(key, value)
