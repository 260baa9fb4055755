"""i-vector extraction from Python against the C++ tool, whole runs on the same files, one thread.

    PYTHONPATH=build/test/python /usr/bin/python3 python/bench/bench_extraction.py \\
        --tool build/test/tools/ivkit-extract-ivectors --ubm exp/ubm/final.ubm --extractor exp/extractor/final.ie \\
        --feats exp/mfcc/train/feats.scp --vad exp/mfcc/train/vad.scp

Both run Kaldi's sid pipeline (deltas, sliding CMN, voiced frames), Gaussian selection of 20 on the
full UBM's diagonal, posteriors pruned at 0.025, statistics and exact extraction; models in ivkit's
format (or Kaldi's, with --kaldi; the tool tells them apart itself). Prints the median of --repeats runs each and checks that the
i-vectors agree.
"""
import argparse
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

import ivkit


def python_run(args):
    if args.kaldi:
        ubm = ivkit.FullGmm.read_kaldi(args.ubm, dtype=np.float32)
        extractor = ivkit.IvectorExtractor.read_kaldi(args.extractor, ubm, dtype=np.float32)
    else:
        ubm = ivkit.FullGmm.load(args.ubm, dtype=np.float32)
        extractor = ivkit.IvectorExtractor.load(args.extractor, dtype=np.float32)
    vad = ivkit.io.RandomAccessReader(f"scp:{args.vad}", kind="vector")
    features = ((key, ivkit.sid_features(feats, vad[key] > 0.5)) for key, feats in ivkit.io.read(f"scp:{args.feats}"))
    stats = ivkit.Statistics.from_features(ubm, features, gselect=20, min_post=0.025)
    return stats.ids, ivkit.extract_ivectors(extractor, stats)


def tool_run(args, out):
    cmd = [args.tool, "-q", "--threads", "1", "--sid-pipeline", "--vad-rspecifier", f"scp:{args.vad}"]
    subprocess.run(cmd + [args.ubm, args.extractor, f"scp:{args.feats}", f"ark:{out}"], check=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for name in ("--tool", "--ubm", "--extractor", "--feats", "--vad"):
        parser.add_argument(name, required=True)
    parser.add_argument("--kaldi", action="store_true", help="the models are Kaldi's final.ubm and final.ie")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    py_times, tool_times = [], []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "ivectors.ark"
        for _ in range(args.repeats):  # alternating, so both see the same machine state
            start = time.perf_counter()
            ids, ours = python_run(args)
            py_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            tool_run(args, out)
            tool_times.append(time.perf_counter() - start)
        tool = ivkit.io.read_dict(f"ark:{out}", kind="vector")
    worst = max(np.abs(ours[i] - tool[k]).max() / (np.abs(tool[k]).max() + 1e-30) for i, k in enumerate(ids))
    py, cpp = float(np.median(py_times)), float(np.median(tool_times))
    print(f"{len(ids)} utterances, R = {ours.shape[1]}: Python {py:.3f} s, ivkit-extract-ivectors {cpp:.3f} s "
          f"(Python / tool = {py / cpp:.2f}); largest relative difference of an i-vector {worst:.1e}")


if __name__ == "__main__":
    main()
