"""DET plots with matplotlib (when it is installed: python3-matplotlib).

``det_axes_points`` gives the points of a DET curve on the normal-deviate (probit) scale that DET
plots use; ``plot_det`` draws one or more curves with the usual percentage ticks.
"""

from statistics import NormalDist

import numpy as np

from ._ivkit import InvalidArgument, det_curve

__all__ = ["det_axes_points", "plot_det"]

_TICKS = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.4]


def _probit(p, floor):
    p = np.clip(np.asarray(p, dtype=np.float64), floor, 1.0 - floor)
    inv = NormalDist().inv_cdf
    return np.array([inv(v) for v in p.ravel()]).reshape(p.shape)


def det_axes_points(targets, nontargets, floor=1e-4):
    """(x, y) = (probit(P_fa), probit(P_miss)) of every operating point, error rates clipped to
    [floor, 1 - floor] so that the ends of the curve stay on the plot."""
    if not 0 < floor < 0.5:
        raise InvalidArgument(f"det_axes_points: floor must lie in (0, 0.5), got {floor}")
    p_miss, p_fa, _ = det_curve(targets, nontargets)
    return _probit(p_fa, floor), _probit(p_miss, floor)


def plot_det(curves, ax=None, limits=(0.001, 0.4)):
    """Draws DET curves: ``curves`` maps a label to (target scores, non-target scores). Returns the
    matplotlib axes."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as e:
        raise ImportError("ivkit.plot_det needs matplotlib (apt-get install python3-matplotlib); "
                          "ivkit.det_axes_points gives the points without it") from e
    if ax is None:
        ax = plt.figure().add_subplot()
    for label, (tar, non) in curves.items():
        x, y = det_axes_points(tar, non)
        ax.plot(x, y, label=label)
    ticks = [t for t in _TICKS if limits[0] <= t <= limits[1]]
    positions = _probit(ticks, 1e-12)
    labels = [f"{100 * t:g}" for t in ticks]
    ax.set_xticks(positions, labels)
    ax.set_yticks(positions, labels)
    lo, hi = _probit([limits[0], limits[1]], 1e-12)
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_xlabel("false alarm rate (%)")
    ax.set_ylabel("miss rate (%)")
    ax.grid(True)
    ax.legend()
    return ax
