// Quantized GEMM, 4 rows x 4 channels per register block, one k at a time, int16 weights:
// portable C++ for targets without SIMD, and the readable model of every faster GEMM kernel.
#include <algorithm>
#include <cstring>

#include "runtime/kernels/microkernels/microkernels.h"

namespace wisp {
namespace {

constexpr int kMr = 4, kNr = 4;

template <typename T>
void Gemm(size_t mr, size_t nc, size_t kc, size_t ks, const GemmWindow* windows,
          const void* packed_w, uint8_t* c, size_t c_stride, const int32_t* row_sums,
          const QuantEpilogue* e) {
  const uint8_t* w = static_cast<const uint8_t*>(packed_w);
  for (size_t n0 = 0; n0 < nc; n0 += kNr) {
    uint32_t acc[kMr][kNr];
    int32_t bias[kNr];
    std::memcpy(bias, w, sizeof(bias));
    w += sizeof(bias);
    for (int r = 0; r < kMr; ++r) {
      for (int j = 0; j < kNr; ++j) acc[r][j] = static_cast<uint32_t>(bias[j]);
    }
    for (size_t t = 0; t < ks; ++t) {
      const T* a[kMr];
      for (int r = 0; r < kMr; ++r) {
        a[r] = reinterpret_cast<const T*>(windows[std::min<size_t>(r, mr - 1)][t]);
      }
      for (size_t k = 0; k < kc; ++k) {
        int16_t wv[kNr];
        std::memcpy(wv, w, sizeof(wv));
        w += sizeof(wv);
        for (int r = 0; r < kMr; ++r) {
          const int32_t x = a[r][k];
          for (int j = 0; j < kNr; ++j) acc[r][j] += static_cast<uint32_t>(x * wv[j]);
        }
      }
    }
    float scale[kNr];
    std::memcpy(scale, w, sizeof(scale));
    w += sizeof(scale);
    (void)row_sums;  // int16 weights never need row sums
    const size_t n = std::min<size_t>(kNr, nc - n0);
    for (size_t r = 0; r < mr; ++r) {
      T* out = reinterpret_cast<T*>(c + r * c_stride) + n0;
      for (size_t j = 0; j < n; ++j) {
        out[j] = static_cast<T>(RequantizeMagic(static_cast<int32_t>(acc[r][j]), scale[j], *e));
      }
    }
  }
}

}  // namespace

const GemmKernelInfo kQ8Gemm4x4Scalar = {"q8_gemm_4x4__scalar", GemmLayout{kMr, kNr, 1, 2, {0, 0}},
                                         Gemm<int8_t>, Gemm<uint8_t>};

}  // namespace wisp
