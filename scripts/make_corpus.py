#!/usr/bin/env python3
"""ivkit's synthetic speaker-recognition corpus: espeak-ng voices, sox channels, Kaldi data folders.

Run it through scripts/make_corpus.sh (which installs espeak-ng, sox and python3 when missing).

Speakers. Each pseudo-speaker is an espeak-ng voice (an English accent, or another language's
voice reading English: a non-native accent) with its own voice variant file: pitch base and range,
the frequency, height and width of formants 0-8 (a common vocal-tract scale per speaker, jittered
per formant), roughness, flutter, voicing, consonant strength, spectral tone, sometimes breath and
the Klatt glottal source. A speaking rate (words per minute) and a sox vocal-tract warp (`speed a`
then `tempo 1/a`: formants and pitch scaled by a, duration kept) complete the speaker.

Sessions. Every utterance has its own text (sentences drawn from a built-in grammar and
vocabulary, so the corpus is text-independent and needs nothing from the machine), a small change
of pitch, rate and loudness, and a channel: room reverberation (sometimes), additive noise (white,
pink, brown or babble of other synthetic talkers that are not in the corpus) at a random SNR,
band-limiting (telephone band or a random band) and peaking-EQ filters, sometimes an 8 kHz
u-law or A-law round trip, and a random peak level.

Output (OUTDIR): wav/<spk>/<utt>.wav (16 kHz, 16-bit, mono); Kaldi data folders train/ and
eval/ (wav.scp with absolute paths, utt2spk, spk2utt, text, utt2dur, spk2gender), disjoint
speakers; eval/trials ("utt1 utt2 target|nontarget", every pair of eval utterances, or every
target pair and random non-target pairs when there are more than --max-trials pairs);
speakers.tsv, utterances.tsv (every drawn parameter), README.txt, and .complete (the command
line, written last). Deterministic for a given seed, options and espeak-ng/sox versions: every
random draw is made up front from one generator, and sox runs with -R (repeatable).
"""
import argparse
import array
import math
import os
import random
import shutil
import subprocess
import sys
import time
import wave
from concurrent.futures import ThreadPoolExecutor

SR = 16000

# espeak-ng voices (all read English text) and how often speakers get them.
VOICES = [
    ('en-us', 4), ('en-gb', 3), ('en-gb-scotland', 2), ('en-gb-x-rp', 2), ('en-gb-x-gbclan', 2),
    ('en-gb-x-gbcwmd', 2), ('en-029', 2), ('en-us-nyc', 2), ('de', 1), ('nl', 1), ('fr-fr', 1),
    ('es', 1), ('it', 1), ('pl', 1), ('sv', 1), ('pt-br', 1), ('af', 1),
]

# ---------------------------------------------------------------------------------------------
# Text: a small grammar over a fixed vocabulary (same text for a seed on every machine).
DET = ['the', 'a', 'every', 'that', 'this', 'one', 'some', 'my', 'our', 'their', 'his', 'her', 'your']
ADJ = ['quiet', 'bright', 'old', 'young', 'heavy', 'narrow', 'golden', 'broken', 'careful', 'empty',
       'patient', 'distant', 'yellow', 'silver', 'wooden', 'gentle', 'sudden', 'purple', 'clever',
       'muddy', 'frozen', 'tiny', 'enormous', 'lonely', 'famous', 'rusty', 'smooth', 'bitter',
       'curious', 'ancient', 'noisy', 'polite', 'modern', 'crowded', 'green', 'warm', 'cold',
       'strange', 'simple', 'hidden']
NOUN = ['river', 'teacher', 'window', 'garden', 'letter', 'village', 'machine', 'doctor', 'bottle',
        'mountain', 'painter', 'candle', 'market', 'engine', 'island', 'blanket', 'farmer', 'ladder',
        'station', 'kitchen', 'pocket', 'forest', 'captain', 'basket', 'bridge', 'neighbour',
        'library', 'hammer', 'orange', 'pilot', 'carpet', 'lantern', 'harbour', 'student', 'wagon',
        'pencil', 'soldier', 'mirror', 'tunnel', 'rabbit', 'compass', 'castle', 'violin', 'tractor',
        'shadow', 'message', 'factory', 'cousin', 'meadow', 'jacket', 'guitar', 'dolphin',
        'museum', 'feather', 'monster', 'wizard', 'cabinet', 'elephant', 'umbrella', 'newspaper']
VERB = ['carried', 'painted', 'followed', 'opened', 'repaired', 'watched', 'borrowed', 'dropped',
        'noticed', 'visited', 'described', 'cleaned', 'pushed', 'ordered', 'remembered', 'found',
        'sold', 'built', 'taught', 'caught', 'forgot', 'brought', 'measured', 'collected',
        'answered', 'delivered', 'counted', 'covered', 'examined', 'guarded', 'hid', 'lifted',
        'moved', 'packed', 'pulled', 'replaced', 'shared', 'showed', 'tested', 'wrapped']
ADV = ['slowly', 'quickly', 'quietly', 'carefully', 'suddenly', 'happily', 'nearly', 'gently',
       'proudly', 'loudly', 'easily', 'calmly', 'rarely', 'often', 'finally', 'barely']
PREP = ['near', 'behind', 'under', 'across', 'beside', 'inside', 'along', 'past', 'over', 'around',
        'beyond', 'through', 'above', 'below', 'towards']
WHEN = ['this morning', 'last night', 'at noon', 'in the spring', 'before dinner', 'after the storm',
        'on monday', 'every evening', 'during the winter', 'at dawn', 'on friday afternoon',
        'yesterday', 'in october', 'at half past seven', 'after lunch', 'last summer']
CONJ = ['because', 'while', 'although', 'when', 'after', 'before', 'until', 'since', 'and', 'but']
NUM = ['two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'eleven', 'twelve',
       'twenty', 'forty', 'a hundred', 'a dozen']
NAME = ['Anna', 'Peter', 'Maria', 'Thomas', 'Laura', 'David', 'Sophie', 'Martin', 'Julia', 'Oscar',
        'Helen', 'Victor', 'Nora', 'Samuel', 'Clara', 'Felix']


def noun_phrase(r):
    k = r.random()
    if k < 0.12:
        return r.choice(NAME)
    if k < 0.22:
        return '%s %s %ss' % (r.choice(NUM), r.choice(ADJ), r.choice(NOUN))
    if k < 0.6:
        return '%s %s %s' % (r.choice(DET), r.choice(ADJ), r.choice(NOUN))
    return '%s %s' % (r.choice(DET), r.choice(NOUN))


def clause(r):
    s = '%s %s %s' % (noun_phrase(r), r.choice(VERB), noun_phrase(r))
    k = r.random()
    if k < 0.35:
        s += ' %s %s' % (r.choice(PREP), noun_phrase(r))
    elif k < 0.55:
        s += ' ' + r.choice(WHEN)
    elif k < 0.7:
        s = s.replace(' ', ' %s ' % r.choice(ADV), 1) if r.random() < 0.5 else s + ' ' + r.choice(ADV)
    return s


def sentence(r):
    k = r.random()
    if k < 0.45:
        s = clause(r)
    elif k < 0.7:
        s = '%s %s' % (clause(r), r.choice(CONJ) + ' ' + clause(r))
    elif k < 0.8:
        s = '%s, %s' % (r.choice(WHEN).capitalize(), clause(r))
    elif k < 0.9:
        return 'Did %s really see %s %s %s?' % (noun_phrase(r), noun_phrase(r), r.choice(PREP), noun_phrase(r))
    else:
        s = '%s was %s and %s' % (noun_phrase(r), r.choice(ADJ), r.choice(ADJ))
    return s[0].upper() + s[1:] + '.'


def text_of_words(r, words):
    """Sentences until about `words` words."""
    out = []
    while sum(len(s.split()) for s in out) < words:
        out.append(sentence(r))
    return ' '.join(out)


# ---------------------------------------------------------------------------------------------
def log(msg):
    print('make_corpus: %s %s' % (time.strftime('%H:%M:%S'), msg), file=sys.stderr, flush=True)


def run(cmd, stdin=None):
    p = subprocess.run(cmd, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        raise RuntimeError('%s failed (exit %d): %s' % (' '.join(cmd)[:400], p.returncode,
                                                        p.stderr.decode(errors='replace')[-600:]))
    return p.stdout


def read_pcm16(path):
    with wave.open(path, 'rb') as w:
        if w.getsampwidth() != 2 or w.getnchannels() != 1:
            raise RuntimeError('%s: expected 16-bit mono' % path)
        a = array.array('h', w.readframes(w.getnframes()))
        rate = w.getframerate()
    if sys.byteorder == 'big':
        a.byteswap()
    return a, rate


def rms_and_duration(path):
    a, rate = read_pcm16(path)
    rms = math.sqrt(sum(x * x for x in a) / max(1, len(a))) / 32768.0
    return rms, len(a) / float(rate)


def draw_speaker(r, sid, gender):
    """One pseudo-speaker: espeak-ng voice, variant file text, rate, warp."""
    ri = lambda lo, hi: int(round(r.uniform(lo, hi)))
    voices, weights = zip(*VOICES)
    voice = r.choices(voices, weights)[0]
    if gender == 'm':
        base = ri(70, 130)
        pitch = (base, base + ri(30, 95))
        tract = r.uniform(0.88, 1.04)      # formant scale: longer vocal tracts on average
    else:
        base = ri(135, 220)
        pitch = (base, base + ri(40, 110))
        tract = r.uniform(1.02, 1.20)
    lines = ['language variant', 'name %s' % sid, 'gender %s' % ('male' if gender == 'm' else 'female'),
             'pitch %d %d' % pitch, 'formant 0 %d %d %d' % (ri(85, 115), ri(80, 120), ri(80, 150))]
    for k in range(1, 9):
        lines.append('formant %d %d %d %d' % (k, round(100 * tract * r.uniform(0.95, 1.05)),
                                              ri(60, 130) if k <= 5 else ri(30, 110), ri(70, 160)))
    lines += ['roughness %d' % r.choice([0, 0, 0, 1, 2, 3, 4]),
              'flutter %d' % ri(0, 30),
              'voicing %d' % ri(80, 150),
              'consonants %d %d' % (ri(75, 130), ri(75, 130)),
              'tone %d %d %d %d %d %d' % (ri(400, 800), ri(120, 240), ri(1000, 1600), ri(90, 170),
                                          ri(1800, 2800), ri(50, 140))]
    if r.random() < 0.3:
        lines.append('breath %s' % ' '.join(str(ri(0, 6)) for _ in range(8)))
    if r.random() < 0.2:
        lines.append('klatt %d' % r.choice([1, 2, 3, 4]))
    return dict(spk=sid, gender=gender, voice=voice, variant='\n'.join(lines) + '\n',
                wpm=ri(135, 195), warp=round(r.uniform(0.90, 1.10), 4))


def espeak_home(root, sysdata, sid, variant):
    """A private espeak-ng data folder whose voices/!v holds only this speaker's variant (espeak-ng
    lists a limited number of voices, so thousands of variant files in one folder would be lost)."""
    data = os.path.join(root, sid, 'espeak-ng-data')
    os.makedirs(os.path.join(data, 'voices', '!v'))
    for e in sorted(os.listdir(sysdata)):
        if e != 'voices':
            os.symlink(os.path.join(sysdata, e), os.path.join(data, e))
    for e in sorted(os.listdir(os.path.join(sysdata, 'voices'))):
        if e != '!v':
            os.symlink(os.path.join(sysdata, 'voices', e), os.path.join(data, 'voices', e))
    with open(os.path.join(data, 'voices', '!v', sid), 'w') as f:
        f.write(variant)
    return os.path.join(root, sid)


def espeak_data_dir():
    out = run(['espeak-ng', '--version']).decode()
    if 'Data at:' in out:
        return out.split('Data at:')[1].split()[0]
    return '/usr/lib/x86_64-linux-gnu/espeak-ng-data'


def synthesize(sp, text, pitch, wpm, amp, dst_clean, warp, pads, reverb, tmp):
    """espeak-ng -> 16 kHz with the vocal-tract warp, silence pads and optional reverberation."""
    raw = dst_clean[:-4] + '_raw.wav'
    run(['espeak-ng', '--path=' + sp['home'], '-v', '%s+%s' % (sp['voice'], sp['spk']), '-s', str(wpm),
         '-p', str(pitch), '-a', str(amp), '-w', raw, text])
    fx = ['speed', '%.4f' % warp, 'tempo', '-s', '%.4f' % (1.0 / warp), 'rate', '-v', str(SR)]
    if reverb:
        fx += ['reverb', str(reverb[0]), '50', str(reverb[1])]
    fx += ['pad', '%.3f' % pads[0], '%.3f' % pads[1]]
    run(['sox', '-R', raw, '-r', str(SR), '-b', '16', '-c', '1', dst_clean] + fx)
    os.remove(raw)


def channel_effects(ch):
    fx = []
    if ch['band']:
        fx += ['sinc', '%d-%d' % tuple(ch['band'])]
    for f, q, g in ch['eq']:
        fx += ['equalizer', str(f), '%gq' % q, '%g' % g]
    return fx


def augment(clean, out, ch, noise, tmp):
    """Noise at the drawn SNR (relative to the speech RMS), channel filters, optional codec, level."""
    speech_rms, dur = rms_and_duration(clean)
    path, noise_rms, noise_len = noise[ch['noise']]
    gain = speech_rms / (noise_rms * 10 ** (ch['snr'] / 20.0))
    start = ch['noise_offset'] * max(0.0, noise_len - dur - 0.1)
    noise_in = '|sox -R %s -p trim %.4f %.4f' % (path, start, dur)
    mix = ['sox', '-R', '-m', '-v', '0.3', clean, '-v', '%.6g' % (0.3 * gain), noise_in]
    level = ['gain', '-n', '-%g' % ch['level']]
    if not ch['codec']:
        run(mix + ['-b', '16', '-c', '1', out, 'trim', '0', '%.4f' % dur] + channel_effects(ch) + level)
        return
    coded = os.path.join(tmp, os.path.basename(out)[:-4] + '.codec.wav')
    run(mix + ['-r', '8000', '-e', ch['codec'], '-c', '1', coded, 'trim', '0', '%.4f' % dur] +
        channel_effects(ch) + ['gain', '-n', '-1'])
    run(['sox', '-R', coded, '-r', str(SR), '-b', '16', '-e', 'signed-integer', '-c', '1', out] + level)
    os.remove(coded)


def draw_channel(r, noise_names):
    ch = dict(snr=round(r.uniform(ARGS.snr_min, ARGS.snr_max), 1),
              noise=r.choice(noise_names), noise_offset=round(r.random(), 4),
              level=round(r.uniform(1, 20), 1), band=None, eq=[], codec=None)
    k = r.random()
    if k < 0.2:
        ch['band'] = (300, 3400)
    elif k < 0.6:
        ch['band'] = (r.randrange(50, 400, 10), r.randrange(3000, 7700, 100))
    ch['eq'] = [(r.randrange(150, 6000, 50), round(r.uniform(0.5, 2.0), 2), round(r.uniform(-10, 8), 1))
                for _ in range(r.randint(0, 2))]
    if r.random() < 0.15:
        ch['codec'] = r.choice(['u-law', 'a-law'])
    return ch


def channel_str(ch, reverb):
    parts = ['snr=%g' % ch['snr'], 'noise=%s' % ch['noise']]
    if reverb:
        parts.append('reverb=%d:%d' % reverb)
    if ch['band']:
        parts.append('band=%d-%d' % tuple(ch['band']))
    if ch['eq']:
        parts.append('eq=' + '/'.join('%d:%g:%g' % e for e in ch['eq']))
    if ch['codec']:
        parts.append('codec=' + ch['codec'])
    parts.append('peak=-%gdB' % ch['level'])
    return ','.join(parts)


def parallel(fn, items, jobs, what):
    t0, done = time.time(), 0
    with ThreadPoolExecutor(max_workers=jobs) as ex:
        for _ in ex.map(fn, items):
            done += 1
            if done % max(1, len(items) // 5) == 0 or done == len(items):
                log('%s %d/%d (%.0f s)' % (what, done, len(items), time.time() - t0))


def write_data_dir(d, utts, speakers):
    os.makedirs(d, exist_ok=True)
    utts = sorted(utts, key=lambda u: u['utt'])
    spk2utt = {}
    for u in utts:
        spk2utt.setdefault(u['spk'], []).append(u['utt'])

    def put(name, lines):
        with open(os.path.join(d, name), 'w', encoding='utf-8') as f:
            f.writelines(l + '\n' for l in lines)
    put('wav.scp', ['%s %s' % (u['utt'], u['wav']) for u in utts])
    put('utt2spk', ['%s %s' % (u['utt'], u['spk']) for u in utts])
    put('spk2utt', ['%s %s' % (s, ' '.join(spk2utt[s])) for s in sorted(spk2utt)])
    put('text', ['%s %s' % (u['utt'], u['text']) for u in utts])
    put('utt2dur', ['%s %.3f' % (u['utt'], u['dur']) for u in utts])
    put('spk2gender', ['%s %s' % (s, speakers[s]['gender']) for s in sorted(spk2utt)])


def write_trials(path, utts, r, max_trials):
    ids = sorted(u['utt'] for u in utts)
    spk = {u['utt']: u['spk'] for u in utts}
    pairs = [(a, b) for i, a in enumerate(ids) for b in ids[i + 1:]]
    targets = [p for p in pairs if spk[p[0]] == spk[p[1]]]
    nontargets = [p for p in pairs if spk[p[0]] != spk[p[1]]]
    if len(pairs) > max_trials:
        keep = max(max_trials - len(targets), min(len(nontargets), 2 * len(targets)))
        nontargets = sorted(r.sample(nontargets, min(keep, len(nontargets))))
    rows = sorted([(a, b, 'target') for a, b in targets] + [(a, b, 'nontarget') for a, b in nontargets])
    with open(path, 'w') as f:
        f.writelines('%s %s %s\n' % t for t in rows)
    return len(targets), len(nontargets)


def main():
    global ARGS
    ap = argparse.ArgumentParser(prog='make_corpus.sh', description=__doc__.split('\n')[0])
    ap.add_argument('outdir')
    ap.add_argument('--speakers', type=int, default=40, help='speakers (default 40)')
    ap.add_argument('--utts', type=int, default=10, help='utterances per speaker (default 10)')
    ap.add_argument('--seed', type=int, default=1, help='random seed (default 1)')
    ap.add_argument('--eval-fraction', type=float, default=0.3, help='share of speakers in eval/ (default 0.3)')
    ap.add_argument('--min-dur', type=float, default=3.0, help='shortest utterance, seconds of speech (default 3)')
    ap.add_argument('--max-dur', type=float, default=7.0, help='longest utterance, seconds of speech (default 7)')
    ap.add_argument('--snr-min', type=float, default=5.0, help='lowest SNR in dB (default 5)')
    ap.add_argument('--snr-max', type=float, default=25.0, help='highest SNR in dB (default 25)')
    ap.add_argument('--max-trials', type=int, default=200000,
                    help='above this many eval pairs, keep every target pair and sample non-targets (default 200000)')
    ap.add_argument('--jobs', type=int, default=os.cpu_count() or 2, help='parallel processes (default: all cores)')
    ap.add_argument('--keep-tmp', action='store_true', help='keep OUTDIR/tmp (raw and clean audio)')
    ARGS = a = ap.parse_args()
    if a.speakers < 4:
        ap.error('--speakers must be at least 4 (2 for training, 2 for evaluation)')
    if a.utts < 2:
        ap.error('--utts must be at least 2 (target trials need two utterances of a speaker)')
    if not 0 < a.eval_fraction < 1:
        ap.error('--eval-fraction must be in (0, 1)')
    if not 0.5 <= a.min_dur <= a.max_dur:
        ap.error('need 0.5 <= --min-dur <= --max-dur')
    if a.snr_min > a.snr_max:
        ap.error('need --snr-min <= --snr-max')

    t_start = time.time()
    r = random.Random(a.seed)
    out = os.path.abspath(a.outdir)
    tmp = os.path.join(out, 'tmp')
    for sub in ('wav', 'train', 'eval', 'tmp', '.complete'):
        p = os.path.join(out, sub)
        shutil.rmtree(p, ignore_errors=True) if os.path.isdir(p) else (os.path.exists(p) and os.remove(p))
    os.makedirs(tmp)
    sysdata = espeak_data_dir()

    # --- speakers: balanced genders, split into train and eval, also the babble talkers ---
    n_eval = min(a.speakers - 2, max(2, int(round(a.eval_fraction * a.speakers))))
    genders = (['m', 'f'] * a.speakers)[:a.speakers]
    r.shuffle(genders)
    speakers = {}
    for k in range(a.speakers):
        sid = 'spk%03d' % (k + 1)
        speakers[sid] = draw_speaker(r, sid, genders[k])
    order = sorted(speakers)
    r.shuffle(order)
    for i, s in enumerate(order):
        speakers[s]['split'] = 'eval' if i < n_eval else 'train'
    babblers = [draw_speaker(r, 'bab%02d' % k, 'mf'[k % 2]) for k in range(12)]
    for sp in list(speakers.values()) + babblers:
        sp['home'] = espeak_home(os.path.join(tmp, 'espeak'), sysdata, sp['spk'], sp['variant'])
    log('%d speakers (%d train, %d eval) x %d utterances, seed %d, %d jobs' %
        (a.speakers, a.speakers - n_eval, n_eval, a.utts, a.seed, a.jobs))

    # --- every utterance's parameters, drawn in a fixed order ---
    noise_names = ['white', 'pink', 'brown', 'babble0', 'babble1', 'babble2']
    utts = []
    for s in sorted(speakers):
        sp = speakers[s]
        for j in range(a.utts):
            dur = r.uniform(a.min_dur, a.max_dur)
            wpm = max(80, int(round(sp['wpm'] * r.uniform(0.92, 1.08))))
            u = dict(utt='%s-%03d' % (s, j + 1), spk=s,
                     text=text_of_words(r, max(3, int(round(dur * wpm / 60.0)))),
                     pitch=r.randint(44, 56), wpm=wpm, amp=r.randint(80, 120),
                     pads=(round(r.uniform(0.1, 0.5), 3), round(r.uniform(0.1, 0.5), 3)),
                     reverb=((r.randrange(10, 60, 5), r.randrange(10, 70, 5)) if r.random() < 0.2 else None),
                     ch=draw_channel(r, noise_names))
            u['clean'] = os.path.join(tmp, u['utt'] + '_clean.wav')
            u['wav'] = os.path.join(out, 'wav', s, u['utt'] + '.wav')
            utts.append(u)
    babble_jobs = []
    for b in babblers:
        for j in range(5):
            babble_jobs.append(dict(sp=b, text=text_of_words(r, 16), file=os.path.join(tmp, '%s_%d.wav' % (b['spk'], j))))

    # --- noise: synthetic coloured noise and babble of talkers outside the corpus ---
    noise = {}
    for kind in ('white', 'pink', 'brown'):
        p = os.path.join(tmp, kind + '.wav')
        run(['sox', '-R', '-n', '-r', str(SR), '-b', '16', '-c', '1', p, 'synth', '60', kind + 'noise',
             'highpass', '40', 'gain', '-n', '-3'])
        noise[kind] = p
    parallel(lambda job: synthesize(job['sp'], job['text'], 50, job['sp']['wpm'], 100, job['file'],
                                    job['sp']['warp'], (0.05, 0.05), None, tmp),
             babble_jobs, a.jobs, 'babble talkers')
    for k in range(3):   # each track: 4 talkers at once, each talker's utterances one after another
        streams = []
        for t in range(4):
            b = babblers[(4 * k + t) % len(babblers)]
            files = [j['file'] for j in babble_jobs if j['sp'] is b]
            s = os.path.join(tmp, 'babble%d_%d.wav' % (k, t))
            run(['sox', '-R'] + files + files + [s])
            streams.append(s)
        p = os.path.join(tmp, 'babble%d.wav' % k)
        run(['sox', '-R', '-m'] + streams + ['-b', '16', p, 'gain', '-n', '-3'])
        noise['babble%d' % k] = p
    noise = {k: (p,) + rms_and_duration(p) for k, p in noise.items()}

    # --- utterances: synthesis, then the channel ---
    for s in speakers:
        os.makedirs(os.path.join(out, 'wav', s))

    def make(u):
        sp = speakers[u['spk']]
        synthesize(sp, u['text'], u['pitch'], u['wpm'], u['amp'], u['clean'], sp['warp'], u['pads'], u['reverb'], tmp)
        augment(u['clean'], u['wav'], u['ch'], noise, tmp)
        u['dur'] = rms_and_duration(u['wav'])[1]
        if not a.keep_tmp:
            os.remove(u['clean'])
    parallel(make, utts, a.jobs, 'utterances')

    # --- data folders, trials, metadata ---
    for split in ('train', 'eval'):
        write_data_dir(os.path.join(out, split), [u for u in utts if speakers[u['spk']]['split'] == split], speakers)
    n_tar, n_non = write_trials(os.path.join(out, 'eval', 'trials'),
                                [u for u in utts if speakers[u['spk']]['split'] == 'eval'], r, a.max_trials)
    cols = ['spk', 'split', 'gender', 'voice', 'wpm', 'warp']
    with open(os.path.join(out, 'speakers.tsv'), 'w') as f:
        f.write('\t'.join(cols + ['variant']) + '\n')
        for s in sorted(speakers):
            sp = speakers[s]
            f.write('\t'.join(str(sp[c]) for c in cols) + '\t' + sp['variant'].strip().replace('\n', '; ') + '\n')
    with open(os.path.join(out, 'utterances.tsv'), 'w') as f:
        f.write('utt\tspk\tdur\tpitch\twpm\tchannel\ttext\n')
        for u in utts:
            f.write('%s\t%s\t%.3f\t%d\t%d\t%s\t%s\n' % (u['utt'], u['spk'], u['dur'], u['pitch'], u['wpm'],
                                                        channel_str(u['ch'], u['reverb']), u['text']))
    hours = sum(u['dur'] for u in utts) / 3600.0
    with open(os.path.join(out, 'README.txt'), 'w') as f:
        f.write(README % dict(cmd=' '.join(sys.argv[1:]), nspk=a.speakers, ntrain=a.speakers - n_eval, neval=n_eval,
                              nutt=len(utts), hours=hours, ntar=n_tar, nnon=n_non, snr_min=a.snr_min,
                              snr_max=a.snr_max))
    if not a.keep_tmp:
        shutil.rmtree(tmp)
    with open(os.path.join(out, '.complete'), 'w') as f:
        f.write(' '.join(['--speakers', str(a.speakers), '--utts', str(a.utts), '--seed', str(a.seed)]) + '\n')
    log('done: %d speakers, %d utterances, %.2f h of audio, %d target and %d non-target trials, %.0f s' %
        (a.speakers, len(utts), hours, n_tar, n_non, time.time() - t_start))


README = '''Synthetic speaker-recognition corpus made by ivkit's scripts/make_corpus.sh %(cmd)s

%(nspk)d pseudo-speakers (espeak-ng voices with per-speaker variant files: pitch, formant scales,
roughness, flutter, voicing, tone; speaking rate; sox vocal-tract warp), %(ntrain)d for training
and %(neval)d for evaluation (disjoint); %(nutt)d utterances, %(hours).2f hours, 16 kHz 16-bit mono.
Every utterance: its own text, pitch/rate/loudness change, optional reverberation, noise
(white/pink/brown/babble) at %(snr_min)g-%(snr_max)g dB SNR, band-limiting and EQ, sometimes an
8 kHz u-law/A-law round trip, random level (details in utterances.tsv and speakers.tsv).

train/ eval/   Kaldi data folders: wav.scp utt2spk spk2utt text utt2dur spk2gender
eval/trials    "utt1 utt2 target|nontarget": %(ntar)d target and %(nnon)d non-target trials
'''

if __name__ == '__main__':
    main()
