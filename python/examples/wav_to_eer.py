"""From WAV files to EER in Python: the i-vector recipe on Kaldi data folders.

    python3 wav_to_eer.py CORPUS [--num-gauss 512] [--ivector-dim 200] [--threads 0]

CORPUS holds train/ and eval/ Kaldi data folders (wav.scp, utt2spk) and
eval/trials ("utt1 utt2 target|nontarget"), as scripts/make_corpus.sh writes them. The stages are
those of examples/recipe/run.sh (voxceleb/v1): MFCC (its conf), energy VAD, deltas, sliding CMN and
voiced frames; a diagonal UBM trained by EM; Baum-Welch statistics over each frame's 20 best
components; an i-vector extractor trained by EM (PCA start); centring, LDA and length
normalisation; PLDA; EER and minDCF. run.sh goes on to full covariances; --full does too (4 EM
iterations of the full UBM on every 5th frame, then a full-covariance extractor). The trainers'
details differ from the tools' (pruning, floors), so the figures are not run.sh's.
"""
import argparse
import time
import wave
from pathlib import Path

import numpy as np

import ivkit

MFCC = dict(sample_frequency=16000, frame_length=25, low_freq=20, high_freq=7600, num_mel_bins=30, num_ceps=24,
            snip_edges=False)
VAD = dict(vad_energy_threshold=5.5, vad_energy_mean_scale=0.5)


def read_table(path):
    with open(path) as f:
        return [line.split(maxsplit=1) for line in f if line.strip()]


def features(folder):
    """Sid features of every utterance of a data folder, in its wav.scp order."""
    out = {}
    for key, entry in read_table(folder / "wav.scp"):
        if hasattr(ivkit, "read_wav"):  # libsndfile: any WAV encoding, and piped entries ("sox ... |")
            signal, rate = ivkit.read_wav(entry.strip())
        else:
            with wave.open(entry.strip()) as w:
                signal, rate = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2"), w.getframerate()
        feats = ivkit.mfcc(signal, rate, **MFCC)
        out[key] = ivkit.sid_features(feats, ivkit.compute_vad(feats, **VAD))
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--num-gauss", type=int, default=512)
    parser.add_argument("--ivector-dim", type=int, default=200)
    parser.add_argument("--lda-dim", type=int, default=200)
    parser.add_argument("--extractor-iters", type=int, default=5)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--full", action="store_true", help="full-covariance UBM and extractor, as run.sh")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    stamp = lambda what: print(f"[{time.perf_counter() - start:6.1f} s] {what}", flush=True)

    train, test = features(args.corpus / "train"), features(args.corpus / "eval")
    stamp(f"features: {len(train)} training and {len(test)} evaluation utterances")
    frames = np.vstack(list(train.values()))
    ubm = ivkit.train_diag_gmm(frames[::5], args.num_gauss, num_iterations=20, threads=args.threads)
    stamp(f"UBM: {ubm.n_components} diagonal Gaussians on {frames[::5].shape[0]} frames")
    if args.full:
        ubm = ubm.to_full()
        for _ in range(4):
            ubm = ubm.em_update(ubm.accumulate(frames[::5], threads=args.threads), min_weight=1e-4)
        stamp("UBM: full covariances")

    stats = ivkit.Statistics.from_features(ubm, train, gselect=20, min_post=0.025, threads=args.threads)
    extractor, objective = ivkit.IvectorExtractor.train(ubm, stats.zeroth, stats.first, args.ivector_dim, init="pca",
                                                        num_iterations=args.extractor_iters, threads=args.threads)
    stamp(f"extractor: R = {extractor.ivector_dim}, objective {objective[0]:.1f} -> {objective[-1]:.1f}")
    train_iv = ivkit.extract_ivectors(extractor, stats, threads=args.threads)
    test_stats = ivkit.Statistics.from_features(ubm, test, gselect=20, min_post=0.025, threads=args.threads)
    test_iv = ivkit.extract_ivectors(extractor, test_stats, threads=args.threads)
    stamp("i-vectors extracted")

    speakers = {}
    utt2spk = dict(read_table(args.corpus / "train" / "utt2spk"))
    labels = np.array([speakers.setdefault(utt2spk[k].strip(), len(speakers)) for k in stats.ids])
    dim = min(args.lda_dim, len(speakers) - 1, args.ivector_dim)
    pipeline = ivkit.TransformPipeline().centre().lda(dim).length_norm()
    plda = ivkit.Plda.train(pipeline.fit_transform(train_iv, labels), labels)
    embedded = pipeline.transform(test_iv)

    index = {k: i for i, k in enumerate(test_stats.ids)}
    trials = [line.split() for line in open(args.corpus / "eval" / "trials") if line.strip()]
    e = np.array([index[t[0]] for t in trials])
    t = np.array([index[t[1]] for t in trials])
    target = np.array([t_[2] == "target" for t_ in trials])
    results = {}
    for name, scores in (("PLDA", plda.score_trials(embedded, embedded, e, t)),
                         ("cosine", ivkit.cosine_score_trials(embedded, embedded, e, t))):
        eer = ivkit.eer(scores[target], scores[~target], convention="kaldi")
        dcf = ivkit.min_dcf(scores[target], scores[~target], p_target=0.01)
        results[name] = eer.eer
        stamp(f"{name}: EER {100 * eer.eer:.2f}% (Kaldi's compute-eer), minDCF(0.01) {dcf.value:.4f}, "
              f"{target.sum()} targets, {(~target).sum()} non-targets")
    return results


if __name__ == "__main__":
    main()
