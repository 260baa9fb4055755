#include "common/features.hpp"

#include <condition_variable>
#include <deque>
#include <exception>
#include <fstream>
#include <mutex>
#include <optional>
#include <thread>

#include <ivkit/core/error.hpp>
#include <ivkit/io/kaldi_reader.hpp>
#include <ivkit/io/kaldi_specifier.hpp>

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

std::size_t count_script_entries(const std::string& rspecifier) {
  const ivkit::KaldiRspecifier spec = ivkit::parse_kaldi_rspecifier(rspecifier);
  if (spec.kind != ivkit::KaldiTableKind::Script || spec.is_stdin()) return 0;
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

FrameChunks::FrameChunks(std::string rspecifier, int subsample, Index chunk_frames, std::size_t cache_bytes)
    : rspecifier_(std::move(rspecifier)), subsample_(subsample), chunk_frames_(chunk_frames), cache_limit_(cache_bytes) {
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
        for (; !table.done(); table.next()) {
          const std::string& key = table.key();
          Matrix<float> m = std::move(table.value());
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
      2);
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
                              const std::function<void(std::vector<Utterance>&)>& f) {
  if (batch_size < 1) throw ivkit::InvalidArgument("for_each_utterance_batch: batch_size must be >= 1");
  Prefetcher<std::vector<Utterance>> reader(
      [&](const Prefetcher<std::vector<Utterance>>::Push& push) {
        ivkit::KaldiSequentialReader<Matrix<float>> table(rspecifier);
        std::vector<Utterance> batch;
        Index dim = expected_dim > 0 ? expected_dim : -1;
        for (; !table.done(); table.next()) {
          Utterance u{table.key(), std::move(table.value())};
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
