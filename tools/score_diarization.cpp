// ivkit-score-diarization: the diarisation error rate of an RTTM against a reference RTTM, per
// recording and overall (NIST md-eval.pl's definition and collar convention). See
// docs/tools/score-diarization.md.
#include <cstdio>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include <ivkit/diar/rttm.hpp>
#include <ivkit/eval/der.hpp>

#include "common/cli.hpp"

using namespace ivkit_tools;
using ivkit::detail::message;

namespace {

std::string row(const std::string& name, const ivkit::DerResult& r) {
  char buf[256];
  std::snprintf(buf, sizeof buf, "%-24s %10.2f %8.2f %8.2f %8.2f %8.2f\n", name.c_str(), r.scored, 100 * r.missed / r.scored,
                100 * r.false_alarm / r.scored, 100 * r.confusion / r.scored, 100 * r.der());
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  Tool tool("ivkit-score-diarization",
            "Scores speaker turns (RTTM) against reference turns (RTTM): missed speech, false alarm, speaker confusion and the "
            "diarisation error rate (DER), in percent of the scored speech, per recording and overall, with the best one-to-one "
            "mapping of speakers in each recording. --collar C leaves C seconds on each side of every reference boundary unscored "
            "(md-eval.pl -c C); --ignore-overlap leaves out times where reference speakers overlap (md-eval.pl -1).",
            "  ivkit-score-diarization --collar 0.25 data/dev/ref.rttm exp/dev.rttm\n"
            "  ivkit-score-diarization --format tsv data/dev/ref.rttm exp/dev.rttm > der.tsv");
  std::string ref_path, hyp_path, format = "text";
  ivkit::DerOptions opts;
  auto& app = tool.app();
  app.add_option("reference", ref_path, "reference turns (RTTM)")->required();
  app.add_option("hypothesis", hyp_path, "turns to score (RTTM)")->required();
  app.add_option("--collar", opts.collar, "seconds not scored on each side of every reference boundary (md-eval -c)")
      ->check(CLI::NonNegativeNumber);
  app.add_flag("--ignore-overlap", opts.ignore_overlap, "do not score times where two or more reference speakers talk (md-eval -1)");
  app.add_option("--format", format, "text (a table) or tsv (recording, scored seconds, missed, false alarm, confusion, DER as proportions)")
      ->check(CLI::IsMember({"text", "tsv"}));

  return tool.run(argc, argv, [&] {
    const auto ref = ivkit::turns_by_recording(ivkit::read_rttm(ref_path));
    const auto hyp = ivkit::turns_by_recording(ivkit::read_rttm(hyp_path));
    if (ref.empty()) throw ivkit::FormatError(message("'", ref_path, "' holds no SPEAKER lines"));
    for (const auto& [rec, turns] : hyp)
      if (!ref.count(rec))
        throw ivkit::FormatError(message("'", hyp_path, "' line ", turns.front().line, ": the recording '", rec, "' is not in the reference '",
                                         ref_path, "'"));
    std::string report;
    if (format == "text") {
      char head[256];
      std::snprintf(head, sizeof head, "%-24s %10s %8s %8s %8s %8s\n", "recording", "scored s", "miss %", "fa %", "conf %", "DER %");
      report += head;
    }
    ivkit::DerResult total;
    std::size_t missing = 0;
    for (const auto& [rec, ref_turns] : ref) {
      const auto it = hyp.find(rec);
      if (it == hyp.end()) ++missing;
      const ivkit::DerResult r = ivkit::diarization_error(ref_turns, it == hyp.end() ? std::vector<ivkit::SpeakerTurn>{} : it->second, opts);
      total += r;
      if (format == "text") {
        report += row(rec, r);
      } else {
        report += message(rec, '\t', format_real(r.scored), '\t', format_real(r.missed / r.scored), '\t', format_real(r.false_alarm / r.scored),
                          '\t', format_real(r.confusion / r.scored), '\t', format_real(r.der()), '\n');
      }
    }
    if (format == "text") report += row("OVERALL", total);
    else report += message("OVERALL\t", format_real(total.scored), '\t', format_real(total.missed / total.scored), '\t',
                           format_real(total.false_alarm / total.scored), '\t', format_real(total.confusion / total.scored), '\t',
                           format_real(total.der()), '\n');
    if (missing > 0) tool.warn(missing, " reference recordings have no turns in '", hyp_path, "': all their speech counts as missed");
    std::cout << report;
    std::cout.flush();
    if (!std::cout) throw ivkit::IoError("error writing the report to stdout");
  });
}
