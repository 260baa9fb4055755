"""From WAV files to EER in Python: the i-vector recipe of examples/speaker_recipe.cpp, stage by stage.

    python3 wav_to_eer.py CORPUS [--num-gauss 512] [--ivector-dim 200] [--threads 0] [--out DIR]

CORPUS holds train/ and eval/ Kaldi data folders (wav.scp, utt2spk) and eval/trials ("utt1 utt2
target|nontarget"), as scripts/make_corpus.sh writes them. The stages and their defaults are
speaker_recipe's (Kaldi's sid recipes): MFCC (40 mel bins, 20 cepstra, 50-7500 Hz), energy VAD,
deltas, sliding CMN and voiced frames; a diagonal UBM from random frames with mixing up, more EM
on every 5th frame, then full covariances; Baum-Welch statistics over the 20 Gaussians the
diagonal model selects per frame (posteriors below 0.025 dropped); an i-vector extractor trained
by EM from a PCA start; centring, LDA and length normalisation; PLDA; EER (Kaldi's compute-eer)
and minDCF. The options take speaker_recipe's names, and with the same options both give the same
scores and EER (python/tests/test_examples.py compares them). --out DIR writes eval/trials'
scores as DIR/scores/trials.<system> (plda, cosine_lda, cosine_raw), as speaker_recipe does.
"""
import argparse
import time
import wave
from pathlib import Path

import numpy as np

import ivkit

MFCC = dict(sample_frequency=16000, frame_length=25, low_freq=50, high_freq=7500, num_mel_bins=40, num_ceps=20,
            snip_edges=False)
VAD = dict(vad_energy_threshold=5.5, vad_energy_mean_scale=0.5, vad_proportion_threshold=0.12, vad_frames_context=2)


def read_table(path):
    with open(path) as f:
        return [line.split(maxsplit=1) for line in f if line.strip()]


def features(folder):
    """Sid features of every utterance of a data folder with voiced frames, in utt2spk's order."""
    wav = {key: entry.strip() for key, entry in read_table(folder / "wav.scp")}
    out = {}
    for key, _ in read_table(folder / "utt2spk"):
        if hasattr(ivkit, "read_wav"):  # libsndfile: any WAV encoding, and piped entries ("sox ... |")
            signal, rate = ivkit.read_wav(wav[key])
        else:
            with wave.open(wav[key]) as w:
                signal, rate = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2"), w.getframerate()
        feats = ivkit.mfcc(signal, rate, **MFCC)
        voiced = ivkit.sid_features(feats, ivkit.compute_vad(feats, **VAD))
        if len(voiced):  # utterances without a voiced frame are left out, as select-voiced-frames does
            out[key] = voiced
    return out


def train_ubm(train, args):
    """speaker_recipe's UBM: --ubm-init-iters of EM mixing up from half the Gaussians on at most
    --ubm-init-frames random frames, --ubm-iters more on every --subsample'th frame of each
    utterance, then --full-ubm-iters of full-covariance EM (0: a diagonal UBM)."""
    frames = np.vstack(list(train.values()))
    ubm = ivkit.train_diag_gmm(frames, args.num_gauss, initial_components=max(1, args.num_gauss // 2),
                               num_iterations=args.ubm_init_iters, max_init_frames=args.ubm_init_frames,
                               min_weight=1e-4, seed=args.seed, threads=args.threads)
    sub = np.vstack([f[::args.subsample] for f in train.values()])
    if args.ubm_iters:
        ubm = ubm.train_em(sub, num_iterations=args.ubm_iters, min_weight=1e-4, threads=args.threads)
    if args.full_ubm_iters:
        ubm = ubm.to_full().train_em(sub, num_iterations=args.full_ubm_iters, min_weight=1e-4, threads=args.threads)
    return ubm, frames.shape[0], sub.shape[0]


def write_scores(path, trials, scores):
    with open(path, "w") as f:
        for (enrol, test, _), s in zip(trials, scores):
            f.write(f"{enrol} {test} {float(s):.6g}\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--num-gauss", type=int, default=512)
    parser.add_argument("--ubm-init-iters", type=int, default=20)
    parser.add_argument("--ubm-init-frames", type=int, default=500000)
    parser.add_argument("--ubm-iters", type=int, default=4)
    parser.add_argument("--subsample", type=int, default=5)
    parser.add_argument("--full-ubm-iters", type=int, default=4, help="0: diagonal UBM and extractor")
    parser.add_argument("--gselect", type=int, default=20)
    parser.add_argument("--min-post", type=float, default=0.025)
    parser.add_argument("--ivector-dim", type=int, default=200)
    parser.add_argument("--extractor-iters", type=int, default=5)
    parser.add_argument("--lda-dim", type=int, default=200)
    parser.add_argument("--plda-iters", type=int, default=10)
    parser.add_argument("--seed", type=int, default=777)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--out", type=Path, help="write the scores under OUT/scores")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    stamp = lambda what: print(f"[{time.perf_counter() - start:6.1f} s] {what}", flush=True)

    train, test = features(args.corpus / "train"), features(args.corpus / "eval")
    stamp(f"features: {len(train)} training and {len(test)} evaluation utterances")
    ubm, n_frames, n_sub = train_ubm(train, args)
    stamp(f"UBM: {ubm.n_components} {'full' if isinstance(ubm, ivkit.FullGmm) else 'diagonal'}-covariance Gaussians "
          f"({n_frames} frames, {n_sub} after subsampling)")

    stats = ivkit.Statistics.from_features(ubm, train, gselect=args.gselect, min_post=args.min_post, threads=args.threads)
    extractor, objective = ivkit.IvectorExtractor.train(ubm, stats.zeroth, stats.first, args.ivector_dim, init="pca",
                                                        num_iterations=args.extractor_iters, threads=args.threads)
    stamp(f"extractor: R = {extractor.ivector_dim}, objective {objective[0]:.1f} -> {objective[-1]:.1f}")
    train_iv = ivkit.extract_ivectors(extractor, stats, threads=args.threads)
    test_stats = ivkit.Statistics.from_features(ubm, test, gselect=args.gselect, min_post=args.min_post,
                                                threads=args.threads)
    test_iv = ivkit.extract_ivectors(extractor, test_stats, threads=args.threads)
    stamp("i-vectors extracted")

    speakers = {}
    utt2spk = {key: spk.strip() for key, spk in read_table(args.corpus / "train" / "utt2spk")}
    labels = np.array([speakers.setdefault(utt2spk[k], len(speakers)) for k in stats.ids])
    dim = min(args.lda_dim, len(speakers) - 1, args.ivector_dim)
    pipeline = ivkit.TransformPipeline(dtype=np.float32).centre().lda(dim).length_norm()
    train_lda = pipeline.fit_transform(train_iv, labels)
    plda = ivkit.Plda.train(train_lda, labels, num_em_iters=args.plda_iters)
    embedded = pipeline.transform(test_iv)

    # Trials naming an utterance without an i-vector (no voiced frame) are skipped, as Kaldi's scoring does.
    index = {k: i for i, k in enumerate(test_stats.ids)}
    trials = [line.split() for line in open(args.corpus / "eval" / "trials") if line.strip()]
    trials = [t for t in trials if t[0] in index and t[1] in index]
    e = np.array([index[t[0]] for t in trials])
    t = np.array([index[t[1]] for t in trials])
    target = np.array([t_[2] == "target" for t_ in trials])
    results = {}
    systems = (("plda", plda.score_trials(embedded, embedded, e, t, threads=args.threads)),
               ("cosine_lda", ivkit.cosine_score_trials(embedded, embedded, e, t, threads=args.threads)),
               ("cosine_raw", ivkit.cosine_score_trials(test_iv, test_iv, e, t, threads=args.threads)))
    if args.out:
        (args.out / "scores").mkdir(parents=True, exist_ok=True)
    for name, scores in systems:
        eer = ivkit.eer(scores[target], scores[~target], convention="kaldi")
        dcf = ivkit.min_dcf(scores[target], scores[~target], p_target=0.01)
        results[name] = eer.eer
        stamp(f"{name}: EER {100 * eer.eer:.2f}% (Kaldi's compute-eer), minDCF(0.01) {dcf.value:.4f}, "
              f"{target.sum()} targets, {(~target).sum()} non-targets")
        if args.out:
            write_scores(args.out / "scores" / f"trials.{name}", trials, scores)
    return results


if __name__ == "__main__":
    main()
