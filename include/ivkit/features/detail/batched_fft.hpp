/// @file
/// Power spectra of kLanes real frames at once: frames are stored sample-major and lane-fastest
/// (x[t * kLanes + l] is sample t of frame l), so that every butterfly is a loop over kLanes
/// contiguous values that the compiler vectorises.
///
/// For a power-of-two length n >= 8: the n real samples of a frame form n/2 complex points
/// z_t = x_{2t} + i x_{2t+1}; an iterative radix-2 decimation-in-time FFT (bit-reversed load,
/// twiddles exp(-2 pi i j / (n/2)) from a table computed in double) gives Z; the real spectrum is
/// X_k = E_k + W^k O_k with E_k = (Z_k + conj Z_{n/2-k}) / 2, O_k = (Z_k - conj Z_{n/2-k}) / (2i),
/// W = exp(-2 pi i / n), k = 0 .. n/2; the output is |X_k|^2, unnormalised (Kaldi's convention:
/// forward transform without scaling). Other lengths use the DFT as two matrix products
/// (cosine and sine tables of size (n/2 + 1) x n, computed in double).
#pragma once

#include <Eigen/Core>
#include <cmath>
#include <vector>

#include "ivkit/core/types.hpp"

namespace ivkit {
namespace detail {

template <class S, int kLanes>
class BatchedPowerSpectrum {
 public:
  explicit BatchedPowerSpectrum(Index n) : n_(n), m_(n / 2) {
    const double pi = 3.14159265358979323846;
    radix2_ = n >= 8 && (n & (n - 1)) == 0;
    if (radix2_) {
      twr_.resize(static_cast<size_t>(m_ / 2));
      twi_.resize(static_cast<size_t>(m_ / 2));
      for (Index j = 0; j < m_ / 2; ++j) {
        const double a = -2.0 * pi * static_cast<double>(j) / static_cast<double>(m_);
        twr_[static_cast<size_t>(j)] = static_cast<S>(std::cos(a));
        twi_[static_cast<size_t>(j)] = static_cast<S>(std::sin(a));
      }
      wr_.resize(static_cast<size_t>(m_ + 1));
      wi_.resize(static_cast<size_t>(m_ + 1));
      for (Index k = 0; k <= m_; ++k) {
        const double a = -2.0 * pi * static_cast<double>(k) / static_cast<double>(n_);
        // The factor 1/2 of E and O is folded in here and below.
        wr_[static_cast<size_t>(k)] = static_cast<S>(std::cos(a));
        wi_[static_cast<size_t>(k)] = static_cast<S>(std::sin(a));
      }
      rev_.resize(static_cast<size_t>(m_));
      int bits = 0;
      while ((Index{1} << bits) < m_) ++bits;
      for (Index t = 0; t < m_; ++t) {
        Index r = 0;
        for (int b = 0; b < bits; ++b)
          if (t & (Index{1} << b)) r |= Index{1} << (bits - 1 - b);
        rev_[static_cast<size_t>(t)] = r;
      }
      re_.resize(static_cast<size_t>(m_ * kLanes));
      im_.resize(static_cast<size_t>(m_ * kLanes));
    } else {
      cos_.resize(m_ + 1, n_);
      sin_.resize(m_ + 1, n_);
      for (Index k = 0; k <= m_; ++k)
        for (Index t = 0; t < n_; ++t) {
          const double a = -2.0 * pi * static_cast<double>((k * t) % n_) / static_cast<double>(n_);
          cos_(k, t) = static_cast<S>(std::cos(a));
          sin_(k, t) = static_cast<S>(std::sin(a));
        }
      re_.resize(static_cast<size_t>((m_ + 1) * kLanes));
      im_.resize(static_cast<size_t>((m_ + 1) * kLanes));
    }
  }

  Index size() const { return n_; }
  Index num_bins() const { return m_ + 1; }

  /// x: n x kLanes (read only); power: (n/2 + 1) x kLanes, both lane-fastest.
  void compute(const S* x, S* power) {
    if (radix2_)
      compute_radix2(x, power);
    else
      compute_dft(x, power);
  }

 private:
  using LaneMatrix = Eigen::Matrix<S, Eigen::Dynamic, kLanes, Eigen::RowMajor>;

  void compute_dft(const S* x, S* power) {
    Eigen::Map<const LaneMatrix> X(x, n_, kLanes);
    Eigen::Map<LaneMatrix> R(re_.data(), m_ + 1, kLanes), I(im_.data(), m_ + 1, kLanes);
    Eigen::Map<LaneMatrix> P(power, m_ + 1, kLanes);
    R.noalias() = cos_ * X;
    I.noalias() = sin_ * X;
    P = R.array().square() + I.array().square();
  }

  void compute_radix2(const S* x, S* power) {
    constexpr int L = kLanes;
    S* re = re_.data();
    S* im = im_.data();
    for (Index t = 0; t < m_; ++t) {
      const S* __restrict even = x + (2 * t) * L;
      const S* __restrict odd = x + (2 * t + 1) * L;
      S* __restrict zr = re + rev_[static_cast<size_t>(t)] * L;
      S* __restrict zi = im + rev_[static_cast<size_t>(t)] * L;
      for (int l = 0; l < L; ++l) {
        zr[l] = even[l];
        zi[l] = odd[l];
      }
    }
    for (Index len = 2; len <= m_; len <<= 1) {
      const Index half = len >> 1, step = m_ / len;
      for (Index s = 0; s < m_; s += len) {
        for (Index k = 0; k < half; ++k) {
          const S wr = twr_[static_cast<size_t>(k * step)], wi = twi_[static_cast<size_t>(k * step)];
          S* __restrict ar = re + (s + k) * L;
          S* __restrict ai = im + (s + k) * L;
          S* __restrict br = re + (s + k + half) * L;
          S* __restrict bi = im + (s + k + half) * L;
          for (int l = 0; l < L; ++l) {
            const S tr = wr * br[l] - wi * bi[l];
            const S ti = wr * bi[l] + wi * br[l];
            br[l] = ar[l] - tr;
            bi[l] = ai[l] - ti;
            ar[l] = ar[l] + tr;
            ai[l] = ai[l] + ti;
          }
        }
      }
    }
    const S half = S(0.5);
    for (Index k = 0; k <= m_; ++k) {
      const Index kk = k == m_ ? 0 : k, mk = k == 0 ? 0 : m_ - k;
      const S* __restrict zr = re + kk * L;
      const S* __restrict zi = im + kk * L;
      const S* __restrict yr = re + mk * L;
      const S* __restrict yi = im + mk * L;  // conj(Z_{m-k}) = (yr, -yi)
      const S cr = wr_[static_cast<size_t>(k)], ci = wi_[static_cast<size_t>(k)];
      S* __restrict p = power + k * L;
      for (int l = 0; l < L; ++l) {
        const S er = half * (zr[l] + yr[l]), ei = half * (zi[l] - yi[l]);
        // O = (Z - conj Y) / (2i): with D = Z - conj Y = (zr - yr) + i (zi + yi), O = (Di - i Dr) / 2.
        const S o_r = half * (zi[l] + yi[l]), o_i = -half * (zr[l] - yr[l]);
        const S xr = er + cr * o_r - ci * o_i;
        const S xi = ei + cr * o_i + ci * o_r;
        p[l] = xr * xr + xi * xi;
      }
    }
  }

  Index n_, m_;
  bool radix2_ = false;
  std::vector<S> twr_, twi_, wr_, wi_;
  std::vector<Index> rev_;
  std::vector<S> re_, im_;
  Matrix<S> cos_, sin_;
};

}  // namespace detail
}  // namespace ivkit
