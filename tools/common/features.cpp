#include "common/features.hpp"

#include <condition_variable>
#include <deque>
#include <exception>
#include <fstream>
#include <mutex>
#include <optional>
#include <thread>

#include <CLI/CLI.hpp>

#include <ivkit/core/error.hpp>
#include <ivkit/features/cmvn.hpp>
#include <ivkit/features/deltas.hpp>
#include <ivkit/features/vad.hpp>
#include <ivkit/io/kaldi_reader.hpp>
#include <ivkit/io/kaldi_specifier.hpp>

#include "common/cli.hpp"
#include "common/progress.hpp"

namespace ivkit_tools {

using ivkit::Index;
using ivkit::Matrix;
using ivkit::detail::message;

namespace {

/// Runs `produce(push)` in a thread; the consumer takes items with next() while the producer reads
/// ahead by at most `capacity` items. An exception of the producer is rethrown by next() after the
/// items produced before it. The destructor stops the producer (push returns false) and joins it.
template <class T>
class Prefetcher {
 public:
  using Push = std::function<bool(T&&)>;
  Prefetcher(std::function<void(const Push&)> produce, std::size_t capacity) : capacity_(capacity) {
    thread_ = std::thread([this, produce = std::move(produce)] {
      try {
        produce([this](T&& item) {
          std::unique_lock<std::mutex> lock(mutex_);
          space_.wait(lock, [&] { return stop_ || queue_.size() < capacity_; });
          if (stop_) return false;
          queue_.push_back(std::move(item));
          ready_.notify_one();
          return true;
        });
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex_);
        error_ = std::current_exception();
      }
      std::lock_guard<std::mutex> lock(mutex_);
      done_ = true;
      ready_.notify_one();
    });
  }
  ~Prefetcher() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
      space_.notify_all();
    }
    thread_.join();
  }
  Prefetcher(const Prefetcher&) = delete;
  Prefetcher& operator=(const Prefetcher&) = delete;

  std::optional<T> next() {
    std::unique_lock<std::mutex> lock(mutex_);
    ready_.wait(lock, [&] { return !queue_.empty() || done_; });
    if (!queue_.empty()) {
      T item = std::move(queue_.front());
      queue_.pop_front();
      space_.notify_one();
      return item;
    }
    if (error_) std::rethrow_exception(error_);
    return std::nullopt;
  }

 private:
  std::size_t capacity_;
  std::mutex mutex_;
  std::condition_variable ready_, space_;
  std::deque<T> queue_;
  bool done_ = false, stop_ = false;
  std::exception_ptr error_;
  std::thread thread_;
};

struct Chunk {
  Matrix<float> frames;
  std::size_t utterances = 0;  // utterances read since the previous chunk
};

void check_dim(Index& dim, const Matrix<float>& m, const std::string& key, const std::string& rspecifier) {
  if (dim < 0) dim = m.cols();
  if (m.cols() != dim)
    throw ivkit::DimensionMismatch(message("utterance '", key, "' in '", rspecifier, "' has dimension ", m.cols(), " but ",
                                           "the data have dimension ", dim));
}

}  // namespace

// ---- FeatureProcessing -------------------------------------------------------------------------

struct FeatureProcessing::Vad {
  explicit Vad(const std::string& rspecifier) : table(rspecifier) {}
  ivkit::KaldiRandomAccessReader<ivkit::Vector<float>> table;
};

FeatureProcessing::FeatureProcessing() = default;
FeatureProcessing::~FeatureProcessing() = default;

void FeatureProcessing::add_options(CLI::App& app) {
  app.add_option("--delta-order", delta_order, "on the fly: append deltas up to this order (add-deltas; 0 = none)")->check(CLI::Range(0, 4));
  app.add_option("--delta-window", delta_window, "on the fly: add-deltas --delta-window")->check(CLI::Range(1, 100));
  app.add_option("--cmn-window", cmn_window, "on the fly: sliding mean normalisation over this many frames (apply-cmvn-sliding; 0 = none)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--cmn-center", cmn_center, "apply-cmvn-sliding --center (a window centred on the frame; sid's scripts pass true)");
  app.add_option("--cmn-norm-vars", cmn_norm_vars, "apply-cmvn-sliding --norm-vars");
  app.add_option("--vad-rspecifier", vad_rspecifier, "on the fly: keep the voiced frames of this VAD table (select-voiced-frames; ivkit-compute-vad)");
  app.add_flag("--sid-pipeline", sid,
               "the feature pipeline of Kaldi's sid scripts on the fly: --delta-order 2 --delta-window 3 --cmn-window 300 --cmn-center true, "
               "and --vad-rspecifier (required), from raw MFCCs (explicit options override)");
}

void FeatureProcessing::finish_options(const CLI::App& app, const Tool& tool) {
  if (sid) {
    if (app.count("--delta-order") == 0) delta_order = 2;
    if (app.count("--delta-window") == 0) delta_window = 3;
    if (app.count("--cmn-window") == 0) cmn_window = 300;
    if (vad_rspecifier.empty()) throw UsageError("--sid-pipeline needs --vad-rspecifier (the VAD of the raw features, e.g. scp:data/train/vad.scp)");
  }
  if (delta_order == 0 && app.count("--delta-window")) throw UsageError("--delta-window applies with --delta-order > 0");
  if (cmn_window == 0 && (app.count("--cmn-center") || app.count("--cmn-norm-vars")))
    throw UsageError("--cmn-center and --cmn-norm-vars apply with --cmn-window > 0");
  if (!vad_rspecifier.empty()) vad_ = std::make_unique<Vad>(vad_rspecifier);
  if (active()) tool.info("features on the fly: ", describe());
}

std::string FeatureProcessing::describe() const {
  std::string s;
  auto add = [&](const std::string& part) { s += (s.empty() ? "" : ", ") + part; };
  if (delta_order > 0) add(message("deltas (order ", delta_order, ", window ", delta_window, ")"));
  if (cmn_window > 0) add(message("sliding CMN (", cmn_window, " frames", cmn_center ? ", centred" : "", cmn_norm_vars ? ", variances" : "", ")"));
  if (!vad_rspecifier.empty()) add("voiced frames of '" + vad_rspecifier + "'");
  return s;
}

Matrix<float> FeatureProcessing::apply(const std::string& key, Matrix<float> frames, const std::string& rspecifier) {
  if (!active() || frames.rows() == 0) return frames;
  try {
    if (delta_order > 0) frames = ivkit::add_deltas(frames, ivkit::DeltaOptions{delta_order, delta_window});
    if (cmn_window > 0) {
      ivkit::SlidingCmvnOptions o;
      o.cmn_window = cmn_window;
      o.center = cmn_center;
      o.norm_vars = cmn_norm_vars;
      o.min_window = std::min(cmn_min_window, cmn_window);
      frames = ivkit::apply_cmvn_sliding(frames, o);
    }
  } catch (const ivkit::Error& e) {
    throw ivkit::FormatError(message("utterance '", key, "' in '", rspecifier, "': ", e.what()));
  }
  if (vad_) {
    if (!vad_->table.has_key(key))
      throw ivkit::FormatError(message("utterance '", key, "' of '", rspecifier, "' has no VAD in '", vad_rspecifier, "'"));
    const ivkit::Vector<float>& v = vad_->table.value(key);
    if (v.size() != frames.rows())
      throw ivkit::FormatError(message("the VAD of utterance '", key, "' in '", vad_rspecifier, "' has ", v.size(), " frames but its features in '",
                                       rspecifier, "' have ", frames.rows()));
    std::vector<bool> voiced(static_cast<std::size_t>(v.size()));
    for (Index t = 0; t < v.size(); ++t) voiced[static_cast<std::size_t>(t)] = v(t) != 0.0f;  // select-voiced-frames: nonzero is voiced
    frames = ivkit::select_voiced_frames(frames, voiced);
  }
  return frames;
}

// ---- reading ------------------------------------------------------------------------------------

std::size_t count_script_entries(const std::string& rspecifier) {
  const ivkit::KaldiRspecifier spec = ivkit::parse_kaldi_rspecifier(rspecifier);
  if (spec.kind != ivkit::KaldiTableKind::Script || spec.is_stdin() || spec.is_pipe()) return 0;
  std::ifstream in(spec.path, std::ios::binary);
  if (!in) return 0;  // the reader reports the missing file
  std::size_t n = 0;
  std::string line;
  while (std::getline(in, line))
    if (line.find_first_not_of(" \t\r") != std::string::npos) ++n;
  return n;
}

void check_finite_frames(const Matrix<float>& frames, const std::string& key, const std::string& rspecifier) {
  if (frames.allFinite()) return;
  for (Index t = 0; t < frames.rows(); ++t)
    if (!frames.row(t).allFinite())
      throw ivkit::NonFiniteInput(message("utterance '", key, "' in '", rspecifier, "': frame ", t, " holds NaN or Inf"));
}

FrameChunks::FrameChunks(std::string rspecifier, int subsample, Index chunk_frames, std::size_t cache_bytes, FeatureProcessing* processing,
                         Shard shard)
    : rspecifier_(std::move(rspecifier)), processing_(processing), shard_(shard), subsample_(subsample), chunk_frames_(chunk_frames), cache_limit_(cache_bytes) {
  if (subsample_ < 1) throw ivkit::InvalidArgument(message("FrameChunks: subsample must be >= 1, got ", subsample_));
  if (chunk_frames_ < 1) throw ivkit::InvalidArgument(message("FrameChunks: chunk_frames must be >= 1, got ", chunk_frames_));
  cache_enabled_ = cache_limit_ > 0;
}

void FrameChunks::pass(const std::function<void(const Matrix<float>&)>& on_chunk,
                       const std::function<void(const std::string&, const Matrix<float>&)>& on_utterance, Progress* progress) {
  if (cache_complete_ && !on_utterance) {
    for (const auto& c : cache_) {
      on_chunk(c);
      if (progress) progress->add(static_cast<double>(c.rows()));
    }
    return;
  }
  const bool was_counted = counted_;
  const bool fill_cache = cache_enabled_ && !cache_complete_;
  double frames = 0;
  std::size_t utterances = 0;
  Index dim = dim_;
  Prefetcher<Chunk> reader(
      [&](const Prefetcher<Chunk>::Push& push) {
        ivkit::KaldiSequentialReader<Matrix<float>> table(rspecifier_);
        Chunk chunk;
        Index fill = 0;
        long long position = -1;
        for (; !table.done(); table.next()) {
          if (shard_.count > 1 && (++position % shard_.count) != shard_.index) continue;
          const std::string& key = table.key();
          Matrix<float> m = std::move(table.value());
          if (processing_) m = processing_->apply(key, std::move(m), rspecifier_);
          if (m.rows() == 0) {
            ++chunk.utterances;
            continue;
          }
          check_dim(dim, m, key, rspecifier_);
          check_finite_frames(m, key, rspecifier_);
          if (subsample_ > 1) {
            const Index kept = (m.rows() + subsample_ - 1) / subsample_;
            Matrix<float> s(kept, m.cols());
            for (Index t = 0; t < kept; ++t) s.row(t) = m.row(t * subsample_);
            m.swap(s);
          }
          if (on_utterance) on_utterance(key, m);
          ++chunk.utterances;
          for (Index t = 0; t < m.rows();) {
            if (chunk.frames.rows() == 0) chunk.frames.resize(chunk_frames_, dim);
            const Index take = std::min(chunk_frames_ - fill, m.rows() - t);
            chunk.frames.middleRows(fill, take) = m.middleRows(t, take);
            fill += take;
            t += take;
            if (fill == chunk_frames_) {
              if (!push(std::move(chunk))) return;
              chunk = Chunk{};
              fill = 0;
            }
          }
        }
        if (fill > 0) {
          Matrix<float> last = chunk.frames.topRows(fill);
          chunk.frames.swap(last);
        }
        if (fill > 0 || chunk.utterances > 0) push(std::move(chunk));
      },
      1);  // one chunk queued while one is read and one accumulated
  if (fill_cache) {
    cache_.clear();
    cache_bytes_ = 0;
  }
  bool caching = fill_cache;
  while (auto chunk = reader.next()) {
    frames += static_cast<double>(chunk->frames.rows());
    utterances += chunk->utterances;
    if (chunk->frames.rows() > 0) on_chunk(chunk->frames);
    if (progress) progress->add(was_counted ? static_cast<double>(chunk->frames.rows()) : static_cast<double>(chunk->utterances));
    if (caching && chunk->frames.rows() > 0) {
      const std::size_t bytes = static_cast<std::size_t>(chunk->frames.size()) * sizeof(float);
      if (cache_bytes_ + bytes > cache_limit_) {
        caching = false;
        cache_enabled_ = false;
        cache_.clear();
        cache_.shrink_to_fit();
        cache_bytes_ = 0;
      } else {
        cache_bytes_ += bytes;
        cache_.push_back(std::move(chunk->frames));
      }
    }
  }
  if (utterances == 0) throw ivkit::FormatError(message("'", rspecifier_, "' holds no utterances"));
  if (frames == 0) throw ivkit::FormatError(message("'", rspecifier_, "' holds no frames"));
  if (counted_ && frames != frames_)
    throw ivkit::FormatError(message("'", rspecifier_, "' changed while it was being read (", frames_, " frames, now ", frames, ")"));
  frames_ = frames;
  utterances_ = utterances;
  dim_ = dim;
  counted_ = true;
  if (caching) cache_complete_ = true;
}

void for_each_utterance_batch(const std::string& rspecifier, std::size_t batch_size, Index expected_dim,
                              const std::function<void(std::vector<Utterance>&)>& f, FeatureProcessing* processing, Shard shard) {
  if (batch_size < 1) throw ivkit::InvalidArgument("for_each_utterance_batch: batch_size must be >= 1");
  Prefetcher<std::vector<Utterance>> reader(
      [&](const Prefetcher<std::vector<Utterance>>::Push& push) {
        ivkit::KaldiSequentialReader<Matrix<float>> table(rspecifier);
        std::vector<Utterance> batch;
        Index dim = expected_dim > 0 ? expected_dim : -1;
        long long position = -1;
        for (; !table.done(); table.next()) {
          if (shard.count > 1 && (++position % shard.count) != shard.index) continue;
          Utterance u{table.key(), std::move(table.value())};
          if (processing) u.frames = processing->apply(u.key, std::move(u.frames), rspecifier);
          if (u.frames.rows() > 0) {
            if (expected_dim > 0 && u.frames.cols() != expected_dim)
              throw ivkit::DimensionMismatch(message("utterance '", u.key, "' in '", rspecifier, "' has dimension ", u.frames.cols(),
                                                     " but the model has dimension ", expected_dim));
            check_dim(dim, u.frames, u.key, rspecifier);
            check_finite_frames(u.frames, u.key, rspecifier);
          }
          batch.push_back(std::move(u));
          if (batch.size() == batch_size) {
            if (!push(std::move(batch))) return;
            batch.clear();
          }
        }
        if (!batch.empty()) push(std::move(batch));
      },
      2);
  while (auto batch = reader.next()) f(*batch);
}

}  // namespace ivkit_tools
