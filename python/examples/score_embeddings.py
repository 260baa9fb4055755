"""Scores speaker embeddings with PLDA, AS-norm and calibration from Python; reports EER, minDCF,
actDCF and Cllr.

    python3 score_embeddings.py --train train.npz --enrol enrol.npz --test test.npz --trials trials

Each .npz holds one embedding per utterance (ESPnet's and WeSpeaker's embedding files: key ->
vector); utterance keys start with the speaker id up to --speaker-separator ("spk1-utt3"). A trials
file has lines "enrol_key test_key target|nontarget". The training embeddings serve as the AS-norm
cohort; the calibration is trained on every other trial and evaluated on the rest. Without
arguments the script makes a synthetic set of 200 speakers and scores it, so it runs anywhere.
"""
import argparse

import numpy as np

import ivkit


def load_npz(path):
    """(ids, N x R float64 matrix) of an .npz holding one (R,) or (1, R) embedding per utterance."""
    return ivkit.io.read_npz_embeddings(path, dtype=np.float64)


def synthetic(rng, n_speakers, per_speaker, dim):
    """Speakers spread in every direction, and a session effect that is strong in a few directions
    (the channel): what PLDA models and cosine scoring does not."""
    centres = rng.standard_normal((n_speakers, dim))
    channel = np.random.default_rng(99).standard_normal((dim, 5)) * 0.8
    keys, rows = [], []
    for s in range(n_speakers):
        for u in range(per_speaker):
            keys.append(f"spk{s:03d}-utt{u}")
            rows.append(centres[s] + 0.7 * rng.standard_normal(dim) + channel @ rng.standard_normal(5))
    return keys, np.array(rows)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train")
    parser.add_argument("--enrol")
    parser.add_argument("--test")
    parser.add_argument("--trials")
    parser.add_argument("--speaker-separator", default="-")
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(7)
    if args.train:
        train_keys, train = load_npz(args.train)
        enrol_keys, enrol = load_npz(args.enrol)
        test_keys, test = load_npz(args.test)
        trials = [line.split() for line in open(args.trials) if line.strip()]
    else:
        train_keys, train = synthetic(rng, 200, 8, 40)
        # 50 other speakers, 4 utterances each: the first enrols, the other three are tests.
        keys, vectors = synthetic(np.random.default_rng(8), 50, 4, 40)
        first = np.array([k.endswith("-utt0") for k in keys])
        enrol_keys, enrol = [k for k, f in zip(keys, first) if f], vectors[first]
        test_keys, test = [k for k, f in zip(keys, first) if not f], vectors[~first]
        trials = [(e, t, "target" if e.split("-")[0] == t.split("-")[0] else "nontarget")
                  for e in enrol_keys for t in test_keys]
    speakers = {}
    labels = np.array([speakers.setdefault(k.split(args.speaker_separator)[0], len(speakers)) for k in train_keys])

    # Centre on the training mean, then PLDA with Kaldi's length normalisation.
    mean = train.mean(axis=0)
    plda = ivkit.Plda.train(train - mean, labels)
    enrol_index = {k: i for i, k in enumerate(enrol_keys)}
    test_index = {k: i for i, k in enumerate(test_keys)}
    e = np.array([enrol_index[t[0]] for t in trials])
    t = np.array([test_index[t[1]] for t in trials])
    is_target = np.array([t_[2] == "target" for t_ in trials])
    scores = plda.score_trials(enrol - mean, test - mean, e, t, threads=args.threads)
    cosine = ivkit.cosine_score_trials(enrol - mean, test - mean, e, t, threads=args.threads)

    # Adaptive s-norm against the training embeddings as cohort (top 100 cohort scores of each side).
    cohort = train - mean
    enrol_cohort = plda.score_matrix(enrol - mean, cohort, threads=args.threads)
    cohort_test = plda.score_matrix(cohort, test - mean, threads=args.threads)
    normed = ivkit.normalise_trial_scores(scores, e, t, "s", enrol_cohort=enrol_cohort, cohort_test=cohort_test,
                                          top_k=min(100, len(cohort)), threads=args.threads)

    for name, s in (("PLDA", scores), ("PLDA+AS", normed), ("cosine", cosine)):
        eer = ivkit.eer(s[is_target], s[~is_target])
        dcf = ivkit.min_dcf(s[is_target], s[~is_target], p_target=0.01)
        print(f"{name:8s} EER {100 * eer.eer:.2f}%  minDCF(0.01) {dcf.value:.4f}  "
              f"minCllr {ivkit.min_cllr(s[is_target], s[~is_target]):.3f}  ({is_target.sum()} targets, "
              f"{(~is_target).sum()} non-targets)")

    # Calibration: trained on the even trials, evaluated on the odd ones.
    fit, held = np.arange(len(trials)) % 2 == 0, np.arange(len(trials)) % 2 == 1
    calibration = ivkit.LinearCalibration.train(normed[fit & is_target], normed[fit & ~is_target], prior=0.01)
    llr = calibration(normed[held])
    tar, non = llr[is_target[held]], llr[~is_target[held]]
    print(f"calibrated PLDA+AS on held-out trials: actDCF(0.01) {ivkit.act_dcf(tar, non, p_target=0.01).value:.4f} "
          f"(minDCF {ivkit.min_dcf(tar, non, p_target=0.01).value:.4f}), Cllr {ivkit.cllr(tar, non):.3f} "
          f"(minCllr {ivkit.min_cllr(tar, non):.3f})")
    return scores, is_target


if __name__ == "__main__":
    main()
