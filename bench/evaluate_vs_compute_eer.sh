#!/usr/bin/env bash
# ivkit-evaluate against Kaldi's compute-eer on the same scores, whole processes, one thread: time
# (median of 3 runs, the two programs alternating) and peak resident memory (GNU time's %M).
# It builds nothing: it takes a compute-eer binary (a Kaldi build's src/ivectorbin/compute-eer, see
# ../shared/kaldi/build_kaldi.sh) and ivkit's build folder of the tools.
#
#   bench/evaluate_vs_compute_eer.sh COMPUTE_EER IVKIT_TOOLS_DIR [N_TRIALS ...]
#
# IVKIT_TOOLS_DIR holds ivkit-evaluate and ivkit_make_tool_data (build/<dir>/tools). For each N
# (default 1000000) it writes N trials and their scores in the same order (ivkit_make_tool_data
# --trials: 10% targets), Kaldi's input ('score target|nontarget', as the recipes make it with
# paste and awk), and the same scores shuffled (ivkit-evaluate's key index). The EER printed by
# both must agree. Work files go to $TMPDIR (or /tmp) and are removed at the end.
set -euo pipefail

if [[ $# -lt 2 ]]; then sed -n 2,13p "$0" >&2; exit 2; fi
COMPUTE_EER=$1
TOOLS=$2
shift 2
SIZES=("$@")
[[ ${#SIZES[@]} -gt 0 ]] || SIZES=(1000000)
[[ -x $COMPUTE_EER ]] || { echo "no compute-eer at '$COMPUTE_EER'" >&2; exit 1; }
for t in ivkit-evaluate ivkit_make_tool_data; do [[ -x $TOOLS/$t ]] || { echo "no $t in '$TOOLS'" >&2; exit 1; }; done
[[ -x /usr/bin/time ]] || { echo "needs GNU time (/usr/bin/time: apt-get install -y time)" >&2; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/ivkit_eval_bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# measure OUT_PREFIX COMMAND...: appends "seconds peak_kib" of one run to OUT_PREFIX.runs; the
# command's stdout (the EER) to OUT_PREFIX.out.
measure() {
  local prefix=$1
  shift
  /usr/bin/time -f "%e %M" -o "$WORK/time" "$@" >"$prefix.out" 2>/dev/null
  cat "$WORK/time" >>"$prefix.runs"
}

# median FILE COLUMN
median() { sort -n -k"$2" "$1" | awk -v c="$2" '{ v[NR] = $c } END { print v[int((NR + 1) / 2)] }'; }

printf '%-12s %-34s %10s %12s %8s\n' trials program seconds "peak MiB" EER
for n in "${SIZES[@]}"; do
  d=$WORK/n$n
  "$TOOLS/ivkit_make_tool_data" "$d" --trials "$n" >/dev/null
  paste -d ' ' <(cut -d ' ' -f 3 "$d/scores") <(cut -d ' ' -f 3 "$d/trials") >"$d/kaldi_input"
  shuf --random-source=<(yes) "$d/scores" >"$d/scores_shuffled"
  for run in 1 2 3; do
    measure "$d/kaldi" "$COMPUTE_EER" "$d/kaldi_input"
    measure "$d/ivkit" "$TOOLS/ivkit-evaluate" -q --format kaldi "$d/trials" "$d/scores"
    measure "$d/ivkit_shuffled" "$TOOLS/ivkit-evaluate" -q --format kaldi "$d/trials" "$d/scores_shuffled"
  done
  for p in kaldi ivkit ivkit_shuffled; do
    case $p in
      kaldi) name="compute-eer (joined input)" ;;
      ivkit) name="ivkit-evaluate trials scores" ;;
      ivkit_shuffled) name="ivkit-evaluate (scores shuffled)" ;;
    esac
    printf '%-12s %-34s %10s %12.1f %8s\n' "$n" "$name" "$(median "$d/$p.runs" 1)" "$(awk -v k="$(median "$d/$p.runs" 2)" 'BEGIN { print k / 1024 }')" \
      "$(cat "$d/$p.out")"
  done
  # compute-eer ends its line without a newline: compare the printed numbers.
  if [[ $(cat "$d/kaldi.out") != "$(cat "$d/ivkit.out")" || $(cat "$d/kaldi.out") != "$(cat "$d/ivkit_shuffled.out")" ]]; then
    echo "the EERs differ: compute-eer $(cat "$d/kaldi.out"), ivkit-evaluate $(cat "$d/ivkit.out") / $(cat "$d/ivkit_shuffled.out")" >&2
    exit 1
  fi
  rm -rf "$d"
done
