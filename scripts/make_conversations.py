#!/usr/bin/python3
"""Conversations for diarisation from a corpus of single-speaker utterances (a Kaldi data folder of
16-bit WAV files, e.g. the demo corpus's eval/ made by scripts/make_corpus.sh): 2 to 5 speakers take
turns (one utterance each), separated by pauses or, with --overlap, starting before the previous
turn ends (the two are mixed). Standard library only (Debian's /usr/bin/python3).

  make_conversations.py DATA_DIR OUT_DIR [--num N] [--min-speakers 2] [--max-speakers 5]
      [--turns 10] [--pause-min 0.2] [--pause-max 1.0] [--overlap 0.0] [--overlap-max 0.5] [--seed 1]
      [--speakers-mod M:R]   (only speakers whose position in sorted order is R modulo M)

OUT_DIR gets wav/<recording>.wav, wav.scp, ref.rttm (a turn per utterance, its whole length),
reco2num_spk, and segments (the speech regions: turns joined where they touch or overlap,
`recording-SSSSSSSS-EEEEEEEE recording start end`, for oracle speech activity).
"""
import argparse
import array
import os
import random
import sys
import wave


def read_table(path):
    out = {}
    with open(path) as f:
        for no, line in enumerate(f, 1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) != 2:
                sys.exit(f"make_conversations: '{path}' line {no}: expected 'key value' (a plain file path), got {len(fields)} fields")
            out[fields[0]] = fields[1]
    return out


def read_wav(path):
    with wave.open(path, "rb") as w:
        if w.getnchannels() != 1 or w.getsampwidth() != 2:
            sys.exit(f"make_conversations: '{path}' is not 16-bit mono")
        rate = w.getframerate()
        samples = array.array("h")
        samples.frombytes(w.readframes(w.getnframes()))
    if sys.byteorder != "little":
        samples.byteswap()
    return rate, samples


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("data_dir")
    p.add_argument("out_dir")
    p.add_argument("--num", type=int, default=8)
    p.add_argument("--min-speakers", type=int, default=2)
    p.add_argument("--max-speakers", type=int, default=5)
    p.add_argument("--turns", type=int, default=10, help="turns per conversation (at least one per speaker)")
    p.add_argument("--pause-min", type=float, default=0.2)
    p.add_argument("--pause-max", type=float, default=1.0)
    p.add_argument("--overlap", type=float, default=0.0, help="probability that a turn starts before the previous one ends")
    p.add_argument("--overlap-max", type=float, default=0.5, help="seconds of such an overlap at most")
    p.add_argument("--speakers-mod", default="1:0", help="M:R: only the speakers at positions R modulo M (sorted)")
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    if not (2 <= a.min_speakers <= a.max_speakers):
        sys.exit("make_conversations: need 2 <= --min-speakers <= --max-speakers")
    rng = random.Random(a.seed)
    wavs = read_table(os.path.join(a.data_dir, "wav.scp"))
    utt2spk = read_table(os.path.join(a.data_dir, "utt2spk"))
    m, r = (int(v) for v in a.speakers_mod.split(":"))
    by_spk = {}
    for utt, spk in sorted(utt2spk.items()):
        if utt not in wavs:
            sys.exit(f"make_conversations: utterance '{utt}' of utt2spk is not in wav.scp")
        if wavs[utt].endswith("|"):
            sys.exit(f"make_conversations: '{utt}' is a piped wav.scp entry; give plain files")
        by_spk.setdefault(spk, []).append(utt)
    speakers = [s for i, s in enumerate(sorted(by_spk)) if i % m == r]
    if len(speakers) < a.max_speakers:
        sys.exit(f"make_conversations: {len(speakers)} speakers, fewer than --max-speakers {a.max_speakers}")
    os.makedirs(os.path.join(a.out_dir, "wav"), exist_ok=True)
    scp, rttm, reco2num, segments = [], [], [], []
    rate = None
    for c in range(a.num):
        rec = f"conv{c:03d}"
        n = rng.randint(a.min_speakers, a.max_speakers)
        who = rng.sample(speakers, n)
        order = list(range(n)) + [None] * max(0, a.turns - n)
        for t in range(n, len(order)):  # a different speaker from the previous turn
            order[t] = rng.choice([k for k in range(n) if k != order[t - 1]])
        audio = array.array("h")
        turns = []  # (start, end, speaker) in samples
        position = 0
        for t, k in enumerate(order):
            spk = who[k]
            utt = rng.choice(by_spk[spk])
            this_rate, x = read_wav(wavs[utt])
            if rate is None:
                rate = this_rate
            elif this_rate != rate:
                sys.exit(f"make_conversations: '{wavs[utt]}' has {this_rate} Hz, the others {rate}")
            if t > 0:
                if rng.random() < a.overlap:
                    position -= min(int(rng.uniform(0.1, a.overlap_max) * rate), len(x) // 2, position - turns[-1][0])
                else:
                    position += int(rng.uniform(a.pause_min, a.pause_max) * rate)
            end = position + len(x)
            if end > len(audio):
                audio.extend([0] * (end - len(audio)))
            for i, v in enumerate(x):  # mix (clipped) where turns overlap
                s = audio[position + i] + v
                audio[position + i] = 32767 if s > 32767 else (-32768 if s < -32768 else s)
            turns.append((position, end, spk))
            position = end
        out = array.array("h", audio)
        if sys.byteorder != "little":
            out.byteswap()
        path = os.path.abspath(os.path.join(a.out_dir, "wav", rec + ".wav"))
        with wave.open(path, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(rate)
            w.writeframes(out.tobytes())
        scp.append(f"{rec} {path}\n")
        reco2num.append(f"{rec} {n}\n")
        for s, e, spk in turns:
            rttm.append(f"SPEAKER {rec} 1 {s / rate:.3f} {(e - s) / rate:.3f} <NA> <NA> {spk} <NA> <NA>\n")
        regions = []
        for s, e, _ in sorted(turns):
            if regions and s <= regions[-1][1]:
                regions[-1][1] = max(regions[-1][1], e)
            else:
                regions.append([s, e])
        for s, e in regions:
            segments.append(f"{rec}-{round(100 * s / rate):08d}-{round(100 * e / rate):08d} {rec} {s / rate:.3f} {e / rate:.3f}\n")
    for name, lines in (("wav.scp", scp), ("ref.rttm", rttm), ("reco2num_spk", reco2num), ("segments", segments)):
        with open(os.path.join(a.out_dir, name), "w") as f:
            f.writelines(lines)
    print(f"make_conversations: {a.num} conversations in {a.out_dir} ({len(rttm)} turns)", file=sys.stderr)


if __name__ == "__main__":
    main()
