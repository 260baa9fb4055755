#!/usr/bin/env bash
# ivkit's synthetic speaker-recognition corpus, made from espeak-ng voices and sox channels.
#
#   bash scripts/make_corpus.sh OUTDIR [--speakers N (40)] [--utts N per speaker (10)] [--seed N (1)]
#        [--eval-fraction F (0.3)] [--min-dur S (3)] [--max-dur S (7)] [--snr-min DB (5)] [--snr-max DB (25)]
#        [--max-trials N (200000)] [--jobs N (all cores)] [--keep-tmp]
#
# Writes OUTDIR/wav/<spk>/<utt>.wav (16 kHz, 16-bit, mono), the Kaldi data folders OUTDIR/train and
# OUTDIR/eval (wav.scp, utt2spk, spk2utt, text, utt2dur, spk2gender; disjoint speakers),
# OUTDIR/eval/trials ("utt1 utt2 target|nontarget"), speakers.tsv, utterances.tsv, README.txt and,
# last, OUTDIR/.complete. Deterministic for a seed. Details: scripts/make_corpus.py.
# Installs espeak-ng, sox, libsox-fmt-base and python3 when missing (through sudo when not root).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ $# -lt 1 ] || [ "$1" = "-h" ] || [ "$1" = "--help" ]; then
  sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
  [ $# -ge 1 ] && exit 0 || exit 2
fi

packages=(espeak-ng sox libsox-fmt-base python3)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "make_corpus: installing ${missing[*]}" >&2
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Debian's own interpreter (a pyenv or virtualenv python3 earlier on PATH works as well).
python=/usr/bin/python3
[ -x "$python" ] || python=$(command -v python3)
exec "$python" "$here/make_corpus.py" "$@"
