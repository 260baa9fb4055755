/// @file
/// DET curves: the operating points (P_miss, P_fa) of a system, exact (every distinct score), from a
/// ScoreHistogram (every bin edge) or on the ROC convex hull, and the DET plot written as SVG with
/// normal-deviate (probit) axes, several systems and a legend (Martin et al. 1997; NIST DETware).
#pragma once

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <limits>
#include <locale>
#include <sstream>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "ivkit/core/error.hpp"
#include "ivkit/core/file_io.hpp"
#include "ivkit/core/types.hpp"
#include "ivkit/eval/metrics.hpp"

namespace ivkit {

/// Operating points of a detector, in order of increasing threshold: P_miss non-decreasing, P_fa
/// non-increasing, from (P_miss, P_fa) = (0, 1) to (1, 0). Point k accepts the trials with
/// score >= threshold[k] (threshold of the last point: +inf, reject all).
struct DetCurve {
  std::vector<double> p_miss;
  std::vector<double> p_fa;
  std::vector<double> threshold;
  std::size_t size() const { return p_miss.size(); }
};

namespace detail {

template <class Groups>
DetCurve det_from_groups(const Groups& groups, Index nt, Index nn) {
  DetCurve c;
  const double dnt = static_cast<double>(nt), dnn = static_cast<double>(nn);
  for_each_operating_point(groups, [&](Index ct, Index cn, double theta) {
    c.p_miss.push_back(static_cast<double>(ct) / dnt);
    c.p_fa.push_back(static_cast<double>(nn - cn) / dnn);
    c.threshold.push_back(theta);
    return true;
  });
  return c;
}

}  // namespace detail

/// Every operating point: one per distinct score value, plus accept-all (G + 1 points for G distinct
/// values). Memory 24 bytes per point: for very long lists plot a histogram's or the hull's curve.
inline DetCurve det_curve(const SortedScores& s) { return detail::det_from_groups(s, s.num_targets(), s.num_nontargets()); }

/// The operating points at the histogram's non-empty bin edges (all exact, see ScoreHistogram).
/// @throws InvalidArgument when the histogram holds no target or no non-target
inline DetCurve det_curve(const ScoreHistogram& h) {
  detail::check_not_empty("det_curve", static_cast<std::size_t>(h.num_targets()), static_cast<std::size_t>(h.num_nontargets()));
  return detail::det_from_groups(h, h.num_targets(), h.num_nontargets());
}

/// Vertices of the ROC convex hull (BOSARIS `rocch`): the operating points between PAV bins; the hull
/// runs straight (in probability, i.e. by randomising the decision) between them. Threshold of a
/// vertex: the lowest score of the PAV bin above it.
inline DetCurve rocch_det_curve(const SortedScores& s) {
  return detail::det_from_groups(detail::pav_blocks(s), s.num_targets(), s.num_nontargets());
}

/// Standard normal cumulative distribution function.
inline double normal_cdf(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

/// Inverse of normal_cdf (the probit, normal deviate) to full double precision: Acklam's rational
/// approximation refined by one Halley step. probit(0) = -inf, probit(1) = +inf.
/// @throws InvalidArgument for p outside [0, 1] or NaN
inline double probit(double p) {
  if (!(p >= 0.0 && p <= 1.0)) throw InvalidArgument(detail::message("probit: p must lie in [0, 1], got ", detail::fmt(p)));
  if (p == 0.0) return -std::numeric_limits<double>::infinity();
  if (p == 1.0) return std::numeric_limits<double>::infinity();
  static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                             1.383577518672690e+02,  -3.066479806614716e+01, 2.506628277459239e+00};
  static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                             6.680131188771972e+01,  -1.328068155288572e+01};
  static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                             -2.549732539343734e+00, 4.374664141464968e+00,  2.938163982698783e+00};
  static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00};
  constexpr double p_low = 0.02425;
  double x;
  if (p < p_low) {
    const double q = std::sqrt(-2.0 * std::log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0);
  } else if (p <= 1.0 - p_low) {
    const double q = p - 0.5, r = q * q;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0);
  } else {
    const double q = std::sqrt(-2.0 * std::log1p(-p));
    x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0);
  }
  // Halley step on f(x) = Phi(x) - p, with the error taken on the smaller tail for accuracy.
  const double e = x < 0.0 ? 0.5 * std::erfc(-x / std::sqrt(2.0)) - p : (1.0 - p) - 0.5 * std::erfc(x / std::sqrt(2.0));
  const double u = e * std::sqrt(2.0 * 3.14159265358979323846) * std::exp(0.5 * x * x);
  return x - u / (1.0 + 0.5 * x * u);
}

/// One system on a DET plot.
struct DetPlotSeries {
  std::string name;  ///< legend text (escaped for XML)
  DetCurve curve;    ///< e.g. det_curve(...), rocch_det_curve(...); move large curves in
};

/// Layout of a DET plot. Both axes show the same probability range on a probit scale.
struct DetPlotOptions {
  std::string title = "DET";
  double min_percent = 0.1;  ///< axis range, in percent, 0 < min < max < 100
  double max_percent = 40.0;
  std::vector<double> ticks_percent = {0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 40};  ///< labelled grid lines (outside the range: dropped)
  int width = 640;   ///< pixels, >= 200
  int height = 640;  ///< pixels, >= 200
  bool eer_line = true;  ///< dashed P_miss = P_fa diagonal
};

namespace detail {

inline std::string xml_escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    switch (ch) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += ch;
    }
  }
  return out;
}

inline std::string px(double v) {  // fixed, 2 decimals, classic locale
  std::ostringstream out;
  out.imbue(std::locale::classic());
  out.setf(std::ios::fixed);
  out.precision(2);
  out << v;
  return out.str();
}

inline std::string render_det_svg(const char* fn, const std::vector<DetPlotSeries>& series, const DetPlotOptions& o) {
  if (series.empty()) throw InvalidArgument(message(fn, ": no curves to plot"));
  if (!(o.min_percent > 0.0 && o.min_percent < o.max_percent && o.max_percent < 100.0))
    throw InvalidArgument(message(fn, ": the axis range must satisfy 0 < min_percent < max_percent < 100, got [",
                                  fmt(o.min_percent), ", ", fmt(o.max_percent), "]"));
  if (o.width < 200 || o.height < 200)
    throw InvalidArgument(message(fn, ": width and height must be at least 200 pixels, got ", o.width, " x ", o.height));
  for (const DetPlotSeries& s : series) {
    const DetCurve& c = s.curve;
    if (c.p_miss.size() != c.p_fa.size())
      throw DimensionMismatch(message(fn, ": curve '", s.name, "' has ", c.p_miss.size(), " P_miss but ", c.p_fa.size(), " P_fa values"));
    if (c.p_miss.empty()) throw InvalidArgument(message(fn, ": curve '", s.name, "' is empty"));
    for (std::size_t i = 0; i < c.size(); ++i) {
      if (std::isnan(c.p_miss[i]) || std::isnan(c.p_fa[i]))
        throw NonFiniteInput(message(fn, ": curve '", s.name, "' point ", i, " is NaN"));
      if (c.p_miss[i] < 0.0 || c.p_miss[i] > 1.0 || c.p_fa[i] < 0.0 || c.p_fa[i] > 1.0)
        throw InvalidArgument(message(fn, ": curve '", s.name, "' point ", i, " (P_miss = ", fmt(c.p_miss[i]), ", P_fa = ",
                                      fmt(c.p_fa[i]), ") lies outside [0, 1]"));
    }
  }
  const double W = o.width, H = o.height;
  const double left = 70, right = 20, top = o.title.empty() ? 20 : 40, bottom = 60;
  const double pw = W - left - right, ph = H - top - bottom;
  const double z0 = probit(o.min_percent / 100.0), z1 = probit(o.max_percent / 100.0);
  constexpr double kClampZ = 9.0;  // P = 0 or 1 (probit -+inf) sits at -+9, far outside any plot
  auto zc = [&](double p) { return std::max(-kClampZ, std::min(kClampZ, probit(p))); };
  auto X = [&](double pfa) { return left + (zc(pfa) - z0) / (z1 - z0) * pw; };
  auto Y = [&](double pm) { return top + ph - (zc(pm) - z0) / (z1 - z0) * ph; };
  static const char* const palette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                        "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
  constexpr std::size_t kColours = sizeof(palette) / sizeof(palette[0]);

  std::string s;
  s += "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n";
  s += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(o.width) + "\" height=\"" + std::to_string(o.height) +
       "\" viewBox=\"0 0 " + std::to_string(o.width) + " " + std::to_string(o.height) + "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  s += "<title>" + xml_escape(o.title.empty() ? std::string("DET") : o.title) + "</title>\n";
  s += "<defs><clipPath id=\"det-plot-area\"><rect x=\"" + px(left) + "\" y=\"" + px(top) + "\" width=\"" + px(pw) + "\" height=\"" +
       px(ph) + "\"/></clipPath></defs>\n";
  s += "<rect x=\"0\" y=\"0\" width=\"" + px(W) + "\" height=\"" + px(H) + "\" fill=\"white\"/>\n";
  if (!o.title.empty())
    s += "<text x=\"" + px(left + pw / 2) + "\" y=\"" + px(top - 14) + "\" text-anchor=\"middle\" font-size=\"14\">" + xml_escape(o.title) +
         "</text>\n";
  // Grid and tick labels.
  s += "<g stroke=\"#d0d0d0\" stroke-width=\"1\">\n";
  std::vector<double> ticks;
  for (double t : o.ticks_percent)
    if (t >= o.min_percent && t <= o.max_percent) ticks.push_back(t);
  for (double t : ticks) {
    const double x = X(t / 100.0), y = Y(t / 100.0);
    s += "<line x1=\"" + px(x) + "\" y1=\"" + px(top) + "\" x2=\"" + px(x) + "\" y2=\"" + px(top + ph) + "\"/>\n";
    s += "<line x1=\"" + px(left) + "\" y1=\"" + px(y) + "\" x2=\"" + px(left + pw) + "\" y2=\"" + px(y) + "\"/>\n";
  }
  s += "</g>\n<g fill=\"black\">\n";
  for (double t : ticks) {
    s += "<text x=\"" + px(X(t / 100.0)) + "\" y=\"" + px(top + ph + 16) + "\" text-anchor=\"middle\">" + fmt(t) + "</text>\n";
    s += "<text x=\"" + px(left - 6) + "\" y=\"" + px(Y(t / 100.0) + 4) + "\" text-anchor=\"end\">" + fmt(t) + "</text>\n";
  }
  s += "<text x=\"" + px(left + pw / 2) + "\" y=\"" + px(H - 18) + "\" text-anchor=\"middle\">False alarm probability (%)</text>\n";
  s += "<text x=\"18\" y=\"" + px(top + ph / 2) + "\" text-anchor=\"middle\" transform=\"rotate(-90 18 " + px(top + ph / 2) +
       ")\">Miss probability (%)</text>\n";
  s += "</g>\n";
  s += "<rect x=\"" + px(left) + "\" y=\"" + px(top) + "\" width=\"" + px(pw) + "\" height=\"" + px(ph) +
       "\" fill=\"none\" stroke=\"black\" stroke-width=\"1\"/>\n";
  // Curves, clipped to the plot area.
  s += "<g clip-path=\"url(#det-plot-area)\" fill=\"none\">\n";
  if (o.eer_line)
    s += "<line x1=\"" + px(left) + "\" y1=\"" + px(top + ph) + "\" x2=\"" + px(left + pw) + "\" y2=\"" + px(top) +
         "\" stroke=\"#808080\" stroke-width=\"1\" stroke-dasharray=\"4 4\"/>\n";
  // Visible region plus a 2-pixel margin. A DET path is monotone (P_fa never increases, P_miss
  // never decreases), so its part inside this box is one connected piece: clip every segment to it.
  const double bx0 = left - 2, bx1 = left + pw + 2, by0 = top - 2, by1 = top + ph + 2;
  auto clip = [&](double& xa, double& ya, double& xb, double& yb) {  // Liang-Barsky
    double t0 = 0.0, t1 = 1.0;
    const double dx = xb - xa, dy = yb - ya;
    auto edge = [&](double p, double q) {
      if (p == 0.0) return q >= 0.0;
      const double r = q / p;
      if (p < 0.0) {
        if (r > t1) return false;
        t0 = std::max(t0, r);
      } else {
        if (r < t0) return false;
        t1 = std::min(t1, r);
      }
      return true;
    };
    if (!(edge(-dx, xa - bx0) && edge(dx, bx1 - xa) && edge(-dy, ya - by0) && edge(dy, by1 - ya))) return false;
    const double x0 = xa, y0 = ya;
    xa = x0 + t0 * dx;
    ya = y0 + t0 * dy;
    xb = x0 + t1 * dx;
    yb = y0 + t1 * dy;
    return true;
  };
  auto touches_box = [&](double xa, double ya, double xb, double yb) {
    return std::max(xa, xb) >= bx0 && std::min(xa, xb) <= bx1 && std::max(ya, yb) >= by0 && std::min(ya, yb) <= by1;
  };
  for (std::size_t k = 0; k < series.size(); ++k) {
    const DetCurve& c = series[k].curve;
    // The path in pixels; segments that move both error rates are straight in probability (a
    // randomised decision) and curved on probit axes: drawn through intermediate points.
    std::vector<std::pair<double, double>> path;
    path.reserve(c.size());
    for (std::size_t i = 0; i < c.size(); ++i) {
      const double x = X(c.p_fa[i]), y = Y(c.p_miss[i]);
      if (i > 0 && c.p_fa[i] != c.p_fa[i - 1] && c.p_miss[i] != c.p_miss[i - 1]) {
        const double x0 = path.back().first, y0 = path.back().second;
        const double len = std::hypot(x - x0, y - y0);
        if (len > 3.0 && touches_box(x0, y0, x, y)) {
          const int steps = static_cast<int>(std::min(256.0, std::ceil(len / 3.0)));
          for (int j = 1; j < steps; ++j) {
            const double w = static_cast<double>(j) / steps;
            path.emplace_back(X(c.p_fa[i - 1] + w * (c.p_fa[i] - c.p_fa[i - 1])), Y(c.p_miss[i - 1] + w * (c.p_miss[i] - c.p_miss[i - 1])));
          }
        }
      }
      path.emplace_back(x, y);
    }
    // Clipped and thinned: a point closer than half a pixel (in both directions) to the last one
    // written is dropped, except the very last.
    std::string pts;
    double last_x = 0, last_y = 0, pend_x = 0, pend_y = 0;
    bool have = false, pending = false;
    auto put = [&](double x, double y) {
      if (have) pts += ' ';
      pts += px(x) + "," + px(y);
      last_x = x;
      last_y = y;
      have = true;
      pending = false;
    };
    auto emit = [&](double x, double y) {
      if (have && std::abs(x - last_x) < 0.5 && std::abs(y - last_y) < 0.5) {
        pending = true;
        pend_x = x;
        pend_y = y;
        return;
      }
      put(x, y);
    };
    if (path.size() == 1 && touches_box(path[0].first, path[0].second, path[0].first, path[0].second)) put(path[0].first, path[0].second);
    for (std::size_t i = 1; i < path.size(); ++i) {
      double xa = path[i - 1].first, ya = path[i - 1].second, xb = path[i].first, yb = path[i].second;
      if (!clip(xa, ya, xb, yb)) continue;
      if (!have) put(xa, ya);
      else emit(xa, ya);
      emit(xb, yb);
    }
    if (pending) put(pend_x, pend_y);
    s += "<polyline stroke=\"" + std::string(palette[k % kColours]) + "\" stroke-width=\"1.5\"" +
         (k >= kColours ? " stroke-dasharray=\"6 3\"" : "") + " points=\"" + pts + "\"/>\n";
  }
  s += "</g>\n";
  // Legend, bottom left inside the plot area (the corner only near-perfect systems reach).
  const double row = 18, lw = std::min(pw - 20, 40.0 + 7.0 * static_cast<double>(std::max_element(series.begin(), series.end(),
      [](const DetPlotSeries& a, const DetPlotSeries& b) { return a.name.size() < b.name.size(); })->name.size()));
  const double lh = row * static_cast<double>(series.size()) + 8;
  const double lx = left + 10, ly = top + ph - 10 - lh;
  s += "<g font-size=\"12\">\n<rect x=\"" + px(lx) + "\" y=\"" + px(ly) + "\" width=\"" + px(lw) + "\" height=\"" + px(lh) +
       "\" fill=\"white\" fill-opacity=\"0.85\" stroke=\"#808080\"/>\n";
  for (std::size_t k = 0; k < series.size(); ++k) {
    const double y = ly + 4 + row * (static_cast<double>(k) + 0.5);
    s += "<line x1=\"" + px(lx + 6) + "\" y1=\"" + px(y) + "\" x2=\"" + px(lx + 30) + "\" y2=\"" + px(y) + "\" stroke=\"" +
         palette[k % kColours] + "\" stroke-width=\"2\"" + (k >= kColours ? " stroke-dasharray=\"6 3\"" : "") + "/>\n";
    s += "<text x=\"" + px(lx + 36) + "\" y=\"" + px(y + 4) + "\">" + xml_escape(series[k].name) + "</text>\n";
  }
  s += "</g>\n</svg>\n";
  return s;
}

}  // namespace detail

/// The DET plot as SVG text: x = P_fa, y = P_miss, both on probit axes labelled in percent; one
/// polyline per series (colours cycle, then dashed), a legend (bottom left), the dashed EER diagonal. Curves are
/// drawn through their operating points; segments that move both error rates (ties, hull segments)
/// are drawn as the curve they are on probit axes; sub-pixel detail is thinned out, so a curve of
/// millions of points yields a few thousand.
/// @throws InvalidArgument (no series, empty curve, bad range or size), DimensionMismatch, NonFiniteInput
inline std::string det_svg(const std::vector<DetPlotSeries>& series, const DetPlotOptions& options = {}) {
  return detail::render_det_svg("det_svg", series, options);
}

/// Writes det_svg(series, options) to `path` atomically (temporary file in the same directory, then
/// rename). @throws as det_svg, and IoError when the file cannot be created, written or renamed
inline void write_det_svg(const std::string& path, const std::vector<DetPlotSeries>& series, const DetPlotOptions& options = {}) {
  write_file_atomically("write_det_svg", path, detail::render_det_svg("write_det_svg", series, options));
}

}  // namespace ivkit
