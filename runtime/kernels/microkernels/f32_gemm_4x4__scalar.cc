// Float32 GEMM (f32_conv.h), 4 rows x 4 channels per block, portable C++: the readable model of
// the SIMD GEMM kernels. Each of the 16 accumulators follows the reference's order on its own.
#include <algorithm>

#include "runtime/kernels/microkernels/microkernels.h"

namespace wisp {
namespace {

constexpr size_t kMr = 4;
constexpr size_t kNr = 4;

void Gemm(size_t mr, size_t nc, size_t kc, size_t ks, const F32Window* windows, const float* w,
          float* c, size_t c_stride, const F32MinMax* params) {
  F32Window rows[kMr];
  for (size_t r = 0; r < kMr; ++r) rows[r] = windows[std::min(r, mr - 1)];
  for (size_t n0 = 0; n0 < nc; n0 += kNr) {
    float acc[kMr][kNr];
    for (size_t r = 0; r < kMr; ++r) {
      for (size_t j = 0; j < kNr; ++j) acc[r][j] = w[j];
    }
    w += kNr;
    for (size_t t = 0; t < ks; ++t) {
      const float* x[kMr];
      for (size_t r = 0; r < kMr; ++r) x[r] = rows[r][t];
      for (size_t k = 0; k < kc; ++k, w += kNr) {
        for (size_t r = 0; r < kMr; ++r) {
          for (size_t j = 0; j < kNr; ++j) acc[r][j] += x[r][k] * w[j];
        }
      }
    }
    const size_t n = std::min(kNr, nc - n0);
    for (size_t r = 0; r < mr; ++r) {
      for (size_t j = 0; j < n; ++j) {
        c[r * c_stride + n0 + j] = std::min(std::max(acc[r][j], params->min), params->max);
      }
    }
  }
}

}  // namespace

const F32GemmKernelInfo kF32Gemm4x4Scalar = {"f32_gemm_4x4__scalar", kMr, kNr, Gemm};

}  // namespace wisp
