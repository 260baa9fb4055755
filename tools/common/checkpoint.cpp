#include "common/checkpoint.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <ivkit/core/error.hpp>
#include <ivkit/core/file_io.hpp>

namespace ivkit_tools {

using ivkit::detail::message;
namespace fs = std::filesystem;

namespace {
constexpr const char* kMagic = "ivkit-checkpoint 1";
}

Checkpointer::Checkpointer(std::string tool, const std::string& output, Fingerprint fingerprint)
    : tool_(std::move(tool)), output_(output), index_(output + ".checkpoint"), fingerprint_(std::move(fingerprint)) {
  for (const auto& [k, v] : fingerprint_)
    if (k.find_first_of(" \n") != std::string::npos || v.find('\n') != std::string::npos)
      throw ivkit::InvalidArgument(message("Checkpointer: option '", k, "' cannot be recorded"));
}

std::string Checkpointer::model_path(int iterations) const { return message(output_, ".iter", iterations); }

std::optional<CheckpointState> Checkpointer::load() const {
  std::error_code ec;
  if (!fs::exists(index_, ec)) return std::nullopt;
  std::istringstream in(ivkit::read_file("Checkpointer", index_));
  std::string line;
  auto bad = [&](const std::string& what) { return ivkit::FormatError(message("the checkpoint index '", index_, "' ", what)); };
  if (!std::getline(in, line) || line != kMagic) throw bad("is not an ivkit checkpoint index");
  CheckpointState st;
  bool have_iterations = false;
  Fingerprint recorded;
  std::string tool;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const auto sp = line.find(' ');
    const std::string key = line.substr(0, sp), rest = sp == std::string::npos ? std::string() : line.substr(sp + 1);
    if (key == "tool") {
      tool = rest;
    } else if (key == "iterations") {
      try {
        st.iterations_done = std::stoi(rest);
      } catch (const std::exception&) {
        throw bad("has a malformed iteration count '" + rest + "'");
      }
      have_iterations = st.iterations_done >= 0;
    } else if (key == "model") {
      st.model_path = rest;
    } else if (key == "option") {
      const auto sp2 = rest.find(' ');
      recorded.emplace_back(rest.substr(0, sp2), sp2 == std::string::npos ? std::string() : rest.substr(sp2 + 1));
    }
  }
  if (tool != tool_) throw bad("was written by '" + tool + "', not by " + tool_);
  if (!have_iterations || st.model_path.empty()) throw bad("is incomplete");
  // The model file is recorded by name, next to the index.
  st.model_path = (fs::path(index_).parent_path() / st.model_path).string();
  for (std::size_t i = 0; i < std::max(recorded.size(), fingerprint_.size()); ++i) {
    const std::string rk = i < recorded.size() ? recorded[i].first : "(none)";
    const std::string nk = i < fingerprint_.size() ? fingerprint_[i].first : "(none)";
    const std::string rv = i < recorded.size() ? recorded[i].second : "";
    const std::string nv = i < fingerprint_.size() ? fingerprint_[i].second : "";
    if (rk != nk || rv != nv)
      throw ivkit::InvalidArgument(message("the checkpoint '", index_, "' was written with ", rk, " '", rv, "' but this run has ", nk, " '", nv,
                                           "'; run with the same options, or without --resume to start over"));
  }
  return st;
}

void Checkpointer::save(int iterations_done, const std::function<void(const std::string&)>& save_model) {
  const std::string path = model_path(iterations_done);
  save_model(path);
  std::ostringstream idx;
  idx << kMagic << '\n' << "tool " << tool_ << '\n' << "iterations " << iterations_done << '\n'
      << "model " << fs::path(path).filename().string() << '\n';
  for (const auto& [k, v] : fingerprint_) idx << "option " << k << ' ' << v << '\n';
  ivkit::write_file_atomically("Checkpointer", index_, idx.str());
  std::error_code ec;
  if (last_saved_ >= 0 && last_saved_ != iterations_done) fs::remove(model_path(last_saved_), ec);
  last_saved_ = iterations_done;
}

void Checkpointer::resumed(int iterations_done) { last_saved_ = iterations_done; }

void Checkpointer::remove() {
  std::error_code ec;
  fs::remove(index_, ec);
  if (last_saved_ >= 0) fs::remove(model_path(last_saved_), ec);
}

}  // namespace ivkit_tools
