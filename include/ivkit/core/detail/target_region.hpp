/// @file
/// Brackets that compile the functions between them for one instruction-set path whatever the
/// translation unit's flags (GCC's `#pragma GCC target`, clang's `#pragma clang attribute`): the
/// kernels of every path live side by side in one program, each in its own namespace
/// (ivkit::detail::avx512, ivkit::detail::avx2), and core/isa.hpp chooses one at run time.
/// Only functions defined between the brackets get the target; templates they instantiate from
/// elsewhere (std::min, std::vector) are compiled as the flags say, which is safe on any CPU.
#pragma once

#include "ivkit/core/isa.hpp"

#if defined(IVKIT_X86_KERNELS)
#include <immintrin.h>

// AVX-512 F/DQ/BW/VL as Skylake-SP and later have them (x86-64-v4), with FMA and AVX2.
#if defined(__clang__)
#define IVKIT_TARGET_AVX512_BEGIN                                                                                     \
  _Pragma("clang attribute push(__attribute__((target(\"avx512f,avx512dq,avx512bw,avx512vl,avx2,fma,bmi,bmi2,f16c,popcnt\"))), apply_to = function)")
#define IVKIT_TARGET_AVX2_BEGIN \
  _Pragma("clang attribute push(__attribute__((target(\"avx2,fma,bmi,bmi2,f16c,popcnt\"))), apply_to = function)")
#define IVKIT_TARGET_END _Pragma("clang attribute pop")
#else
#define IVKIT_TARGET_AVX512_BEGIN \
  _Pragma("GCC push_options")     \
      _Pragma("GCC target(\"avx512f,avx512dq,avx512bw,avx512vl,avx2,fma,bmi,bmi2,f16c,popcnt\")")
#define IVKIT_TARGET_AVX2_BEGIN _Pragma("GCC push_options") _Pragma("GCC target(\"avx2,fma,bmi,bmi2,f16c,popcnt\")")
#define IVKIT_TARGET_END _Pragma("GCC pop_options")
#endif
#endif
