"""Statistics and i-vectors, with the names a SIDEKIT user knows.

``Statistics`` plays SIDEKIT's ``StatServer``: utterance ids with their zeroth-order (U, C) and
first-order (U, C*D) statistics, centred on the UBM means. ``extract_ivectors(extractor, stats,
uncertainty=True)`` is ``FactorAnalyser.extract_ivectors``.
"""

import numpy as np

from ._ivkit import FullGmm, InvalidArgument, IvectorExtractor, utterance_stats

__all__ = ["Statistics", "extract_ivectors", "IvectorExtractor", "utterance_stats"]


class Statistics:
    """Baum-Welch statistics of a set of utterances: ``ids`` (list), ``zeroth`` (U, C) and
    ``first`` (U, C*D; component c in columns [c D, (c+1) D)), centred on the UBM means."""

    def __init__(self, ids, zeroth, first):
        zeroth, first = np.asarray(zeroth), np.asarray(first)
        if first.ndim == 3:
            first = first.reshape(first.shape[0], -1)
        if zeroth.ndim != 2 or first.ndim != 2 or len(ids) != zeroth.shape[0] or first.shape[0] != zeroth.shape[0]:
            raise InvalidArgument(f"Statistics: {len(ids)} ids, zeroth {zeroth.shape} and first {first.shape} do not match")
        if first.shape[1] % zeroth.shape[1] != 0:
            raise InvalidArgument(f"Statistics: first has {first.shape[1]} columns, not a multiple of C = {zeroth.shape[1]}")
        if len(set(ids)) != len(ids):
            raise InvalidArgument("Statistics: an utterance id appears twice")
        self.ids, self.zeroth, self.first = list(ids), zeroth, first

    @classmethod
    def from_features(cls, ubm, features, *, gselect=0, top_n=0, min_post=0.0, threads=1, dtype=np.float32):
        """Statistics of every (id, frames) of ``features`` (a mapping, or an iterable of pairs such as
        ``ivkit.io.read("scp:feats.scp")``). ``gselect=20, min_post=0.025`` is Kaldi's sid pipeline
        (``extract_ivectors.sh``) for a full-covariance UBM."""
        pairs = features.items() if hasattr(features, "items") else features
        # The diagonal model that selects components, made once rather than for every utterance.
        selector = ubm.to_diag() if gselect > 0 and isinstance(ubm, FullGmm) else None
        ids, zeroth, first = [], [], []
        for key, frames in pairs:
            n, f = utterance_stats(ubm, frames, gselect=gselect, top_n=top_n, min_post=min_post, threads=threads,
                                   selector=selector)
            ids.append(key)
            zeroth.append(n.astype(dtype, copy=False))
            first.append(f.reshape(-1).astype(dtype, copy=False))
        if not ids:
            raise InvalidArgument("Statistics.from_features: no utterances")
        return cls(ids, np.stack(zeroth), np.stack(first))

    def __len__(self):
        return len(self.ids)

    @property
    def n_components(self):
        return self.zeroth.shape[1]

    @property
    def dim(self):
        return self.first.shape[1] // self.zeroth.shape[1]


def extract_ivectors(extractor, stats, *, uncertainty=False, method="exact", keep_prior_mean=False, threads=1):
    """i-vectors of every utterance of ``stats``: (U, R) means, and with ``uncertainty=True`` also
    their posterior variances (U, R). Rows follow ``stats.ids``."""
    return extractor.extract(stats.zeroth, stats.first, uncertainty=uncertainty, method=method,
                             keep_prior_mean=keep_prior_mean, threads=threads)
