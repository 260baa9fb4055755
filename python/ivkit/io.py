"""Kaldi tables from Python.

``read(rspecifier)`` iterates over (key, array) pairs, ``RandomAccessReader`` looks entries up by
key, ``Writer`` writes them; every specifier Kaldi's programs accept works (``scp:``, ``ark:``,
``ark,t:``, ``ark,scp:a.ark,a.scp``, ``-`` and piped commands such as ``"ark:copy-feats scp:a.scp ark:- |"``).
``kind`` is ``"matrix"`` (features) or ``"vector"`` (i-vectors, VAD), ``dtype`` float32 (default) or float64.
"""

from ._ivkit import RandomAccessReader, SequentialReader, Writer

__all__ = ["read", "read_dict", "write", "RandomAccessReader", "SequentialReader", "Writer"]


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
