"""The Kaldi-compatible front end: ``mfcc``, ``fbank``, ``compute_vad``, ``add_deltas``,
``apply_cmvn_sliding`` (C++), and ``read_kaldi_config`` to take the options of a Kaldi config file
(``conf/mfcc.conf``) as keyword arguments: ``ivkit.mfcc(wave, **ivkit.read_kaldi_config("conf/mfcc.conf"))``.
"""

from ._ivkit import InvalidArgument, add_deltas, apply_cmvn_sliding, compute_vad, fbank, mfcc

__all__ = ["mfcc", "fbank", "compute_vad", "add_deltas", "apply_cmvn_sliding", "read_kaldi_config", "sid_features"]


def _value(text):
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def read_kaldi_config(path):
    """Options of a Kaldi config file (lines ``--name=value``, ``#`` comments) as a dict with
    Python names: ``{"num_ceps": 24, "snip_edges": False, ...}``."""
    options = {}
    with open(path) as f:
        for number, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            if not line.startswith("--") or "=" not in line:
                raise InvalidArgument(f"{path}:{number}: expected --name=value, got '{line}'")
            name, value = line[2:].split("=", 1)
            options[name.strip().replace("-", "_")] = _value(value.strip())
    return options


def sid_features(feats, voiced):
    """Kaldi's sid pipeline on one utterance's features: add-deltas (order 2, window 3),
    apply-cmvn-sliding (window 300, centred, no variance normalisation) and select-voiced-frames."""
    return apply_cmvn_sliding(add_deltas(feats, delta_window=3))[voiced]
