/// @file
/// The instruction-set path of ivkit's hand-written kernels, chosen at run time.
///
/// A program built once (the installed tools, the Python module, a package) runs on CPUs it was
/// not compiled for, so the kernels that decide speed (core/gemm_kernel.hpp, core/spd_kernel.hpp,
/// simd/softmax.hpp) are compiled for several paths in every translation unit, each with its own
/// target attribute, and the best one the CPU has is taken when first needed:
///   avx512    AVX-512 F/DQ/BW/VL with FMA (x86-64)
///   avx2      AVX2 with FMA (x86-64)
///   baseline  no hand-written kernel: Eigen and xsimd as the compile flags allow (SSE2 on plain
///             x86-64, NEON on aarch64, AVX-512 under -march=native on an AVX-512 machine)
/// IVKIT_ISA=avx2 (or baseline, avx512) in the environment forces a path; one the CPU lacks is
/// an error, never a crash. Within a path results do not depend on the thread count.
/// Defining IVKIT_NO_RUNTIME_DISPATCH before including ivkit keeps only the paths the compile
/// flags enable (the behaviour before run-time selection).
#pragma once

#include <atomic>
#include <cstdlib>
#include <string>

#include "ivkit/core/error.hpp"

#if (defined(__x86_64__) || defined(_M_X64)) && (defined(__GNUC__) || defined(__clang__))
#define IVKIT_X86_KERNELS 1
#if !defined(IVKIT_NO_RUNTIME_DISPATCH)
#define IVKIT_RUNTIME_DISPATCH 1
#endif
#endif

// Which kernel paths this translation unit compiles: all x86 ones with run-time dispatch,
// otherwise those the flags enable.
#if defined(IVKIT_X86_KERNELS) && (defined(IVKIT_RUNTIME_DISPATCH) || defined(__AVX512F__))
#define IVKIT_HAVE_AVX512_KERNELS 1
#endif
#if defined(IVKIT_X86_KERNELS) && (defined(IVKIT_RUNTIME_DISPATCH) || (defined(__AVX2__) && defined(__FMA__)))
#define IVKIT_HAVE_AVX2_KERNELS 1
#endif

namespace ivkit {

/// Kernel paths, lowest first.
enum class Isa { baseline = 0, avx2 = 1, avx512 = 2 };

inline const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::avx512: return "avx512";
    case Isa::avx2: return "avx2";
    default: return "baseline";
  }
}

/// "avx512", "avx2" or "baseline" (also "native": the best the CPU has).
/// @throws InvalidArgument for anything else
inline Isa parse_isa(const std::string& name, bool* native = nullptr) {
  if (native) *native = false;
  if (name == "avx512") return Isa::avx512;
  if (name == "avx2") return Isa::avx2;
  if (name == "baseline") return Isa::baseline;
  if (name == "native" || name.empty()) {
    if (native) *native = true;
    return Isa::avx512;
  }
  throw InvalidArgument(detail::message("unknown instruction-set path '", name,
                                       "' (expected avx512, avx2, baseline or native)"));
}

/// The best path this CPU (and its operating system) supports among those this build compiles.
inline Isa cpu_isa() {
#if defined(IVKIT_X86_KERNELS)
  // __builtin_cpu_supports also checks that the OS saves the AVX and AVX-512 register state.
  __builtin_cpu_init();
#if defined(IVKIT_HAVE_AVX512_KERNELS)
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("fma"))
    return Isa::avx512;
#endif
#if defined(IVKIT_HAVE_AVX2_KERNELS)
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Isa::avx2;
#endif
#endif
  return Isa::baseline;
}

/// The name of the instruction set the portable code (the baseline path) was compiled for.
inline const char* compiled_instruction_set() {
#if defined(__AVX512F__)
  return "x86-64 with AVX-512 (compile flags)";
#elif defined(__AVX2__)
  return "x86-64 with AVX2 (compile flags)";
#elif defined(__SSE4_2__)
  return "x86-64-v2";
#elif defined(__x86_64__)
  return "x86-64";
#elif defined(__aarch64__)
  return "aarch64 (NEON)";
#else
  return "generic";
#endif
}

namespace detail {
/// The path in use: -1 until first asked for.
inline std::atomic<int>& active_isa_slot() {
  static std::atomic<int> slot{-1};
  return slot;
}

/// The path IVKIT_ISA asks for, or the CPU's best when it is unset, empty or "native".
/// @throws InvalidArgument when it names an unknown path or one the CPU lacks
inline Isa isa_from_environment() {
  const Isa best = cpu_isa();
  const char* env = std::getenv("IVKIT_ISA");
  if (env == nullptr) return best;
  bool native = false;
  const Isa wanted = parse_isa(env, &native);
  if (native) return best;
  if (wanted > best)
    throw InvalidArgument(detail::message("IVKIT_ISA=", env, ": this CPU (or this build) supports at most the ",
                                         isa_name(best), " path"));
  return wanted;
}
}  // namespace detail

/// The kernel path in use (decided on the first call, from the CPU and IVKIT_ISA).
/// @throws InvalidArgument on the first call when IVKIT_ISA is invalid for this CPU
inline Isa active_isa() {
  int v = detail::active_isa_slot().load(std::memory_order_relaxed);
  if (v < 0) {
    v = static_cast<int>(detail::isa_from_environment());
    detail::active_isa_slot().store(v, std::memory_order_relaxed);
  }
  return static_cast<Isa>(v);
}

/// Forces a path for the whole process (tests; IVKIT_ISA does the same from outside). Not to be
/// called while kernels run on other threads.
/// @throws InvalidArgument when the CPU lacks it
inline void set_active_isa(Isa isa) {
  if (isa > cpu_isa())
    throw InvalidArgument(detail::message("instruction-set path ", isa_name(isa), " is not available here (best: ",
                                         isa_name(cpu_isa()), ")"));
  detail::active_isa_slot().store(static_cast<int>(isa), std::memory_order_relaxed);
}

/// One line for --version output: "avx512 (CPU best: avx512; portable code: x86-64)".
inline std::string isa_description() {
  std::string s = isa_name(active_isa());
  s += " (CPU best: ";
  s += isa_name(cpu_isa());
  s += "; portable code: ";
  s += compiled_instruction_set();
  s += ")";
  return s;
}

}  // namespace ivkit
