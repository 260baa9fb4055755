#!/usr/bin/env bash
# ivkit's tools against Kaldi's binaries on the same inputs and the same Kaldi model files, as a
# user runs them: whole processes, one thread (OPENBLAS_NUM_THREADS=1, --threads 1), wall time
# (median of --runs runs, the two programs alternating) and peak resident memory (GNU time's %M:
# the largest process of a pipeline). It builds nothing: it takes a Kaldi build (see
# ../shared/kaldi/build_kaldi.sh: src/{bin,gmmbin,fgmmbin,featbin,ivectorbin}) and a folder of
# ivkit's tools (build/<dir>/tools).
#
#   bench/tools_vs_kaldi.sh KALDI_DIR IVKIT_TOOLS_DIR [--data DIR] [--utts "1 200"] [--num-gauss 2048]
#       [--ivector-dim 400] [--runs 3] [--runs-at "2000=1"] [--work DIR] [--also-tools DIR]
#       [--isa "avx2 baseline"] [--isa-sizes "200"] [--skip-kaldi] [--rows "gselect ubm_em ..."]
#       [--settle 3]
#
# --data: a Kaldi data folder with wav.scp (16 kHz); default: scripts/make_corpus.sh makes one
#   (40 speakers x 10 utterances of 3-7 s) in the work folder. Features are computed once with
#   Kaldi as egs/sre08/v1/sid computes them (20 MFCCs, deltas to order 2, sliding CMN over 300
#   frames, voiced frames only: 60 dimensions), not timed.
# Models, not timed: the diagonal UBM is ivkit-train-ubm --kaldi-format on the features (C =
#   --num-gauss), the full one Kaldi's gmm-global-to-fgmm of it, the extractor Kaldi's
#   ivector-extractor-init (R = --ivector-dim); extraction uses the extractor of one Kaldi training
#   iteration on the largest size. Every timed program reads Kaldi's files.
# Rows, for each size in --utts (the first N utterances; a size above the data's count cycles through
#   them again under new keys, "<key>-copy<k>", so that 2,000 utterances can be timed on a smaller
#   corpus): Gaussian selection (n = 20); one EM
#   iteration of the diagonal UBM over all components; i-vector extraction as sid/extract_ivectors.sh
#   runs it (with Kaldi's default objective computation, and without it) against ivkit-gselect +
#   ivkit-extract-ivectors --gselect (and ivkit-extract-ivectors selecting by itself); one extractor
#   training iteration without variance update, posteriors included, as the issue's table has it.
# --also-tools DIR times a second ivkit tools folder on the same rows (e.g. a -march=native build
#   against the baseline build with run-time kernel selection), in the same run. --isa times the
#   ivkit tools once more on each named kernel path (IVKIT_ISA, docs/conventions.md). --skip-kaldi
#   times only the ivkit tools (Kaldi's binaries still make the models). --runs-at "SIZE=K ..." runs
#   the rows of those sizes K times instead of --runs; --also-tools and --isa apply to the sizes in
#   --isa-sizes (default: every size). --rows times only the rows named (gselect ubm_em train extract
#   extract_noobjf extract_self; default: all). A work folder of an earlier run is reused (features, models,
#   the extractor); its timings are started afresh. --settle S waits S seconds before each timed run
#   (default 3): on a VM whose balloon takes back freed memory (free page reporting), a process
#   started right after a large one pays the host's faults for memory the other just freed, so
#   without the pause the order of the programs, not their code, decides much of their fixed cost.
# The table goes to stdout (Markdown) and WORK/table.md; the work folder is kept (--work, default
# a fresh folder under $TMPDIR).
set -euo pipefail

if [[ $# -lt 2 ]]; then awk 'NR > 1 && !/^#/ { exit } NR > 1' "$0" >&2; exit 2; fi
KALDI=$(cd "$1" && pwd)
TOOLS=$(cd "$2" && pwd)
shift 2
DATA="" UTTS="1 200" C=2048 R=400 RUNS=3 RUNS_AT="" WORK="" ALSO="" ISAS="" ISA_SIZES="" SKIP_KALDI=0 SETTLE=3
ROWS=(gselect ubm_em train extract extract_noobjf extract_self)
while [[ $# -gt 0 ]]; do
  case $1 in
    --data) DATA=$(cd "$2" && pwd); shift 2 ;;
    --utts) UTTS=$2; shift 2 ;;
    --num-gauss) C=$2; shift 2 ;;
    --ivector-dim) R=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --runs-at) RUNS_AT=$2; shift 2 ;;
    --isa-sizes) ISA_SIZES=$2; shift 2 ;;
    --work) WORK=$2; shift 2 ;;
    --also-tools) ALSO=$(cd "$2" && pwd); shift 2 ;;
    --isa) ISAS=$2; shift 2 ;;
    --skip-kaldi) SKIP_KALDI=1; shift ;;
    --settle) SETTLE=$2; shift 2 ;;
    --rows) read -r -a ROWS <<<"$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
REPO=$(cd "$(dirname "$0")/.." && pwd)
for d in bin gmmbin fgmmbin featbin ivectorbin; do
  [[ -d $KALDI/src/$d ]] || { echo "no $KALDI/src/$d: not a Kaldi build" >&2; exit 1; }
  PATH=$KALDI/src/$d:$PATH
done
export PATH OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 LC_ALL=C
for t in ivkit-gselect ivkit-train-ubm ivkit-extract-ivectors ivkit-train-ivector-extractor; do
  [[ -x $TOOLS/$t ]] || { echo "no $t in '$TOOLS'" >&2; exit 1; }
done
[[ -x /usr/bin/time ]] || { echo "needs GNU time (/usr/bin/time: apt-get install -y time)" >&2; exit 1; }
if [[ -z $WORK ]]; then WORK=$(mktemp -d "${TMPDIR:-/tmp}/ivkit_vs_kaldi.XXXXXX"); fi
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
cd "$WORK"
log() { echo "[$(date +%H:%M:%S)] $*" >&2; }

# ------------------------------------------------------------------ data and models (not timed)
if [[ -z $DATA ]]; then
  if [[ ! -f corpus/.complete ]]; then
    log "making a corpus (scripts/make_corpus.sh)"
    bash "$REPO/scripts/make_corpus.sh" corpus --speakers 40 --utts 10 >corpus.log 2>&1
  fi
  DATA=$WORK/corpus/train
fi
if [[ ! -s feats.scp ]]; then
  log "features (Kaldi, sid pipeline, 60 dimensions)"
  cp "$REPO/tests/data/kaldi_recipe/conf/mfcc.conf" "$REPO/tests/data/kaldi_recipe/conf/vad.conf" .
  compute-mfcc-feats --config=mfcc.conf --num-ceps=20 scp:"$DATA/wav.scp" ark,scp:mfcc.ark,mfcc.scp 2>features.log
  compute-vad --config=vad.conf scp:mfcc.scp ark,scp:vad.ark,vad.scp 2>>features.log
  add-deltas --delta-window=3 --delta-order=2 scp:mfcc.scp ark:- 2>>features.log |
    apply-cmvn-sliding --norm-vars=false --center=true --cmn-window=300 ark:- ark:- 2>>features.log |
    select-voiced-frames ark:- scp,s,cs:vad.scp ark,scp:feats.ark,feats.scp 2>>features.log
fi
total_utts=$(wc -l <feats.scp)
if [[ ! -s final.dubm ]]; then
  log "models: C = $C, R = $R"
  "$TOOLS/ivkit-train-ubm" -q --threads 0 --num-gauss "$C" --num-iters 4 --kaldi-format scp:feats.scp final.dubm
  gmm-global-to-fgmm final.dubm final.ubm 2>models.log
  ivector-extractor-init --ivector-dim="$R" --use-weights=false final.ubm 0.ie 2>>models.log
fi

# ------------------------------------------------------------------ timing
# run LABEL SIZE COMMAND: one run of a bash command line; appends "seconds peak_kib" to LABEL.SIZE.runs.
run() {
  local label=$1 size=$2
  shift 2
  sleep "$SETTLE"
  if ! /usr/bin/time -f "%e %M" -o time.txt bash -o pipefail -c "$*" >"$label.$size.out" 2>"$label.$size.err"; then
    echo "failed: $label ($size utterances): $*" >&2
    tail -5 "$label.$size.err" >&2
    exit 1
  fi
  cat time.txt >>"$label.$size.runs"
}
median() { sort -n -k"$2" "$1" | awk -v c="$2" '{ v[NR] = $c } END { print v[int((NR + 1) / 2)] }'; }

# Kaldi's programs of each row; the features are read as the recipes read them (an scp).
kaldi_row() {
  local row=$1 n=$2 f="scp:feats.$n.scp"
  case $row in
    gselect) echo "gmm-gselect --n=20 final.dubm $f ark:k_gselect.$n.ark" ;;
    ubm_em) echo "gmm-global-acc-stats final.dubm $f - | gmm-global-est final.dubm - k_1.$n.dubm" ;;
    extract | extract_noobjf)
      local objf=""; [[ $row == extract_noobjf ]] && objf="--compute-objf-change=false"
      echo "gmm-gselect --n=20 final.dubm $f ark:- | fgmm-global-gselect-to-post --min-post=0.025 final.ubm $f ark,s,cs:- ark:- |" \
        "scale-post ark:- 1.0 ark:- | ivector-extract $objf 1.ie $f ark,s,cs:- ark:k_ivectors.$n.ark" ;;
    train)
      echo "gmm-gselect --n=20 final.dubm $f ark:- | fgmm-global-gselect-to-post --min-post=0.025 final.ubm $f ark,s,cs:- ark:k_post.$n.ark &&" \
        "ivector-extractor-acc-stats --update-variances=false 0.ie $f ark:k_post.$n.ark k_acc.$n &&" \
        "ivector-extractor-est 0.ie k_acc.$n k_1.$n.ie" ;;
  esac
}
# ivkit's tools (folder $1) on the same row.
ivkit_row() {
  local tools=$1 row=$2 n=$3 tag=$4 f="scp:feats.$n.scp" t="-q --threads 1"
  case $row in
    gselect) echo "$tools/ivkit-gselect $t --n 20 final.dubm $f ark:i_gselect.$tag.$n.ark" ;;
    ubm_em) echo "$tools/ivkit-train-ubm $t --from final.dubm --num-iters 1 --kaldi-format $f i_1.$tag.$n.dubm" ;;
    extract | extract_noobjf)
      echo "$tools/ivkit-gselect $t --n 20 final.dubm $f ark:i_gs.$tag.$n.ark &&" \
        "$tools/ivkit-extract-ivectors $t --gselect ark:i_gs.$tag.$n.ark --min-post 0.025 final.ubm 1.ie $f ark:i_ivectors.$tag.$n.ark" ;;
    extract_self)
      echo "$tools/ivkit-extract-ivectors $t --num-gselect 20 --min-post 0.025 final.ubm 1.ie $f ark:i_ivectors_self.$tag.$n.ark" ;;
    train)
      echo "$tools/ivkit-gselect $t --n 20 final.dubm $f ark:i_gs_train.$tag.$n.ark &&" \
        "$tools/ivkit-train-ivector-extractor $t --from 0.ie --num-iters 1 --gselect ark:i_gs_train.$tag.$n.ark --min-post 0.025" \
        "final.ubm $f i_1.$tag.$n.ie" ;;
  esac
}

declare -A ROW_NAME=(
  [gselect]="Gaussian selection, n = 20"
  [ubm_em]="one diagonal UBM EM iteration, all components"
  [train]="one extractor training iteration (posteriors included, no variance update)"
  [extract]="i-vector extraction, sid pipeline"
  [extract_noobjf]="i-vector extraction, Kaldi with --compute-objf-change=false"
  [extract_self]="i-vector extraction, one ivkit process selecting by itself"
)
for row in "${ROWS[@]}"; do [[ -n ${ROW_NAME[$row]+set} ]] || { echo "--rows: no row '$row'" >&2; exit 2; }; done
# The first N utterances; beyond the data's count, its utterances again under new keys; sorted, as
# Kaldi's sorted-archive readers (ark,s,cs) expect.
make_scp() {
  awk -v n="$1" '{ key[NR] = $1; $1 = ""; rest[NR] = $0 }
    END { for (i = 0; i < n; ++i) { j = i % NR + 1; k = int(i / NR);
            print (k == 0 ? key[j] : key[j] "-copy" k) rest[j] } }' feats.scp | sed 's/  */ /' | sort -k1,1 >"feats.$1.scp"
}
# Runs of size $1: --runs, or its entry in --runs-at.
runs_for() {
  local entry
  for entry in $RUNS_AT; do [[ ${entry%%=*} == "$1" ]] && { echo "${entry#*=}"; return; }; done
  echo "$RUNS"
}
# Whether --also-tools and --isa apply to size $1.
compare_size() { [[ -z $ISA_SIZES ]] || [[ " $ISA_SIZES " == *" $1 "* ]]; }
rm -f sizes.txt ./*.runs  # a reused work folder: its earlier timings are not mixed in
for n in $UTTS; do
  make_scp "$n"
  frames=$(feat-to-len scp:"feats.$n.scp" ark,t:- 2>/dev/null | awk '{ s += $2 } END { print s }')
  echo "$n $frames" >>sizes.txt
  # The extractor of the extraction rows: one Kaldi training iteration on the largest size, not timed.
  if [[ ! -s 1.ie && " ${ROWS[*]} " == *" extract"* ]]; then
    largest=$(tr ' ' '\n' <<<"$UTTS" | sort -n | tail -1)
    make_scp "$largest"
    log "the extractor for extraction: Kaldi's training iteration on $largest utterances"
    run k_model "$largest" "$(kaldi_row train "$largest")"
    cp "k_1.$largest.ie" 1.ie
  fi
  for row in "${ROWS[@]}"; do
    log "$row, $n utterances ($frames frames)"
    for ((i = 0; i < $(runs_for "$n"); ++i)); do
      if [[ $SKIP_KALDI == 0 && $row != extract_self ]]; then run "k_$row" "$n" "$(kaldi_row "$row" "$n")"; fi
      run "i_$row" "$n" "$(ivkit_row "$TOOLS" "$row" "$n" base)"
      compare_size "$n" || continue
      if [[ -n $ALSO ]]; then run "a_$row" "$n" "$(ivkit_row "$ALSO" "$row" "$n" also)"; fi
      for isa in $ISAS; do run "x${isa}_$row" "$n" "export IVKIT_ISA=$isa; $(ivkit_row "$TOOLS" "$row" "$n" "$isa")"; done
    done
  done
done

# ------------------------------------------------------------------ table
{
  echo "Kaldi: $KALDI; ivkit tools: $TOOLS ($("$TOOLS/ivkit-gselect" --version | tail -1))"
  [[ -z $ALSO ]] || echo "second ivkit tools folder: $ALSO ($("$ALSO/ivkit-gselect" --version | tail -1))"
  echo "C = $C, R = $R, one thread, medians of $RUNS runs${RUNS_AT:+ ($RUNS_AT)} (seconds; peak resident MiB of the largest process)"
  echo
  header="| work | utterances (frames) | Kaldi s | ivkit s | Kaldi / ivkit | Kaldi MiB | ivkit MiB |"
  rule="|---|---|---|---|---|---|---|"
  if [[ -n $ALSO ]]; then header+=" second s | ivkit speed: second / ivkit |"; rule+="---|---|"; fi
  for isa in $ISAS; do header+=" $isa s | $isa speed: ivkit / $isa |"; rule+="---|---|"; done
  echo "$header"
  echo "$rule"
  while read -r n frames; do
    for row in "${ROWS[@]}"; do
      is=$(median "i_$row.$n.runs" 1); im=$(median "i_$row.$n.runs" 2)
      if [[ -s k_$row.$n.runs ]]; then
        ks=$(median "k_$row.$n.runs" 1); km=$(median "k_$row.$n.runs" 2)
        ratio=$(awk -v k="$ks" -v i="$is" 'BEGIN { printf "%.1fx", k / (i > 0 ? i : 0.005) }')
        km=$((km / 1024))
      else
        ks="-" km="-" ratio="-"
      fi
      line="| ${ROW_NAME[$row]} | $n ($frames) | $ks | $is | $ratio | $km | $((im / 1024)) |"
      if [[ -n $ALSO ]] && ! compare_size "$n"; then
        line+=" - | - |"
      elif [[ -n $ALSO ]]; then
        as=$(median "a_$row.$n.runs" 1)
        line+=" $as | $(awk -v a="$as" -v i="$is" 'BEGIN { printf "%.2f", a / (i > 0 ? i : 0.005) }') |"
      fi
      for isa in $ISAS; do
        compare_size "$n" || { line+=" - | - |"; continue; }
        xs=$(median "x${isa}_$row.$n.runs" 1)
        line+=" $xs | $(awk -v x="$xs" -v i="$is" 'BEGIN { printf "%.2f", i / (x > 0 ? x : 0.005) }') |"
      done
      echo "$line"
    done
  done <sizes.txt
} | tee table.md
